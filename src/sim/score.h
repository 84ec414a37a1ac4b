/*
** score.h: precision and recall of an anomaly detector against the
** simulator's ground truth (`sluice sim score`, docs/simulator.md).
**
** Readings are named by (sensor, timestamp). A flagged reading is a true
** positive if it is in the truth, or lies within `tolerance` readings of a
** level_shift row of its sensor; a truth row is found if it was flagged, or,
** for a level shift, if a flagged reading lies within the tolerance.
*/
#ifndef SLUICE_SIM_SCORE_H
#define SLUICE_SIM_SCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct SimScore {
    size_t tp;   /* flagged readings that are hits */
    size_t fp;   /* flagged readings that are not */
    size_t fn;   /* truth rows not found */
    size_t truth;
    double precision, recall;
} SimScore;

typedef struct SimScoreOptions {
    const char *truth_path, *detected_path;
    unsigned tolerance;    /* readings */
    int64_t interval_ms;   /* 0: the smallest gap between truth rows of a sensor */
} SimScoreOptions;

/* The last instant the simulator and the scorer accept: nanoseconds since
** the epoch must fit in an int64_t, which ends in 2262. */
#define SIM_LAST_MS INT64_C(7258118400000)   /* 2200-01-01T00:00:00Z */

/* Parses an RFC 3339 timestamp between 1970 and 2200 into milliseconds
** since the epoch. */
bool sim_parse_time(const char *s, size_t len, int64_t *ms);

/* Reads both files and scores. False after printing the problem (a file
** that cannot be read, a line that is not a reading). */
bool sim_score(const SimScoreOptions *opt, SimScore *out);

#endif
