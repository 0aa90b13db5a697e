/* value_check.h: the checks of the C programs tests/c_values.rs runs
 * (values.c, message.c, selector.c), which check results themselves: the
 * first failure prints where and why on stderr and exits 1. */
#ifndef VALUE_CHECK_H
#define VALUE_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "muon.h"

#define CHECK(cond)                                                           \
  do {                                                                        \
    if (!(cond)) {                                                            \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      exit(1);                                                                \
    }                                                                         \
  } while (0)

/* Asserts that `call` returns the result `want`. */
#define EXPECT(call, want)                                                    \
  do {                                                                        \
    muon_result got_ = (call);                                                \
    if (got_ != (want)) {                                                     \
      fprintf(stderr, "%s:%d: %s returned %s, expected %s\n", __FILE__,      \
              __LINE__, #call, muon_result_name(got_),                        \
              muon_result_name(want));                                        \
      exit(1);                                                                \
    }                                                                         \
  } while (0)

#define OK(call) EXPECT(call, MUON_RESULT_OK)

/* The value formatted; the buffer is reused by the next call. */
static inline const char *fmt(const muon_value *v) {
  static char buf[1024];
  size_t n = muon_value_format(v, buf, sizeof buf);
  CHECK(n < sizeof buf);
  CHECK(strlen(buf) == n);
  return buf;
}

#endif
