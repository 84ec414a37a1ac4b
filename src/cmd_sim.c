/*
** cmd_sim.c: `sluice sim bme680`, the BME680 air-quality simulator, and
** `sluice sim score`, which scores a detector against the simulator's
** ground truth. This file reads the command lines; src/sim/ does the work
** and docs/simulator.md describes both.
*/
#include "commands.h"
#include "cli.h"
#include "sim/output.h"
#include "sim/run.h"
#include "sim/score.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char bme680_help[] =
    "usage: sluice sim bme680 [--sensors N] [--interval SECONDS] [--start TIME]\n"
    "                         [--duration D | --count N] [--speed X | --fast] [--seed S]\n"
    "                         [--anomalies RATE] [--truth FILE]\n"
    "                         [--connect HOST:PORT | --output FILE|-] [--header]\n"
    "\n"
    "Simulates BME680 air-quality sensors: every interval each sensor gives a\n"
    "reading with a daily cycle, slow drift, noise and, now and then, an\n"
    "injected anomaly of the air-quality index (spike, drop or level shift).\n"
    "Each reading is a CSV line\n"
    "  timestamp,sensor,temperature,humidity,pressure,gas_resistance,iaq\n"
    "  2026-11-24T10:00:00.000Z,sensor-1,23.41,41.20,1013.20,187.50,92.3\n"
    "(C, %, hPa, kOhm, index 0-500: higher is worse). The same seed gives the\n"
    "same readings. Runs until the count or duration is reached, or until\n"
    "SIGINT or SIGTERM (which end it cleanly, the truth file complete).\n"
    "See docs/simulator.md.\n"
    "\n"
    "options:\n"
    "  --sensors N          number of sensors, sensor-1 to sensor-N (default: 3)\n"
    "  --interval SECONDS   time between readings of a sensor, >= 0.001 (default: 60)\n"
    "  --start TIME         time of the first reading, RFC 3339 or `now`\n"
    "                       (default: 2026-11-24T00:00:00Z)\n"
    "  --duration D         simulated time to cover: a number with s, m, h or d\n"
    "                       (default unit: s); the readings per sensor are D / interval\n"
    "  --count N            readings per sensor (default: no limit)\n"
    "  --speed X            X simulated seconds per real second (default: 1, real time)\n"
    "  --fast               as fast as possible\n"
    "  --seed S             seed of the random numbers (default: 1)\n"
    "  --anomalies RATE     chance that a reading starts an anomaly, 0 to 0.05\n"
    "                       (default: 0.002)\n"
    "  --truth FILE         write the ground truth: CSV timestamp,sensor,kind, one row\n"
    "                       per anomalous reading (kind: spike, drop, level_shift)\n"
    "  --connect HOST:PORT  send the lines over TCP; waits for the receiver (up to\n"
    "                       60 s) and reconnects if it goes away\n"
    "  --output FILE|-      write the lines to FILE or standard output (default: -)\n"
    "  --header             start the output (each TCP connection) with the CSV header\n"
    "  --help               show this help\n";

static const char score_help[] =
    "usage: sluice sim score --truth FILE --detected FILE [--tolerance N]\n"
    "                        [--interval SECONDS] [--require P]\n"
    "\n"
    "Scores an anomaly detector against the ground truth of `sluice sim bme680`\n"
    "and prints `precision P recall R (tp N, fp N, fn N)`. The detected file\n"
    "holds the flagged readings: CSV lines `timestamp,sensor` (a header line and\n"
    "further fields are ignored) or NDJSON objects with string fields timestamp\n"
    "and sensor (an object whose is_anomaly is present and not true is skipped).\n"
    "Timestamps match as instants, whatever their RFC 3339 spelling. A flagged\n"
    "reading is a true positive if it is in the truth, or within the tolerance\n"
    "of a level_shift row of its sensor; tp and fp count flagged readings, fn\n"
    "truth rows that nothing found. See docs/simulator.md.\n"
    "\n"
    "options:\n"
    "  --truth FILE         the ground truth (CSV timestamp,sensor,kind)\n"
    "  --detected FILE      the flagged readings (CSV or NDJSON)\n"
    "  --tolerance N        readings a detection may be away from a level shift's\n"
    "                       truth rows and still count (default: 0)\n"
    "  --interval SECONDS   the time between readings, for the tolerance (default:\n"
    "                       the smallest gap between truth rows of one sensor)\n"
    "  --require P          exit 1 unless precision and recall are both >= P\n"
    "  --help               show this help\n";

