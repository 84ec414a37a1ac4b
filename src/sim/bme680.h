/*
** bme680.h: a simulated Bosch BME680 environmental sensor: temperature,
** relative humidity, pressure and the gas resistance of its metal-oxide
** layer, plus an air-quality index derived from gas and humidity, with
** daily seasonality, slow drift, noise and injected anomalies whose ground
** truth the caller can record. docs/simulator.md describes the model.
**
** Deterministic: a sensor's readings depend only on the seed, the sensor's
** number, the start time, the interval and the anomaly rate, never on how
** many other sensors there are or how fast the readings are sent.
*/
#ifndef SLUICE_SIM_BME680_H
#define SLUICE_SIM_BME680_H

#include "rng.h"

#include <stddef.h>
#include <stdint.h>

/* What is wrong with a reading. Every reading that is not SIM_NORMAL is
** one row of the ground truth. */
typedef enum {
    SIM_NORMAL,
    SIM_SPIKE,        /* one reading: air quality suddenly much worse */
    SIM_DROP,         /* one reading: air quality suddenly much better */
    SIM_LEVEL_SHIFT,  /* the first readings after the gas baseline steps */
} SimKind;

typedef struct SimReading {
    int64_t time_ms;      /* milliseconds since the Unix epoch */
    double temperature;   /* degrees Celsius */
    double humidity;      /* relative humidity, % */
    double pressure;      /* hPa */
    double gas;           /* gas resistance, kOhm */
    double iaq;           /* air-quality index, 0 (excellent) to 500 */
    SimKind kind;
} SimReading;

/* A sensor's fixed character (drawn once from its seed) and its state. */
typedef struct SimSensor {
    SimRng rng;
    char id[24];                  /* "sensor-1", ... */
    double anomaly_rate;          /* chance that a reading starts an anomaly */
    int64_t start_ms;             /* time of the first reading, for drift */
    int64_t interval_ms;
    int64_t next_ms;              /* time of the next reading */
    /* character */
    double temp_base, temp_amp, temp_drift;   /* C, C, C per day */
    double hum_base, hum_amp;                 /* %, % */
    double pres_base;                         /* hPa */
    double gas_base, gas_day, gas_drift;      /* ln kOhm, ln units, per day */
    /* state */
    double weather;          /* hPa: the slow pressure swing of passing weather */
    double gas_shift;        /* ln units: the sum of the level shifts so far */
    double calibrated;       /* ln units: how much of it the index's calibration absorbed */
    int shift_truth_left;    /* readings still ground truth of a level shift */
    int quiet_left;          /* readings before another anomaly may start */
} SimSensor;

/* Sets up sensor number `index` (0-based; its id is "sensor-<index+1>").
** interval_ms > 0; 0 <= anomaly_rate <= 1. */
void sim_sensor_init(SimSensor *s, uint64_t seed, unsigned index, int64_t start_ms,
                     int64_t interval_ms, double anomaly_rate);

/* The next reading: the n-th call gives the one at start_ms + n * interval_ms. */
void sim_sensor_read(SimSensor *s, SimReading *out);

/* The air-quality index of a gas resistance (kOhm) at a relative humidity
** (%): 0 to 500, higher is worse (docs/simulator.md gives the formula). */
double sim_iaq(double gas_kohm, double humidity);

/* "spike", "drop", "level_shift" (and "normal"), as in the truth file. */
const char *sim_kind_name(SimKind kind);

/* The CSV header and a reading as one CSV line (with its newline); returns
** the length, or 0 if `size` is too small. */
extern const char sim_csv_header[];
size_t sim_format_csv(const SimSensor *s, const SimReading *r, char *out, size_t size);

#endif
