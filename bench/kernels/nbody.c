/*
** nbody.c: benchmark kernel "nbody", f64 arithmetic with division and sqrt.
**
** A softened gravitational simulation of a few dozen bodies, n time steps
** of pairwise forces then a symplectic Euler update. The checksum takes the
** bit patterns of the final state, so both builds must round identically
** (they do: IEEE 754 double operations, no fused multiply-add).
*/
#include "kernels.h"

#define BODIES 24
#define STEP 0.001
#define SOFTENING 0.01

typedef struct Body {
    double x, y, z, vx, vy, vz, mass;
} Body;

static Body bodies[BODIES];

static double unit_random(uint32_t *state)
{
    return (double)(bench_random(state) & 0xffff) / 65536.0;
}

static void place_bodies(void)
{
    uint32_t state = 0x3c6ef372;
    for (int i = 0; i < BODIES; i++) {
        Body *b = &bodies[i];
        b->x = unit_random(&state) * 10.0 - 5.0;
        b->y = unit_random(&state) * 10.0 - 5.0;
        b->z = unit_random(&state) * 2.0 - 1.0;
        b->vx = -b->y * 0.1;
        b->vy = b->x * 0.1;
        b->vz = 0.0;
        b->mass = 0.5 + unit_random(&state);
    }
}

static void pull(Body *p, Body *q)
{
    double dx = q->x - p->x, dy = q->y - p->y, dz = q->z - p->z;
    double d2 = dx * dx + dy * dy + dz * dz + SOFTENING;
    double scale = STEP / (d2 * __builtin_sqrt(d2));
    p->vx += dx * q->mass * scale;
    p->vy += dy * q->mass * scale;
    p->vz += dz * q->mass * scale;
    q->vx -= dx * p->mass * scale;
    q->vy -= dy * p->mass * scale;
    q->vz -= dz * p->mass * scale;
}

static void advance(void)
{
    for (int i = 0; i < BODIES; i++)
        for (int j = i + 1; j < BODIES; j++)
            pull(&bodies[i], &bodies[j]);
    for (int i = 0; i < BODIES; i++) {
        bodies[i].x += bodies[i].vx * STEP;
        bodies[i].y += bodies[i].vy * STEP;
        bodies[i].z += bodies[i].vz * STEP;
    }
}

static uint64_t bits_of(double d)
{
    union { double d; uint64_t u; } pun = { d };
    return pun.u;
}

uint64_t kernel_nbody(uint32_t n)
{
    place_bodies();
    for (uint32_t step = 0; step < n; step++)
        advance();
    uint64_t sum = 0;
    for (int i = 0; i < BODIES; i++) {
        sum = bench_mix(sum, bits_of(bodies[i].x));
        sum = bench_mix(sum, bits_of(bodies[i].y));
        sum = bench_mix(sum, bits_of(bodies[i].z));
        sum = bench_mix(sum, bits_of(bodies[i].vx));
    }
    return sum;
}
