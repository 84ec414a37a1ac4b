/*
** rng.c: xoshiro256** (Blackman and Vigna) for the simulator's random
** numbers; see rng.h for why not rand().
*/
#include "rng.h"

#include <math.h>

/* splitmix64 spreads a seed over the 256 bits of state, so that nearby
   seeds (1, 2, 3...) still start far apart. */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

void sim_rng_seed(SimRng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ splitmix64(&stream);
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t sim_rng_next(SimRng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double sim_rng_uniform(SimRng *r)
{
    return (double)(sim_rng_next(r) >> 11) * 0x1.0p-53;
}

double sim_rng_range(SimRng *r, double lo, double hi)
{
    return lo + (hi - lo) * sim_rng_uniform(r);
}

/* Box-Muller, one value per call: the second value would make the stream
   depend on whether an even number of draws came before. */
double sim_rng_normal(SimRng *r)
{
    double u = 1.0 - sim_rng_uniform(r);   /* in (0, 1]: log(u) is finite */
    double v = sim_rng_uniform(r);
    return sqrt(-2.0 * log(u)) * cos(2.0 * 3.14159265358979323846 * v);
}
