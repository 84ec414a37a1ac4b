/*
** run.c: the simulator's main loop (see run.h).
**
** A truth row is written only once its reading was handed to the output,
** so that a run cut short by a signal or a failing output leaves a truth
** file that matches what was written (in TCP mode, what was queued: lines
** queued when the receiver vanishes for good are lost).
*/
#include "run.h"

#include "bme680.h"
#include "output.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* Without SA_RESTART, so that a signal cuts a pacing sleep short. */
static void catch_signals(void)
{
    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static int64_t monotonic_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Sleeps until the monotonic clock reads `deadline_ns` or a signal comes. */
static void sleep_until(int64_t deadline_ns)
{
    struct timespec t = { deadline_ns / 1000000000, deadline_ns % 1000000000 };
    while (!stop_requested && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR) {}
}

static bool open_output(const SimConfig *c, SimOutput *out)
{
    const char *header = c->header ? sim_csv_header : NULL;
    if (c->connect) return sim_output_tcp(out, c->connect, header, &stop_requested);
    return sim_output_file(out, c->output, header);
}

static FILE *open_truth(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) fprintf(stderr, "sluice sim: cannot create %s: %s\n", path, strerror(errno));
    else fputs("timestamp,sensor,kind\n", f);
    return f;
}

static bool close_truth(FILE *f, const char *path)
{
    if (f && fclose(f) != 0) {
        fprintf(stderr, "sluice sim: cannot write %s: %s\n", path, strerror(errno));
        return false;
    }
    return true;
}

/* Totals, for the closing line. */
typedef struct Tally {
    uint64_t readings, anomalies;
} Tally;

/* One reading of every sensor; false if the output failed or a signal
   came while it waited for the receiver. */
static bool one_round(SimSensor *sensors, unsigned n, SimOutput *out, FILE *truth, Tally *tally)
{
    char line[256];
    for (unsigned i = 0; i < n; i++) {
        SimReading r;
        sim_sensor_read(&sensors[i], &r);
        size_t len = sim_format_csv(&sensors[i], &r, line, sizeof line);
        if (!sim_output_line(out, line, len)) return false;
        tally->readings++;
        if (r.kind == SIM_NORMAL) continue;
        tally->anomalies++;
        if (truth) fprintf(truth, "%.*s,%s,%s\n", (int)strcspn(line, ","), line, sensors[i].id,
                           sim_kind_name(r.kind));
    }
    return true;
}

/* Sends readings round after round until done; false on an output failure
   (a stop by signal is not one). */
static bool produce(const SimConfig *c, SimSensor *sensors, SimOutput *out, FILE *truth, Tally *tally)
{
    int64_t t0 = monotonic_ns();
    double round_ns = c->speed > 0 ? (double)c->interval_ms * 1e6 / c->speed : 0;
    for (uint64_t round = 0; round < c->count; round++) {
        if (stop_requested) return true;
        if (round_ns > 0) {
            /* The receiver sees each reading when it is due, not a buffer later. */
            if (!sim_output_flush(out)) return stop_requested;
            sleep_until(t0 + (int64_t)(round_ns * (double)round));
            if (stop_requested) return true;
        }
        if (!one_round(sensors, c->sensors, out, truth, tally)) return stop_requested;
    }
    return true;
}

int sim_run(const SimConfig *c)
{
    SimSensor *sensors = calloc(c->sensors, sizeof *sensors);
    if (!sensors) {
        fprintf(stderr, "sluice sim: out of memory\n");
        return 1;
    }
    for (unsigned i = 0; i < c->sensors; i++)
        sim_sensor_init(&sensors[i], c->seed, i, c->start_ms, c->interval_ms, c->anomaly_rate);
    catch_signals();
    SimOutput out;
    FILE *truth = NULL;
    bool ok = open_output(c, &out);
    if (ok && c->truth_path) ok = (truth = open_truth(c->truth_path)) != NULL;
    Tally tally = { 0 };
    if (ok) ok = produce(c, sensors, &out, truth, &tally);
    if (out.file || out.buf) ok = sim_output_close(&out) && ok;
    ok = close_truth(truth, c->truth_path) && ok;
    fprintf(stderr, "sluice sim: %llu readings from %u sensors, %llu anomalous%s\n",
            (unsigned long long)tally.readings, c->sensors, (unsigned long long)tally.anomalies,
            stop_requested ? " (stopped by signal)" : "");
    free(sensors);
    return ok ? 0 : 1;
}
