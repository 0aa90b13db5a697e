/*
 * mu_idle.c: holds COUNT idle connections to a broker, each with one session
 * and one receiving link from ADDRESS (with the default credit window), so the
 * benchmark can read the broker's memory per connection. Connections are
 * opened at most --inflight K (default 16) at a time, so a broker with a
 * short listen backlog is not flooded. Prints "ready N" once every link is
 * open, then stays idle until killed.
 *
 * usage: mu_idle HOST PORT ADDRESS COUNT [--inflight K]
 */
#include "bench.h"

struct app {
    muon_loop *loop;
    const char *url, *address;
    int count, started, open, inflight_max;
    muon_handler h;
};

static void fail(const char *what, const muon_event *ev) {
    const muon_condition *c = muon_event_condition(ev);
    fprintf(stderr, "mu_idle: %s: %s: %s\n", what, c ? muon_condition_name(c) : "-",
            c ? muon_condition_description(c) : "");
    exit(1);
}

static void start_more(struct app *a) {
    while (a->started < a->count && a->started - a->open < a->inflight_max) {
        muon_connection c;
        CHECK(muon_loop_connect(a->loop, a->url, NULL, &a->h, a, &c));
        CHECK(muon_connection_open_receiver(c, a->address, NULL, NULL, NULL, NULL));
        ++a->started;
    }
}

static void on_link_remote_open(void *ud, const muon_event *ev) {
    struct app *a = ud;
    (void)ev;
    if (++a->open == a->count) {
        printf("ready %d\n", a->open);
        fflush(stdout);
    }
    start_more(a);
}

static void on_message(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    fprintf(stderr, "mu_idle: unexpected message\n");
}

static void on_remote_close(void *ud, const muon_event *ev) {
    (void)ud;
    fail("closed by peer", ev);
}

static void on_disconnected(void *ud, const muon_event *ev) {
    (void)ud;
    fail("disconnected", ev);
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s HOST PORT ADDRESS COUNT [--inflight K]\n", argv[0]);
        return 2;
    }
    static char url[256];
    bench_hostport(url, sizeof url, argv[1], argv[2]);
    struct app a = {0};
    a.url = url;
    a.address = argv[3];
    a.count = atoi(argv[4]);
    a.inflight_max = atoi(bench_opt(argc, argv, 5, "inflight", "16"));
    CHECK(muon_loop_new(&a.loop));
    if (!a.loop) return 1;
    muon_handler h = MUON_HANDLER_INIT;
    h.on_link_remote_open = on_link_remote_open;
    h.on_message = on_message;
    h.on_connection_remote_close = on_remote_close;
    h.on_link_remote_close = on_remote_close;
    h.on_disconnected = on_disconnected;
    a.h = h;
    start_more(&a);
    muon_result rc = muon_loop_run(a.loop);
    muon_loop_free(a.loop);
    return rc == MUON_RESULT_OK ? 0 : 1;
}