/* A number from text, all of it, within [min, max]. */
static bool parse_number(const char *text, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (!*text || *end || errno || !isfinite(v) || v < min || v > max) return false;
    *out = v;
    return true;
}

/* A whole number from text, within [min, max]. */
static bool parse_whole(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (*text < '0' || *text > '9' || *end || errno || v < min || v > max) return false;
    *out = v;
    return true;
}

/* "90", "90s", "15m", "12h", "2.5d" into milliseconds (up to 100 years). */
static bool parse_duration(const char *text, int64_t *ms)
{
    static const char units[] = "smhd";
    static const double unit_ms[] = { 1e3, 60e3, 3600e3, 86400e3 };
    char number[64];
    size_t len = strlen(text);
    if (len == 0 || len >= sizeof number) return false;
    memcpy(number, text, len + 1);
    double scale = 1e3;
    const char *unit = strchr(units, number[len - 1]);   /* never the NUL: len > 0 */
    if (unit) {
        scale = unit_ms[unit - units];
        number[len - 1] = 0;
    }
    double v;
    if (!parse_number(number, 0, 36525.0 * 86400e3 / scale, &v)) return false;
    *ms = (int64_t)llround(v * scale);
    return true;
}

/* RFC 3339 (1970 to 2200) or "now" (whole seconds) into milliseconds
   since the epoch. */
static bool parse_start(const char *text, int64_t *ms)
{
    if (!strcmp(text, "now")) {
        *ms = (int64_t)time(NULL) * 1000;
        return true;
    }
    return sim_parse_time(text, strlen(text), ms);
}

