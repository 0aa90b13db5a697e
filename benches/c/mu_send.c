/*
 * mu_send.c: muon's counterpart of Qpid Proton's examples/c/send.c.
 *
 * Connects to HOST:PORT, opens a sender to ADDRESS and sends COUNT messages
 * (message-id n, body {"sequence": n}) as fast as credit allows, then waits
 * until every one is accepted and closes. With --presettled the messages go
 * settled (at-most-once) and it closes after the last one; --payload N adds
 * "payload": <N 'x'> to the body. With --tls-ca FILE it connects with
 * amqps:// and verifies the listener's certificate against that CA (see
 * bench_tls_options in bench.h).
 *
 * usage: mu_send HOST PORT ADDRESS COUNT [--payload N] [--presettled] [--tls-ca FILE]
 */
#include "bench.h"

struct app {
    muon_loop *loop;
    muon_connection conn;
    muon_sender snd;
    muon_message *msg;
    const char *payload;
    int count, sent, accepted, presettled, closing;
};


static void finish(struct app *a, const char *what, int n) {
    printf("%d messages %s\n", n, what);
    a->closing = 1;
    CHECK(muon_connection_close(a->conn));
}

static void send_some(struct app *a, muon_sender s) {
    while (a->sent < a->count && muon_sender_credit(s) > 0) {
        bench_fill(a->msg, a->sent + 1, a->payload);
        muon_result rc = muon_sender_send(s, a->msg, NULL);
        if (rc == MUON_RESULT_WRONG_STATE) {
            /* Output backlog full: on_link_flow comes again once it is written. */
            return;
        }
        CHECK(rc);
        ++a->sent;
    }
    if (a->presettled && a->sent == a->count && !a->closing) {
        finish(a, "sent", a->sent);
    }
}

static void on_link_flow(void *ud, const muon_event *ev) {
    struct app *a = ud;
    a->snd = muon_event_sender(ev);
    send_some(a, a->snd);
}

static void on_accepted(void *ud, const muon_event *ev) {
    struct app *a = ud;
    (void)ev;
    if (++a->accepted == a->count) {
        finish(a, "sent and acknowledged", a->accepted);
    }
}

static void on_bad_outcome(void *ud, const muon_event *ev) {
    struct app *a = ud;
    (void)ev;
    fprintf(stderr, "mu_send: a message was not accepted\n");
    muon_connection_close(a->conn);
    exit(1);
}

static void fail(const char *what, const muon_event *ev) {
    const muon_condition *c = muon_event_condition(ev);
    fprintf(stderr, "mu_send: %s: %s: %s\n", what, c ? muon_condition_name(c) : "-",
            c ? muon_condition_description(c) : "");
    exit(1);
}

/* A close or detach with an error condition is a failure; a plain one is
 * the peer answering ours. */
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
        fprintf(stderr,
                "usage: %s HOST PORT ADDRESS COUNT [--payload N] [--presettled] [--tls-ca FILE]\n",
                argv[0]);
        return 2;
    }
    struct app a = {0};
    char url[256];
    bench_url(url, sizeof url, argv[1], argv[2], argc, argv, 5);
    muon_connection_options *co = bench_tls_options(argc, argv, 5);
    a.count = atoi(argv[4]);
    a.payload = bench_payload(atol(bench_opt(argc, argv, 5, "payload", "0")));
    a.presettled = bench_flag(argc, argv, 5, "presettled");
    CHECK(muon_message_new(&a.msg));
    CHECK(muon_loop_new(&a.loop));
    if (!a.msg || !a.loop) return 1;

    muon_handler ch = MUON_HANDLER_INIT;
    ch.on_disconnected = on_disconnected;
    ch.on_connection_remote_close = on_remote_close;
    CHECK(muon_loop_connect(a.loop, url, co, &ch, &a, &a.conn));
    muon_connection_options_free(co);

    muon_handler sh = MUON_HANDLER_INIT;
    sh.on_link_flow = on_link_flow;
    sh.on_accepted = on_accepted;
    sh.on_rejected = on_bad_outcome;
    sh.on_released = on_bad_outcome;
    sh.on_modified = on_bad_outcome;
    sh.on_link_remote_close = on_remote_close;
    muon_link_options *lo;
    CHECK(muon_link_options_new(&lo));
    CHECK(muon_link_options_set_presettled(lo, a.presettled));
    CHECK(muon_connection_open_sender(a.conn, argv[3], lo, &sh, &a, NULL));
    muon_link_options_free(lo);

    muon_result rc = muon_loop_run(a.loop);
    muon_loop_free(a.loop);
    if (rc == MUON_RESULT_OK && !a.presettled && a.accepted < a.count) {
        fprintf(stderr, "mu_send: connection ended with %d of %d messages acknowledged\n",
                a.accepted, a.count);
        rc = MUON_RESULT_CLOSED;
    }
    muon_message_free(a.msg);
    free((void *)a.payload);
    return rc == MUON_RESULT_OK ? 0 : 1;
}
