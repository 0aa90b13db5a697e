/*
 * simple_recv.c: reliable receiving, with reconnect.
 *
 * Receives messages from an address and prints each body, one per line
 * ({'sequence': 1} for simple_send's messages). Each message is accepted
 * when on_message returns. If the connection is lost it reconnects as
 * simple_send does: at once the first time, then after 0.1 s, doubling up
 * to 10 s. It stops after COUNT messages; -m 0 receives until interrupted.
 *
 *   simple_recv [-a URL] [-m COUNT]   URL defaults to localhost:5672/examples,
 *                                     COUNT to 100
 *
 * Prints: each message body, one per line (and a line for each reconnect)
 */
#include "common.h"

struct recv {
    muon_loop *loop;
    const char *host, *address;
    long expected, received;
    muon_connection conn;
    struct backoff backoff;
    bool opened_once, done;
    int exit_code;
};

static void connect_now(struct recv *r);

static void closed(struct recv *r, const char *what, const muon_condition *error) {
    char buf[512];
    if (error != NULL) {
        printf("Closed due to %s\n", condition_text(error, buf, sizeof buf, ""));
        fprintf(stderr, "simple_recv: %s %s: %s\n", what, r->host, buf);
        r->exit_code = 1;
        r->done = true;
    }
    (void)muon_connection_close(r->conn); /* may be closed already */
}

/* The receiver's handler. */
static void on_message(void *app, const muon_event *ev) {
    struct recv *r = app;
    if (r->done) {
        /* Over the count, in flight before the close: give it back. */
        check(muon_delivery_release(muon_event_delivery(ev)), "muon_delivery_release");
        return;
    }
    char text[4096];
    muon_value_format(muon_message_body(muon_event_message(ev)), text, sizeof text);
    printf("%s\n", text);
    fflush(stdout); /* one line at a time, even into a pipe */
    if (++r->received == r->expected) {
        r->done = true;
        check(muon_receiver_close(muon_event_receiver(ev)), "muon_receiver_close");
        check(muon_connection_close(r->conn), "muon_connection_close");
    }
}

/* The connection's handler. */
static void on_connection_remote_open(void *app, const muon_event *ev) {
    struct recv *r = app;
    (void)ev;
    r->opened_once = true;
    backoff_reset(&r->backoff);
    muon_handler h = MUON_HANDLER_INIT;
    h.on_message = on_message;
    check(muon_connection_open_receiver(r->conn, r->address, NULL, &h, r, NULL),
          "muon_connection_open_receiver");
}

static void on_link_remote_close(void *app, const muon_event *ev) {
    closed(app, "link closed by", muon_event_condition(ev));
}

static void on_connection_remote_close(void *app, const muon_event *ev) {
    closed(app, "connection closed by", muon_event_condition(ev));
}

static void on_timer(void *app, const muon_event *ev) {
    (void)ev;
    printf("Reconnecting...\n");
    fflush(stdout);
    connect_now(app);
}

static void on_disconnected(void *app, const muon_event *ev) {
    struct recv *r = app;
    char buf[512];
    const muon_condition *why = muon_event_condition(ev);
    if (r->done) return;
    if (!r->opened_once || is_unauthorized(why)) { /* say why and give up */
        fprintf(stderr, "simple_recv: cannot connect to %s: %s\n", r->host,
                condition_text(why, buf, sizeof buf, "no reason given"));
        r->exit_code = 1;
        return;
    }
    unsigned delay = backoff_next(&r->backoff);
    if (delay == 0) {
        printf("Disconnected, reconnecting...\n");
        connect_now(r);
    } else {
        printf("Disconnected, will try to reconnect after %g seconds\n", delay / 1000.0);
        muon_handler t = MUON_HANDLER_INIT;
        t.on_timer = on_timer;
        check(muon_loop_schedule(r->loop, delay, &t, r, NULL), "muon_loop_schedule");
    }
    fflush(stdout);
}

static void connect_now(struct recv *r) {
    muon_handler h = MUON_HANDLER_INIT;
    h.on_connection_remote_open = on_connection_remote_open;
    h.on_link_remote_close = on_link_remote_close;
    h.on_connection_remote_close = on_connection_remote_close;
    h.on_disconnected = on_disconnected;
    check(muon_loop_connect(r->loop, r->host, NULL, &h, r, &r->conn), "muon_loop_connect");
}

int main(int argc, char **argv) {
    struct options opts;
    parse_options(argc, argv, "[-a URL] [-m COUNT]", 100, &opts);
    if (opts.argc > 0) usage_exit(argv[0], "[-a URL] [-m COUNT]");
    struct recv r = {.host = opts.host, .address = opts.address, .expected = opts.count};
    r.loop = muon_loop_new();
    if (r.loop == NULL) {
        fprintf(stderr, "simple_recv: cannot make an event loop\n");
        return 1;
    }
    connect_now(&r);
    muon_result rc = muon_loop_run(r.loop);
    check(muon_loop_free(r.loop), "muon_loop_free");
    if (rc != MUON_RESULT_OK) {
        fprintf(stderr, "simple_recv: %s\n", muon_result_message(rc));
        return 1;
    }
    if (r.exit_code == 0 && r.expected > 0 && r.received < r.expected) {
        fprintf(stderr, "simple_recv: closed after %ld of %ld messages\n", r.received, r.expected);
        return 1;
    }
    return r.exit_code;
}
