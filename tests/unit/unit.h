/*
** unit.h: the smallest test harness that does the job. A test file defines
** functions with TEST(name), lists them in main with RUN(name), and ends
** with return unit_summary(); failures print file:line and the expression.
*/
#ifndef SLUICE_UNIT_H
#define SLUICE_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_failed_checks, unit_passed, unit_failed;

#define TEST(name) static void name(void)

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,         \
                    __LINE__, #cond);                                      \
            unit_failed_checks++;                                          \
        }                                                                  \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                 \
    do {                                                                   \
        long long a_ = (long long)(a), b_ = (long long)(b);                \
        if (a_ != b_) {                                                    \
            fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n",          \
                    __FILE__, __LINE__, #a, a_, b_);                       \
            unit_failed_checks++;                                          \
        }                                                                  \
    } while (0)

#define RUN(name)                                                          \
    do {                                                                   \
        int before_ = unit_failed_checks;                                  \
        name();                                                            \
        if (unit_failed_checks == before_) {                               \
            unit_passed++;                                                 \
            printf("ok %s\n", #name);                                      \
        } else {                                                           \
            unit_failed++;                                                 \
            printf("FAIL %s\n", #name);                                    \
        }                                                                  \
    } while (0)

static inline int unit_summary(void)
{
    printf("%d passed, %d failed\n", unit_passed, unit_failed);
    return unit_failed != 0;
}

#endif
