/*
 * broker_util.h: small helpers of the example broker (broker.c,
 * broker_auth.h), header-only:
 *
 *   - command-line options: -a HOST:PORT, -m COUNT, -v, and the arguments
 *     left over (the broker takes its TLS and user options itself);
 *   - a heap copy of a string, and a check of a TLS option's result;
 *   - the rest (check, describe, SIGINT and SIGTERM) is common.h's.
 *
 * Everything is `static inline`, so that a file that uses only part of it
 * compiles cleanly with -Wall -Wextra -Werror.
 */
#ifndef MUON_EXAMPLES_BROKER_UTIL_H
#define MUON_EXAMPLES_BROKER_UTIL_H

#include "common.h"

#include <errno.h>

#define DEFAULT_URL "localhost:5672"

/* What the command line asked for. */
struct options {
    const char *url;   /* -a: [amqp[s]://]host[:port] */
    char host[512];    /* url without a /address part */
    long count;        /* -m COUNT */
    bool verbose;      /* -v */
    int argc;          /* arguments that are not options */
    char **argv;
};

static inline void usage_exit(const char *prog, const char *usage) {
    fprintf(stderr, "usage: %s %s\n", prog, usage);
    exit(2);
}

/* Parses -a URL, -m COUNT (0 to 2147483647) and -v; other arguments stay
 * in opts->argv. */
static inline void parse_options(int argc, char **argv, const char *usage,
                                 long default_count, struct options *opts) {
    memset(opts, 0, sizeof *opts);
    program = "broker";
    opts->url = DEFAULT_URL;
    opts->count = default_count;
    opts->argv = argv + 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-a") == 0 && i + 1 < argc) {
            opts->url = argv[++i];
        } else if (strcmp(a, "-m") == 0 && i + 1 < argc) {
            char *end;
            errno = 0;
            opts->count = strtol(argv[++i], &end, 10);
            if (*end != '\0' || end == argv[i] || errno != 0 || opts->count < 0 ||
                opts->count > 2147483647L) {
                usage_exit(argv[0], usage);
            }
        } else if (strcmp(a, "-v") == 0) {
            opts->verbose = true;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0 ||
                   (a[0] == '-' && a[1] != '\0')) {
            usage_exit(argv[0], usage);
        } else {
            opts->argv[opts->argc++] = argv[i];
        }
    }
    /* Listening ignores an address after the host: drop it here too. */
    const char *start = strstr(opts->url, "://");
    start = start ? start + 3 : opts->url;
    const char *slash = strchr(start, '/');
    size_t host_len = slash ? (size_t)(slash - opts->url) : strlen(opts->url);
    if (host_len >= sizeof opts->host) usage_exit(argv[0], usage);
    memcpy(opts->host, opts->url, host_len);
    opts->host[host_len] = '\0';
}

/* The listening form of host:port: an amqp:// prefix dropped. */
static inline const char *listen_address(const struct options *opts) {
    const char *start = strstr(opts->host, "://");
    return start ? start + 3 : opts->host;
}

/* A heap copy of `s`; stops the program when memory runs out. */
static inline char *copy_text(const char *s) {
    char *c = malloc(strlen(s) + 1);
    if (c == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return strcpy(c, s);
}

/* Stops the program if a TLS option could not be used, saying why. */
static inline void check_tls(muon_connection_options *o, muon_result rc, const char *what) {
    if (rc != MUON_RESULT_OK) {
        const char *why = muon_connection_options_error(o);
        fprintf(stderr, "error: %s: %s\n", what, why ? why : muon_result_message(rc));
        exit(1);
    }
}

#endif
