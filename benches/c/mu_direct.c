/*
 * mu_direct.c: muon's counterpart of the receiving side of Qpid Proton's
 * examples/c/direct.c (the listening peer that send.c connects to).
 *
 * Listens on HOST:PORT (port 0 picks one; "listening on N" is printed),
 * receives COUNT messages on whatever link a peer attaches, prints each body,
 * accepts it (at-least-once: the accept is sent when on_message returns),
 * then closes the connection and the listener and exits. Credit is kept
 * topped up to --window W (default 1000), granted in batches when half of it
 * is used.
 *
 * With --tls-cert FILE --tls-key FILE the listener serves TLS with that
 * certificate. With --connections K it also counts connections: it closes the
 * listener and exits once K connections have ended (the listener side of the
 * handshake benchmark, mu_handshake, with COUNT 0).
 *
 * usage: mu_direct HOST PORT ADDRESS COUNT [--window W] [--connections K]
 *                  [--tls-cert FILE --tls-key FILE]
 */
#include "bench.h"

struct app {
    muon_listener listener;
    int count, received;
    int connections, ended;
    uint32_t window;
    int closing;
};

static void fail(const char *what, const muon_event *ev) {
    const muon_condition *c = muon_event_condition(ev);
    fprintf(stderr, "mu_direct: %s: %s: %s\n", what, c ? muon_condition_name(c) : "-",
            c ? muon_condition_description(c) : "");
    exit(1);
}

static void on_listener_open(void *ud, const muon_event *ev) {
    (void)ud;
    printf("listening on %u\n", (unsigned)muon_listener_port(muon_event_listener(ev)));
    fflush(stdout);
}

static void on_link_remote_open(void *ud, const muon_event *ev) {
    struct app *a = ud;
    if (muon_event_is_receiver(ev)) CHECK(muon_receiver_flow(muon_event_receiver(ev), a->window));
}

static void on_message(void *ud, const muon_event *ev) {
    struct app *a = ud;
    bench_print_body(muon_event_message(ev));
    muon_receiver r = muon_event_receiver(ev);
    if (++a->received == a->count) {
        printf("%d messages received\n", a->received);
        a->closing = 1;
        CHECK(muon_connection_close(muon_event_connection(ev)));
        CHECK(muon_listener_close(a->listener));
    } else if (muon_receiver_credit(r) <= a->window / 2) {
        CHECK(muon_receiver_flow(r, a->window));
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

static void on_connection_final(void *ud, const muon_event *ev) {
    struct app *a = ud;
    (void)ev;
    if (a->connections && ++a->ended == a->connections) {
        printf("%d connections ended\n", a->ended);
        CHECK(muon_listener_close(a->listener));
    }
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr,
                "usage: %s HOST PORT ADDRESS COUNT [--window W] [--connections K]\n"
                "       [--tls-cert FILE --tls-key FILE]\n",
                argv[0]);
        return 2;
    }
    struct app a = {0};
    char addr[256];
    bench_hostport(addr, sizeof addr, argv[1], argv[2]);
    a.count = atoi(argv[4]);
    a.window = (uint32_t)atol(bench_opt(argc, argv, 5, "window", "1000"));
    a.connections = atoi(bench_opt(argc, argv, 5, "connections", "0"));
    muon_connection_options *lo = bench_tls_options(argc, argv, 5);
    muon_loop *loop = NULL;
    if (muon_loop_new(&loop) != MUON_RESULT_OK) return 1;

    muon_handler h = MUON_HANDLER_INIT;
    h.on_listener_open = on_listener_open;
    h.on_link_remote_open = on_link_remote_open;
    h.on_message = on_message;
    h.on_connection_remote_close = on_remote_close;
    h.on_link_remote_close = on_remote_close;
    h.on_disconnected = on_disconnected;
    h.on_connection_final = on_connection_final;
    CHECK(muon_loop_listen(loop, addr, lo, &h, &a, &a.listener));
    muon_connection_options_free(lo);

    muon_result rc = muon_loop_run(loop);
    muon_loop_free(loop);
    return rc == MUON_RESULT_OK ? 0 : 1;
}
