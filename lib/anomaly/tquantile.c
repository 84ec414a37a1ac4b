/*
 * Student's t and normal quantiles (see tquantile.h).
 *
 * Normal: Wichura, M. J. (1988), Algorithm AS 241, "The percentage points of
 * the normal distribution", Applied Statistics 37(3), 477-484 (PPND16,
 * about 1e-16 relative accuracy): rational approximations in three regions.
 * Student's t: Hill, G. W. (1970), Algorithm 396, "Student's t-quantiles",
 * Communications of the ACM 13(10), 619-620: closed forms for 1 and 2
 * degrees of freedom, else a series in 1/(df - 1/2), or for central
 * probabilities an expansion around the normal quantile.
 */
#include "tquantile.h"

#include <math.h>

#define HALF_PI 1.57079632679489661923

/* Evaluates c[0] + c[1] r + ... + c[7] r^7 by Horner's rule, highest power
   first, as the published algorithm does. */
static double polynomial(const double c[8], double r)
{
    double sum = c[7];
    for (int i = 6; i >= 0; i--) sum = sum * r + c[i];
    return sum;
}

/* AS 241 coefficients, lowest power first (the denominators' constant term is 1). */
static const double central_num[8] = {
    3.3871328727963666080e0, 1.3314166789178437745e2, 1.9715909503065514427e3,
    1.3731693765509461125e4, 4.5921953931549871457e4, 6.7265770927008700853e4,
    3.3430575583588128105e4, 2.5090809287301226727e3,
};
static const double central_den[8] = {
    1.0, 4.2313330701600911252e1, 6.8718700749205790830e2, 5.3941960214247511077e3,
    2.1213794301586595867e4, 3.9307895800092710610e4, 2.8729085735721942674e4,
    5.2264952788528545610e3,
};
static const double near_num[8] = {
    1.42343711074968357734e0, 4.63033784615654529590e0, 5.76949722146069140550e0,
    3.64784832476320460504e0, 1.27045825245236838258e0, 2.41780725177450611770e-1,
    2.27238449892691845833e-2, 7.74545014278341407640e-4,
};
static const double near_den[8] = {
    1.0, 2.05319162663775882187e0, 1.67638483018380384940e0, 6.89767334985100004550e-1,
    1.48103976427480074590e-1, 1.51986665636164571966e-2, 5.47593808499534494600e-4,
    1.05075007164441684324e-9,
};
static const double far_num[8] = {
    6.65790464350110377720e0, 5.46378491116411436990e0, 1.78482653991729133580e0,
    2.96560571828504891230e-1, 2.65321895265761230930e-2, 1.24266094738807843860e-3,
    2.71155556874348757815e-5, 2.01033439929228813265e-7,
};
static const double far_den[8] = {
    1.0, 5.99832206555887937690e-1, 1.36929880922735805310e-1, 1.48753612908506148525e-2,
    7.86869131145613259100e-4, 1.84631831751005468180e-5, 1.42151175831644588870e-7,
    2.04426310338993978564e-15,
};

double normal_quantile(double p)
{
    if (!(p >= 0.0 && p <= 1.0)) return NAN;
    if (p == 0.0) return -INFINITY;
    if (p == 1.0) return INFINITY;
    double q = p - 0.5;
    if (fabs(q) < 0.425) {
        double r = 0.180625 - q * q;
        return q * polynomial(central_num, r) / polynomial(central_den, r);
    }
    double r = sqrt(-log(q < 0.0 ? p : 1.0 - p));
    double sign = q < 0.0 ? -1.0 : 1.0;
    if (r < 5.0) {
        r -= 1.6;
        return sign * polynomial(near_num, r) / polynomial(near_den, r);
    }
    r -= 5.0;
    return sign * polynomial(far_num, r) / polynomial(far_den, r);
}

/* Hill's algorithm for df > 2 (not 1 or 2), with two-tailed probability
   p2 in (0, 1]; returns the positive quantile. */
static double hill_quantile(double p2, double n)
{
    double a = 1.0 / (n - 0.5);
    double b = 48.0 / (a * a);
    double c = ((20700.0 * a / b - 98.0) * a - 16.0) * a + 96.36;
    double d = ((94.5 / (b + c) - 3.0) / b + 1.0) * sqrt(a * HALF_PI) * n;
    double x = d * p2;
    double y = pow(x, 2.0 / n);
    if (y > 0.05 + a) {
        /* Asymptotic inverse expansion about the normal quantile. */
        x = normal_quantile(p2 * 0.5);
        y = x * x;
        if (n < 5.0) c += 0.3 * (n - 4.5) * (x + 0.6);
        c += (((0.05 * d * x - 5.0) * x - 7.0) * x - 2.0) * x + b;
        y = (((((0.4 * y + 6.3) * y + 36.0) * y + 94.5) / c - y - 3.0) / b + 1.0) * x;
        y = a * y * y;
        y = y > 0.002 ? exp(y) - 1.0 : 0.5 * y * y + y;
    } else {
        y = ((1.0 / (((n + 6.0) / (n * y) - 0.089 * d - 0.822) * (n + 2.0) * 3.0) + 0.5 / (n + 4.0)) * y -
             1.0) * (n + 1.0) / (n + 2.0) + 1.0 / y;
    }
    return sqrt(n * y);
}

double t_quantile(double p, double df)
{
    if (!(p >= 0.0 && p <= 1.0) || !(df >= 1.0)) return NAN;
    if (p == 0.0) return -INFINITY;
    if (p == 1.0) return INFINITY;
    if (isinf(df)) return normal_quantile(p);

    /* The distribution is symmetric: work with the upper half, as a
       two-tailed probability. */
    double sign = p < 0.5 ? -1.0 : 1.0;
    double upper = p < 0.5 ? 1.0 - p : p;
    double p2 = 2.0 * (1.0 - upper);
    if (df == 2.0) return sign * sqrt(2.0 / (p2 * (2.0 - p2)) - 2.0);
    if (df == 1.0) {
        double angle = p2 * HALF_PI;
        return sign * cos(angle) / sin(angle);
    }
    return sign * hill_quantile(p2, df);
}
