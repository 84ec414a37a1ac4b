/*
** bme680.c: the simulated BME680 (see bme680.h; the model and its numbers
** are explained in docs/simulator.md).
**
** Every quantity is a smooth daily cycle plus a slow drift plus Gaussian
** noise. The cycles repeat exactly from day to day, so that a detector that
** removes a daily seasonal component (S-H-ESD with period = readings per
** day) sees noise, drift and the injected anomalies, nothing else.
** Anomalies act on the gas resistance; the air-quality index, computed from
** it, shows them too, except that its baseline calibration (as in Bosch's
** BSEC) absorbs a level shift of the resistance after a few readings: in
** the index a level shift is a jump that fades, which is what a point
** detector can be scored on.
*/
#include "bme680.h"

#include <math.h>
#include <stdio.h>

#include "../pipeline/record.h"

static const double PI = 3.14159265358979323846;
static const double DAY_MS = 86400000.0;

/* The air-quality index: a humidity score (25 at the comfortable 40 %,
   falling off either side) plus a gas score (0 at 5 kOhm, 75 at 400 kOhm,
   on a log scale as MOX resistance responds logarithmically to gas) make a
   quality of 0..100; the index is 5 * (100 - quality), so 0 is excellent
   and 500 extremely polluted, the scale of Bosch's BSEC IAQ. */
enum { GAS_SCORE_MAX = 75, HUM_SCORE_MAX = 25 };
static const double GAS_LOW_KOHM = 5.0, GAS_HIGH_KOHM = 400.0;
static const double HUM_BEST = 40.0, HUM_SPAN = 60.0;

/* How far anomalies move the index, in index points: a burst of solvent
   or cooking fumes, a gust of fresh air, a step in the background. All far
   above the noise (about 2.6 points), all within what a real room shows. */
static const double SPIKE_MIN = 25, SPIKE_MAX = 45;
static const double DROP_MIN = 25, DROP_MAX = 40;
static const double SHIFT_MIN = 25, SHIFT_MAX = 40;
enum {
    SHIFT_TRUTH_READINGS = 3,   /* level shift: readings before recalibration, all anomalous */
    QUIET_READINGS = 12,        /* no anomaly this soon after another */
};
/* After those readings the index's baseline calibration catches up with a
   level shift: each reading it absorbs this fraction of what is left. */
static const double RECALIBRATION = 0.75;

/* The noise of one reading (standard deviations). */
static const double TEMP_NOISE = 0.05, HUM_NOISE = 0.3, PRES_NOISE = 0.05;
static const double GAS_NOISE = 0.03;   /* ln units: 3 % */

/* Passing weather: pressure wanders as an Ornstein-Uhlenbeck process. */
static const double WEATHER_SD = 5.0, WEATHER_DAYS = 2.0;

double sim_iaq(double gas_kohm, double humidity)
{
    double hum_score = HUM_SCORE_MAX * fmax(0.0, 1.0 - fabs(humidity - HUM_BEST) / HUM_SPAN);
    double gas_score = GAS_SCORE_MAX * log(gas_kohm / GAS_LOW_KOHM) / log(GAS_HIGH_KOHM / GAS_LOW_KOHM);
    gas_score = fmin(fmax(gas_score, 0.0), GAS_SCORE_MAX);
    return fmin(fmax(5.0 * (100.0 - hum_score - gas_score), 0.0), 500.0);
}

/* The change of ln(gas) that moves the index by `points` (at fixed
   humidity, within the gas score's range). */
static double gas_for_iaq(double points)
{
    return points / 5.0 * log(GAS_HIGH_KOHM / GAS_LOW_KOHM) / GAS_SCORE_MAX;
}

void sim_sensor_init(SimSensor *s, uint64_t seed, unsigned index, int64_t start_ms,
                     int64_t interval_ms, double anomaly_rate)
{
    *s = (SimSensor){ 0 };
    sim_rng_seed(&s->rng, seed, index);
    snprintf(s->id, sizeof s->id, "sensor-%u", index + 1);
    s->anomaly_rate = anomaly_rate;
    s->start_ms = s->next_ms = start_ms;
    s->interval_ms = interval_ms;
    SimRng *r = &s->rng;
    s->temp_base = sim_rng_range(r, 19.0, 24.0);
    s->temp_amp = sim_rng_range(r, 1.5, 3.5);
    s->temp_drift = sim_rng_range(r, -0.1, 0.1);
    s->hum_base = sim_rng_range(r, 38.0, 52.0);
    s->hum_amp = sim_rng_range(r, 4.0, 8.0);
    s->pres_base = sim_rng_range(r, 1005.0, 1020.0);
    s->gas_base = log(sim_rng_range(r, 150.0, 280.0));
    s->gas_day = sim_rng_range(r, 0.3, 0.6);
    s->gas_drift = sim_rng_range(r, -0.01, 0.01);
    s->weather = WEATHER_SD * sim_rng_normal(r);
}

/* People in the room, 0..1: a raised-cosine working day from 08:00 to
   18:00 (smooth, so a seasonal fit follows it). */
