/*
** run.h: one run of the BME680 simulator: every sensor gives a reading per
** interval, paced to real time times a speed (or as fast as possible), each
** reading goes out as a CSV line and each anomalous one also as a row of
** the ground-truth file, until the count is reached or a signal comes.
*/
#ifndef SLUICE_SIM_RUN_H
#define SLUICE_SIM_RUN_H

#include <stdbool.h>
#include <stdint.h>

typedef struct SimConfig {
    unsigned sensors;
    int64_t interval_ms;
    int64_t start_ms;
    uint64_t count;         /* readings per sensor */
    double speed;           /* simulated seconds per real second; 0: as fast as possible */
    uint64_t seed;
    double anomaly_rate;
    const char *truth_path; /* NULL: no ground truth */
    const char *connect;    /* HOST:PORT, or NULL to write `output` */
    const char *output;     /* a file or "-" */
    bool header;
} SimConfig;

/* Runs the simulator; returns the exit status (0 also after SIGINT or
** SIGTERM, which end the run cleanly, the truth file complete). */
int sim_run(const SimConfig *config);

#endif
