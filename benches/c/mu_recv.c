/*
 * mu_recv.c: muon's counterpart of Qpid Proton's examples/c/receive.c.
 *
 * Connects to HOST:PORT, opens a receiver from ADDRESS, prints each message
 * body, accepts it (at-least-once: the accept is sent when on_message
 * returns), and closes after COUNT messages. Credit is the built-in window,
 * --window W (default 1000), topped up in batches when half is used.
 *
 * --tls-ca FILE connects with amqps:// trusting only that CA.
 *
 * usage: mu_recv HOST PORT ADDRESS COUNT [--window W] [--tls-ca FILE]
 */
#include "bench.h"

struct app {
    int count, received, closing;
};

static void fail(const char *what, const muon_event *ev) {
    const muon_condition *c = muon_event_condition(ev);
    fprintf(stderr, "mu_recv: %s: %s: %s\n", what, c ? muon_condition_name(c) : "-",
            c ? muon_condition_description(c) : "");
    exit(1);
}

static void on_message(void *ud, const muon_event *ev) {
    struct app *a = ud;
    bench_print_body(muon_event_message(ev));
    if (++a->received == a->count) {
        printf("%d messages received\n", a->received);
        a->closing = 1;
        CHECK(muon_connection_close(muon_event_connection(ev)));
    }
}

static void on_remote_close(void *ud, const muon_event *ev) {
    (void)ud;
    if (muon_event_condition(ev)) fail("closed by peer", ev);
}

static void on_disconnected(void *ud, const muon_event *ev) {
    struct app *a = ud;
    if (!a->closing) fail("disconnected", ev);
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s HOST PORT ADDRESS COUNT [--window W] [--tls-ca FILE]\n",
                argv[0]);
        return 2;
    }
    struct app a = {0};
    char url[256];
    bench_url(url, sizeof url, argv[1], argv[2], argc, argv, 5);
    muon_connection_options *co = bench_tls_options(argc, argv, 5);
    a.count = atoi(argv[4]);
    uint32_t window = (uint32_t)atol(bench_opt(argc, argv, 5, "window", "1000"));
    muon_loop *loop = NULL;
    if (muon_loop_new(&loop) != MUON_RESULT_OK) return 1;

    muon_handler h = MUON_HANDLER_INIT;
    h.on_message = on_message;
    h.on_connection_remote_close = on_remote_close;
    h.on_link_remote_close = on_remote_close;
    h.on_disconnected = on_disconnected;
    muon_connection conn;
    CHECK(muon_loop_connect(loop, url, co, &h, &a, &conn));
    muon_connection_options_free(co);
    muon_link_options *lo;
    CHECK(muon_link_options_new(&lo));
    CHECK(muon_link_options_set_credit_window(lo, window));
    CHECK(muon_connection_open_receiver(conn, argv[3], lo, NULL, NULL, NULL));
    muon_link_options_free(lo);

    muon_result rc = muon_loop_run(loop);
    muon_loop_free(loop);
    return rc == MUON_RESULT_OK ? 0 : 1;
}