static double occupancy(double hour)
{
    if (hour < 8.0 || hour > 18.0) return 0.0;
    return 0.5 - 0.5 * cos(2.0 * PI * (hour - 8.0) / 10.0);
}

/* The pressure's weather term takes one step of an Ornstein-Uhlenbeck
   process: it reverts to 0 over WEATHER_DAYS, with WEATHER_SD spread. */
static void weather_step(SimSensor *s)
{
    double keep = exp(-(double)s->interval_ms / (WEATHER_DAYS * DAY_MS));
    s->weather = s->weather * keep + WEATHER_SD * sqrt(1.0 - keep * keep) * sim_rng_normal(&s->rng);
}

/* Decides whether this reading is anomalous and, if so, how the gas
   resistance (ln units) moves for it; level shifts move s->gas_shift for
   good. Returns the reading's kind. */
static SimKind inject(SimSensor *s, double *gas_offset)
{
    *gas_offset = 0.0;
    if (s->shift_truth_left > 0) {
        s->shift_truth_left--;
        return SIM_LEVEL_SHIFT;
    }
    if (s->quiet_left > 0) {
        s->quiet_left--;
        return SIM_NORMAL;
    }
    if (sim_rng_uniform(&s->rng) >= s->anomaly_rate) return SIM_NORMAL;
    s->quiet_left = QUIET_READINGS;
    double pick = sim_rng_uniform(&s->rng);
    if (pick < 0.45) {
        *gas_offset = -gas_for_iaq(sim_rng_range(&s->rng, SPIKE_MIN, SPIKE_MAX));
        return SIM_SPIKE;
    }
    if (pick < 0.90) {
        *gas_offset = gas_for_iaq(sim_rng_range(&s->rng, DROP_MIN, DROP_MAX));
        return SIM_DROP;
    }
    /* A shifted baseline shifts back (a source of VOCs brought into the
       room, later taken out), so that it never wanders off. */
    if (s->gas_shift != 0.0) {
        s->gas_shift = 0.0;
    } else {
        double step = gas_for_iaq(sim_rng_range(&s->rng, SHIFT_MIN, SHIFT_MAX));
        s->gas_shift = sim_rng_uniform(&s->rng) < 0.5 ? step : -step;
    }
    s->shift_truth_left = SHIFT_TRUTH_READINGS - 1;
    return SIM_LEVEL_SHIFT;
}

/* The index's calibration absorbs part of the level shifts it has not
   absorbed yet. */
static void recalibrate(SimSensor *s)
{
    s->calibrated += (s->gas_shift - s->calibrated) * RECALIBRATION;
}

void sim_sensor_read(SimSensor *s, SimReading *out)
{
    SimRng *r = &s->rng;
    int64_t t = s->next_ms;
    s->next_ms += s->interval_ms;
    double days = (double)(t - s->start_ms) / DAY_MS;
    double hour = (double)(t % 86400000) / 3600000.0;   /* t >= 0: from 1970 on */
    double warm = cos(2.0 * PI * (hour - 15.0) / 24.0);   /* 1 at 15:00, -1 at 03:00 */

    weather_step(s);
    double gas_offset;
    out->kind = inject(s, &gas_offset);
    if (out->kind != SIM_LEVEL_SHIFT) recalibrate(s);
    out->time_ms = t;
    out->temperature = s->temp_base + s->temp_amp * warm + s->temp_drift * days + TEMP_NOISE * sim_rng_normal(r);
    /* Relative humidity falls as the air warms: the same cycle, inverted. */
    out->humidity = fmin(fmax(s->hum_base - s->hum_amp * warm + HUM_NOISE * sim_rng_normal(r), 1.0), 100.0);
    /* The semidiurnal atmospheric tide: highs near 10:00 and 22:00. */
    out->pressure = s->pres_base + s->weather + 0.7 * cos(2.0 * PI * (hour - 10.0) / 12.0) +
                    PRES_NOISE * sim_rng_normal(r);
    /* Occupants' breath and activity add VOCs, which lower the resistance. */
    double ln_gas = s->gas_base - s->gas_day * occupancy(hour) + s->gas_drift * days + s->gas_shift +
                    gas_offset + GAS_NOISE * sim_rng_normal(r);
    out->gas = exp(ln_gas);
    out->iaq = sim_iaq(exp(ln_gas - s->calibrated), out->humidity);
}

const char *sim_kind_name(SimKind kind)
{
    switch (kind) {
    case SIM_SPIKE: return "spike";
    case SIM_DROP: return "drop";
    case SIM_LEVEL_SHIFT: return "level_shift";
    case SIM_NORMAL: break;
    }
    return "normal";
}

const char sim_csv_header[] = "timestamp,sensor,temperature,humidity,pressure,gas_resistance,iaq\n";

size_t sim_format_csv(const SimSensor *s, const SimReading *r, char *out, size_t size)
{
    char ts[40];
    sl_format_time(r->time_ms * 1000000, ts);
    int n = snprintf(out, size, "%s,%s,%.2f,%.2f,%.2f,%.2f,%.1f\n", ts, s->id, r->temperature,
                     r->humidity, r->pressure, r->gas, r->iaq);
    return n > 0 && (size_t)n < size ? (size_t)n : 0;
}
