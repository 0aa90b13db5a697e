/*
 * mu_handshake.c: connection set-up and tear-down, one connection at a time.
 *
 * Connects to HOST:PORT COUNT times in sequence. Each time: a new TCP
 * connection, the TLS handshake (with --tls-ca FILE: amqps://, the server's
 * certificate and name verified against that CA), SASL (ANONYMOUS, what the
 * listener offers), the AMQP open; once the peer's open arrives it closes and
 * waits for the connection's final event before starting the next one. Then
 * it prints
 *
 *     COUNT handshakes in S seconds: R per second
 *
 * The listener is mu_direct with --connections COUNT (its counterpart on
 * Proton's side is pn_tls_handshake against pn_tls_direct).
 *
 * usage: mu_handshake HOST PORT COUNT [--tls-ca FILE]
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "bench.h"

#include <time.h>

struct app {
    muon_loop *loop;
    const char *url;
    const muon_connection_options *opts;
    int count, started, opened, closing;
    struct timespec t0;
};

static void fail(const char *what, const muon_event *ev) {
    const muon_condition *c = muon_event_condition(ev);
    fprintf(stderr, "mu_handshake: %s: %s: %s\n", what, c ? muon_condition_name(c) : "-",
            c ? muon_condition_description(c) : "");
    exit(1);
}

static void connect_next(struct app *a);

static void on_remote_open(void *ud, const muon_event *ev) {
    struct app *a = ud;
    ++a->opened;
    a->closing = 1;
    CHECK(muon_connection_close(muon_event_connection(ev)));
}

static void on_remote_close(void *ud, const muon_event *ev) {
    (void)ud;
    if (muon_event_condition(ev)) fail("closed by peer", ev);
}

static void on_disconnected(void *ud, const muon_event *ev) {
    struct app *a = ud;
    if (!a->closing) fail("disconnected", ev);
}

/* The connection is gone: start the next one (from the callback, which
 * only queues the connect). */
static void on_final(void *ud, const muon_event *ev) {
    struct app *a = ud;
    (void)ev;
    if (a->opened != a->started) {
        fprintf(stderr, "mu_handshake: connection %d ended before it opened\n", a->started);
        exit(1);
    }
    if (a->started < a->count) connect_next(a);
}

static void connect_next(struct app *a) {
    muon_handler h = MUON_HANDLER_INIT;
    h.on_connection_remote_open = on_remote_open;
    h.on_connection_remote_close = on_remote_close;
    h.on_disconnected = on_disconnected;
    h.on_connection_final = on_final;
    a->closing = 0;
    ++a->started;
    CHECK(muon_loop_connect(a->loop, a->url, a->opts, &h, a, NULL));
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s HOST PORT COUNT [--tls-ca FILE]\n", argv[0]);
        return 2;
    }
    struct app a = {0};
    char url[256];
    bench_url(url, sizeof url, argv[1], argv[2], argc, argv, 4);
    a.url = url;
    a.count = atoi(argv[3]);
    muon_connection_options *opts = bench_tls_options(argc, argv, 4);
    a.opts = opts;
    CHECK(muon_loop_new(&a.loop));
    if (!a.loop || a.count <= 0) return 1;

    clock_gettime(CLOCK_MONOTONIC, &a.t0);
    connect_next(&a);
    muon_result rc = muon_loop_run(a.loop);
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    muon_loop_free(a.loop);
    muon_connection_options_free(opts);
    if (rc != MUON_RESULT_OK || a.opened != a.count) {
        fprintf(stderr, "mu_handshake: %d of %d connections opened (%s)\n", a.opened, a.count,
                muon_result_name(rc));
        return 1;
    }
    double secs = (double)(t1.tv_sec - a.t0.tv_sec) + (double)(t1.tv_nsec - a.t0.tv_nsec) / 1e9;
    printf("%d handshakes in %.6f seconds: %.1f per second\n", a.count, secs, a.count / secs);
    return 0;
}
