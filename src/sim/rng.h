/*
** rng.h: the simulator's random numbers. A small generator of our own
** (xoshiro256** seeded through splitmix64) rather than rand(), so that a
** seed gives the same readings on every platform and C library.
*/
#ifndef SLUICE_SIM_RNG_H
#define SLUICE_SIM_RNG_H

#include <stdint.h>

typedef struct SimRng {
    uint64_t s[4];
} SimRng;

/* A generator for one stream of a seed: streams of one seed (e.g. one per
** sensor) are independent of each other. */
void sim_rng_seed(SimRng *r, uint64_t seed, uint64_t stream);

uint64_t sim_rng_next(SimRng *r);
/* Uniform in [0, 1). */
double sim_rng_uniform(SimRng *r);
/* Uniform in [lo, hi). */
double sim_rng_range(SimRng *r, double lo, double hi);
/* Standard normal (mean 0, standard deviation 1). */
double sim_rng_normal(SimRng *r);

#endif
