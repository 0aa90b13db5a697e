/*
 * rr_client.c: request/response latency, muon side. Does the work of the
 * tutorial's client (Proton's examples/cpp/client.cpp): a sender to the
 * server's ADDRESS, a dynamic receiver for the replies, one request
 * outstanding at a time, each a string body with reply-to set. Runs COUNT
 * sequential round trips, times each one from just before the send to the
 * reply's on_message, and prints the percentiles.
 *
 * usage: rr_client HOST PORT ADDRESS COUNT
 * prints: rr count=N p50_us=.. p99_us=.. p999_us=.. max_us=..
 */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"

#include <time.h>

struct app {
    muon_connection conn;
    muon_sender snd;
    muon_message *req;
    char reply_to[256];
    int count, done, want_send, have_reply_to, closing;
    double started;
    double *micros;
};

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static void fail(const char *what, const muon_event *ev) {
    const muon_condition *c = muon_event_condition(ev);
    fprintf(stderr, "rr_client: %s: %s: %s\n", what, c ? muon_condition_name(c) : "-",
            c ? muon_condition_description(c) : "");
    exit(1);
}

/* Sends the next request if one is due and the sender has credit. */
static void pump(struct app *a) {
    if (!a->want_send || !a->have_reply_to || muon_sender_credit(a->snd) == 0) return;
    CHECK(muon_message_set_body_string(a->req, "Twas brillig, and the slithy toves"));
    CHECK(muon_message_set_reply_to(a->req, a->reply_to));
    a->want_send = 0;
    a->started = now_us();
    CHECK(muon_sender_send(a->snd, a->req, NULL));
}

static void on_link_remote_open(void *ud, const muon_event *ev) {
    struct app *a = ud;
    if (!muon_event_is_receiver(ev)) return;
    const char *addr = muon_receiver_remote_source_address(muon_event_receiver(ev));
    if (!addr) {
        fprintf(stderr, "rr_client: the peer gave the dynamic receiver no address\n");
        exit(1);
    }
    snprintf(a->reply_to, sizeof a->reply_to, "%s", addr);
    a->have_reply_to = 1;
    pump(a);
}

static void on_link_flow(void *ud, const muon_event *ev) {
    (void)ev;
    pump(ud);
}

static void on_message(void *ud, const muon_event *ev) {
    struct app *a = ud;
    (void)ev;
    a->micros[a->done] = now_us() - a->started;
    if (++a->done < a->count) {
        a->want_send = 1;
        pump(a);
    } else {
        a->closing = 1;
        CHECK(muon_connection_close(a->conn));
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

static int cmp(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

static double pct(const double *v, int n, double p) {
    int i = (int)(p * n);
    return v[i >= n ? n - 1 : i];
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s HOST PORT ADDRESS COUNT\n", argv[0]);
        return 2;
    }
    struct app a = {0};
    char url[256];
    bench_hostport(url, sizeof url, argv[1], argv[2]);
    a.count = atoi(argv[4]);
    a.micros = calloc((size_t)a.count, sizeof *a.micros);
    CHECK(muon_message_new(&a.req));
    a.want_send = 1;
    muon_loop *loop = NULL;
    CHECK(muon_loop_new(&loop));
    if (!loop || !a.req || !a.micros) return 1;

    muon_handler h = MUON_HANDLER_INIT;
    h.on_link_remote_open = on_link_remote_open;
    h.on_link_flow = on_link_flow;
    h.on_message = on_message;
    h.on_connection_remote_close = on_remote_close;
    h.on_link_remote_close = on_remote_close;
    h.on_disconnected = on_disconnected;
    CHECK(muon_loop_connect(loop, url, NULL, &h, &a, &a.conn));
    CHECK(muon_connection_open_sender(a.conn, argv[3], NULL, NULL, NULL, &a.snd));
    muon_link_options *lo;
    CHECK(muon_link_options_new(&lo));
    CHECK(muon_link_options_set_dynamic(lo, true));
    CHECK(muon_connection_open_receiver(a.conn, NULL, lo, NULL, NULL, NULL));
    muon_link_options_free(lo);

    muon_result rc = muon_loop_run(loop);
    muon_loop_free(loop);
    muon_message_free(a.req);
    if (rc != MUON_RESULT_OK || a.done < a.count) return 1;
    qsort(a.micros, (size_t)a.done, sizeof *a.micros, cmp);
    printf("rr count=%d p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f\n", a.done,
           pct(a.micros, a.done, 0.50), pct(a.micros, a.done, 0.99),
           pct(a.micros, a.done, 0.999), a.micros[a.done - 1]);
    free(a.micros);
    return 0;
}