/* The value after option argv[*i], or NULL after complaining. */
static const char *value_of(int argc, char **argv, int *i, const char *help)
{
    if (*i + 1 >= argc) {
        cli_usage_error(help, "%s needs a value", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

/* Fills an option that takes a value; returns 0, or the exit status after
   a message. */
static int bme680_option(const char *name, const char *v, SimConfig *c, int64_t *duration_ms)
{
    uint64_t whole;
    double number;
    if (!strcmp(name, "--sensors")) {
        if (!parse_whole(v, 1, 100000, &whole))
            return cli_usage_error(bme680_help, "--sensors wants a number from 1 to 100000, not '%s'", v);
        c->sensors = (unsigned)whole;
    } else if (!strcmp(name, "--interval")) {
        if (!parse_number(v, 0.001, 86400, &number))
            return cli_usage_error(bme680_help, "--interval wants seconds from 0.001 to 86400, not '%s'", v);
        c->interval_ms = (int64_t)llround(number * 1000);
    } else if (!strcmp(name, "--start")) {
        if (!parse_start(v, &c->start_ms))
            return cli_usage_error(bme680_help, "--start wants an RFC 3339 time such as "
                                  "2026-11-24T00:00:00Z, or now, not '%s'", v);
    } else if (!strcmp(name, "--duration")) {
        if (!parse_duration(v, duration_ms))
            return cli_usage_error(bme680_help, "--duration wants a time such as 3600, 90m, 12h or 2d, "
                                  "not '%s'", v);
    } else if (!strcmp(name, "--count")) {
        if (!parse_whole(v, 1, UINT64_MAX, &c->count))
            return cli_usage_error(bme680_help, "--count wants a positive whole number, not '%s'", v);
    } else if (!strcmp(name, "--speed")) {
        if (!parse_number(v, 1e-3, 1e9, &c->speed))
            return cli_usage_error(bme680_help, "--speed wants a factor from 0.001 to 1e9, not '%s'", v);
    } else if (!strcmp(name, "--seed")) {
        if (!parse_whole(v, 0, UINT64_MAX, &c->seed))
            return cli_usage_error(bme680_help, "--seed wants a whole number, not '%s'", v);
    } else if (!strcmp(name, "--anomalies")) {
        if (!parse_number(v, 0, 0.05, &c->anomaly_rate))
            return cli_usage_error(bme680_help, "--anomalies wants a rate from 0 to 0.05, not '%s'", v);
    } else if (!strcmp(name, "--truth")) {
        c->truth_path = v;
    } else if (!strcmp(name, "--connect")) {
        char host[256], port[16];
        if (!sim_split_address(v, host, port))
            return cli_usage_error(bme680_help, "--connect wants HOST:PORT or [IPV6]:PORT, not '%s'", v);
        c->connect = v;
    } else {
        c->output = v;
    }
    return 0;
}

static bool takes_value(const char *name, const char *const *names)
{
    for (; *names; names++)
        if (!strcmp(name, *names)) return true;
    return false;
}

int cmd_sim_bme680(int argc, char **argv)
{
    static const char *const with_value[] = {
        "--sensors", "--interval", "--start", "--duration", "--count", "--speed", "--seed",
        "--anomalies", "--truth", "--connect", "--output", NULL,
    };
    SimConfig c = { .sensors = 3, .interval_ms = 60000,
                    .start_ms = INT64_C(1795478400000),   /* 2026-11-24T00:00:00Z */
                    .speed = 1, .seed = 1, .anomaly_rate = 0.002, .output = "-" };
    int64_t duration_ms = -1;
    bool fast = false, speed_given = false, output_given = false, count_given = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help")) {
            fputs(bme680_help, stdout);
            return 0;
        } else if (!strcmp(a, "--fast")) {
            fast = true;
        } else if (!strcmp(a, "--header")) {
            c.header = true;
        } else if (takes_value(a, with_value)) {
            const char *v = value_of(argc, argv, &i, bme680_help);
            if (!v) return CLI_EXIT_USAGE;
            int status = bme680_option(a, v, &c, &duration_ms);
            if (status) return status;
            speed_given |= !strcmp(a, "--speed");
            output_given |= !strcmp(a, "--output");
            count_given |= !strcmp(a, "--count");
        } else {
            return cli_usage_error(bme680_help, "unknown argument '%s'", a);
        }
    }
    if (fast && speed_given) return cli_usage_error(bme680_help, "%s", "give --speed or --fast, not both");
    if (c.connect && output_given) return cli_usage_error(bme680_help, "%s", "give --connect or --output, not both");
    if (count_given && duration_ms >= 0) return cli_usage_error(bme680_help, "%s", "give --duration or --count, not both");
    if (duration_ms >= 0) {
        c.count = (uint64_t)(duration_ms / c.interval_ms);
        if (c.count == 0) return cli_usage_error(bme680_help, "%s", "--duration is shorter than one --interval");
    }
    /* Readings end before SIM_LAST_MS, where timestamps would stop fitting. */
    uint64_t room = (uint64_t)((SIM_LAST_MS - c.start_ms) / c.interval_ms);
    if (c.count == 0 || c.count > room) c.count = room;
    if (fast) c.speed = 0;
    return sim_run(&c);
}

int cmd_sim_score(int argc, char **argv)
{
    SimScoreOptions opt = { 0 };
    double require = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help")) {
            fputs(score_help, stdout);
            return 0;
        }
        bool known = !strcmp(a, "--truth") || !strcmp(a, "--detected") || !strcmp(a, "--tolerance") ||
                     !strcmp(a, "--interval") || !strcmp(a, "--require");
        if (!known) return cli_usage_error(score_help, "unknown argument '%s'", a);
        const char *v = value_of(argc, argv, &i, score_help);
        uint64_t whole;
        double number;
        if (!v) return CLI_EXIT_USAGE;
        if (!strcmp(a, "--truth")) {
            opt.truth_path = v;
        } else if (!strcmp(a, "--detected")) {
            opt.detected_path = v;
        } else if (!strcmp(a, "--tolerance")) {
            if (!parse_whole(v, 0, 1000000, &whole))
                return cli_usage_error(score_help, "--tolerance wants readings from 0 to 1000000, not '%s'", v);
            opt.tolerance = (unsigned)whole;
        } else if (!strcmp(a, "--interval")) {
            if (!parse_number(v, 0.001, 86400, &number))
                return cli_usage_error(score_help, "--interval wants seconds from 0.001 to 86400, not '%s'", v);
            opt.interval_ms = llround(number * 1e3);
        } else if (!parse_number(v, 0, 1, &require)) {
            return cli_usage_error(score_help, "--require wants a number from 0 to 1, not '%s'", v);
        }
    }
    if (!opt.truth_path || !opt.detected_path)
        return cli_usage_error(score_help, "%s", "missing --truth FILE or --detected FILE");
    SimScore s;
    if (!sim_score(&opt, &s)) return 1;
    printf("precision %.3f recall %.3f (tp %zu, fp %zu, fn %zu)\n", s.precision, s.recall, s.tp, s.fp, s.fn);
    return s.precision >= require && s.recall >= require ? 0 : 1;
}
