/* Checks shared by the tests/c/api_*.c programs (run by tests/c_api.rs).
 * A failed check prints where and why on stderr and exits with status 1;
 * a program that hangs is killed by alarm() after WATCHDOG_S seconds. */
#ifndef API_CHECK_H
#define API_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "muon.h"

#define WATCHDOG_S 20

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                  \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

#define CHECK_RC(expr, want)                                                 \
    do {                                                                     \
        muon_result rc_ = (expr);                                            \
        if (rc_ != (want)) {                                                 \
            fprintf(stderr, "%s:%d: %s returned %s, expected %s\n", __FILE__, \
                    __LINE__, #expr, muon_result_name(rc_),                  \
                    muon_result_name(want));                                 \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

#define OK(expr) CHECK_RC(expr, MUON_RESULT_OK)

#define CHECK_STR(got, want)                                                 \
    do {                                                                     \
        const char *g_ = (got);                                              \
        const char *w_ = (want);                                             \
        if (g_ == NULL || strcmp(g_, w_) != 0) {                             \
            fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n",        \
                    __FILE__, __LINE__, #got, g_ ? g_ : "(null)", w_);       \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

/* Handles are values: two name the same object when all fields match. */
#define SAME(a, b)                                                           \
    ((a).owner == (b).owner && (a).index == (b).index &&                     \
     (a).generation == (b).generation)

#define IS_NULL_HANDLE(h) ((h).owner == NULL && (h).generation == 0)

#endif
