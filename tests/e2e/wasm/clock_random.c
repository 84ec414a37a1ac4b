/* clock_random.c: checks that clocks and randomness look like the real
   thing; prints one "ok ..." or "bad ..." line per check. With arguments
   "sleep SECONDS" it sleeps instead, then counts forever. */
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void check(int ok, const char *what)
{
    printf("%s %s\n", ok ? "ok" : "bad", what);
}

static double seconds(clockid_t clock)
{
    struct timespec ts;
    if (clock_gettime(clock, &ts) != 0) return -1;
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "sleep")) {
        sleep((unsigned)atoi(argv[2]));
        for (volatile unsigned i = 0;; i++) {}
    }
    double now = seconds(CLOCK_REALTIME);
    check(now > 1.6e9 && now < 4.1e9, "realtime is a date after 2020");
    double t0 = seconds(CLOCK_MONOTONIC);
    usleep(20000);
    double slept = seconds(CLOCK_MONOTONIC) - t0;
    check(slept >= 0.019 && slept < 2, "usleep(20ms) takes about 20ms");
    struct timespec res;
    check(clock_getres(CLOCK_MONOTONIC, &res) == 0 && res.tv_sec == 0 &&
          res.tv_nsec > 0 && res.tv_nsec <= 1000000, "monotonic resolution");

    unsigned char a[32], b[32], zero[32] = { 0 };
    check(getentropy(a, sizeof a) == 0 && getentropy(b, sizeof b) == 0,
          "getentropy succeeds");
    check(memcmp(a, zero, sizeof a) && memcmp(a, b, sizeof a),
          "random bytes differ from zero and from each other");
    return 0;
}
