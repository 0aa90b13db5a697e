/*
 * bench.h: small helpers shared by muon's benchmark programs (header-only).
 *
 * The programs mirror Qpid Proton's C examples so that scripts/bench can run
 * both side by side: the same positional arguments (HOST PORT ADDRESS COUNT),
 * the same message (body map {"sequence": n}, message-id n as a ulong), the
 * same at-least-once acknowledgement, the same printing of every received
 * body. Options that Proton's examples do not have come after the positional
 * arguments as --name value.
 */
#ifndef MUON_BENCH_H
#define MUON_BENCH_H

#include "muon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Exits with a message when a muon call fails: a benchmark that silently
 * measures an error path is worse than one that stops. */
#define CHECK(call)                                                                  \
    do {                                                                             \
        muon_result check_rc_ = (call);                                              \
        if (check_rc_ != MUON_RESULT_OK) {                                           \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call,            \
                    muon_result_name(check_rc_));                                    \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

/* The value of option `--name` among argv[from..], or `dflt`. */
static inline const char *bench_opt(int argc, char **argv, int from, const char *name,
                                    const char *dflt) {
    for (int i = from; i + 1 < argc; ++i) {
        if (argv[i][0] == '-' && argv[i][1] == '-' && strcmp(argv[i] + 2, name) == 0)
            return argv[i + 1];
    }
    return dflt;
}

/* True if flag `--name` is among argv[from..]. */
static inline int bench_flag(int argc, char **argv, int from, const char *name) {
    for (int i = from; i < argc; ++i) {
        if (argv[i][0] == '-' && argv[i][1] == '-' && strcmp(argv[i] + 2, name) == 0) return 1;
    }
    return 0;
}

/* "host:port" from Proton-style HOST and PORT arguments. */
static inline void bench_hostport(char *out, size_t cap, const char *host, const char *port) {
    snprintf(out, cap, "%s:%s", (host && *host) ? host : "127.0.0.1", port);
}

/* Connection options for TLS, from the options after the positional
 * arguments (NULL when there are none: plain TCP, the default options):
 *
 *   --tls-ca FILE                    a client: connect with amqps:// and trust
 *                                    this CA only (the server's certificate and
 *                                    its name, the URL's host, are verified, as
 *                                    by default)
 *   --tls-cert FILE --tls-key FILE   a listener: serve TLS with this certificate
 *
 * Only this CA is trusted, not the platform's store too, so that every
 * connection verifies against the same single CA as Proton's TLS programs
 * (benches/proton) do. Free the result with muon_connection_options_free. */
static inline muon_connection_options *bench_tls_options(int argc, char **argv, int from) {
    const char *ca = bench_opt(argc, argv, from, "tls-ca", NULL);
    const char *cert = bench_opt(argc, argv, from, "tls-cert", NULL);
    const char *key = bench_opt(argc, argv, from, "tls-key", NULL);
    if (!ca && !cert && !key) return NULL;
    if (!cert != !key) {
        fprintf(stderr, "--tls-cert and --tls-key go together\n");
        exit(2);
    }
    muon_connection_options *o;
    CHECK(muon_connection_options_new(&o));
    muon_result rc = MUON_RESULT_OK;
    if (ca) {
        rc = muon_connection_options_add_tls_ca_file(o, ca);
        if (rc == MUON_RESULT_OK) rc = muon_connection_options_set_tls_system_trust(o, false);
    }
    if (rc == MUON_RESULT_OK && cert) rc = muon_connection_options_set_tls_cert_file(o, cert, key);
    if (rc != MUON_RESULT_OK) {
        const char *why = muon_connection_options_error(o);
        fprintf(stderr, "TLS options: %s: %s\n", muon_result_name(rc), why ? why : "");
        exit(1);
    }
    return o;
}

/* The URL a client connects to: "amqps://host:port" with --tls-ca, else
 * "host:port". */
static inline void bench_url(char *out, size_t cap, const char *host, const char *port, int argc,
                             char **argv, int from) {
    char hp[200];
    bench_hostport(hp, sizeof hp, host, port);
    snprintf(out, cap, "%s%s", bench_opt(argc, argv, from, "tls-ca", NULL) ? "amqps://" : "", hp);
}

/* Prints an amqp-value body the way a receiving example does: formatted on
 * one line. The buffer grows to the largest body seen, so steady state does
 * not allocate. */
static inline void bench_print_body(const muon_message *m) {
    static char *buf;
    static size_t cap;
    const muon_value *body = muon_message_body(m);
    size_t need = muon_value_format(body, buf, cap);
    if (need >= cap) {
        cap = need + 1;
        free(buf);
        buf = malloc(cap);
        if (!buf) {
            fprintf(stderr, "out of memory\n");
            exit(1);
        }
        muon_value_format(body, buf, cap);
    }
    puts(buf);
}

/* Sets `m` to the benchmark message number `n`: message-id n (ulong) and
 * body {"sequence": n} (plus "payload": a string of `payload` 'x' when
 * `payload` > 0, the body of the 1 KB and 64 KB runs). `text` is `payload`
 * 'x' characters and a NUL, made once by the caller. */
static inline void bench_fill(muon_message *m, int n, const char *text) {
    muon_value *id, *map, *k, *v;
    CHECK(muon_value_ulong((uint64_t)n, &id));
    CHECK(muon_message_set_id(m, id));
    CHECK(muon_value_map_new(&map));
    CHECK(muon_value_string("sequence", &k));
    CHECK(muon_value_int(n, &v));
    CHECK(muon_value_map_put(map, k, v));
    if (text) {
        CHECK(muon_value_string("payload", &k));
        CHECK(muon_value_string(text, &v));
        CHECK(muon_value_map_put(map, k, v));
    }
    CHECK(muon_message_set_body(m, map));
}

/* `n` 'x' characters and a NUL (NULL when n is 0). */
static inline char *bench_payload(long n) {
    if (n <= 0) return NULL;
    char *t = malloc((size_t)n + 1);
    if (!t) exit(1);
    memset(t, 'x', (size_t)n);
    t[n] = 0;
    return t;
}

#endif
