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
    struct reconnecting rc; /* first: the connection's userdata is this struct */
    const char *address;
    long expected, received;
};

/* The receiver's handler. */
static void on_message(void *app, const muon_event *ev) {
    struct recv *r = app;
    if (r->rc.done) {
        /* Over the count, in flight before the close: give it back. */
        check(muon_delivery_release(muon_event_delivery(ev)), "muon_delivery_release");
        return;
    }
    char text[4096];
    muon_value_format(muon_message_body(muon_event_message(ev)), text, sizeof text);
    printf("%s\n", text);
    fflush(stdout); /* one line at a time, even into a pipe */
    if (++r->received == r->expected) {
        r->rc.done = true;
        check(muon_receiver_close(muon_event_receiver(ev)), "muon_receiver_close");
        check(muon_connection_close(r->rc.conn), "muon_connection_close");
    }
}

/* The connection is up (again): open the receiver. */
static void open_receiver(struct reconnecting *rc) {
    struct recv *r = (struct recv *)rc;
    muon_handler h = MUON_HANDLER_INIT;
    h.on_message = on_message;
    check(muon_connection_open_receiver(rc->conn, r->address, NULL, &h, r, NULL),
          "muon_connection_open_receiver");
}

int main(int argc, char **argv) {
    struct options opts;
    parse_options(argc, argv, "[-a URL] [-m COUNT]", 100, &opts);
    if (opts.argc > 0) usage_exit(argv[0], "[-a URL] [-m COUNT]");
    struct recv r = {.rc = {.program = "simple_recv", .host = opts.host, .peer = opts.peer,
                            .on_open = open_receiver},
                     .address = opts.address, .expected = opts.count};
    if (muon_loop_new(&r.rc.loop) != MUON_RESULT_OK) {
        fprintf(stderr, "simple_recv: cannot make an event loop\n");
        return 1;
    }
    reconnect_now(&r.rc);
    muon_result rc = muon_loop_run(r.rc.loop);
    muon_loop_free(r.rc.loop);
    if (rc != MUON_RESULT_OK) {
        fprintf(stderr, "simple_recv: %s\n", muon_result_message(rc));
        return 1;
    }
    if (r.rc.exit_code == 0 && r.expected > 0 && r.received < r.expected) {
        fprintf(stderr, "simple_recv: closed after %ld of %ld messages\n", r.received, r.expected);
        return 1;
    }
    return r.rc.exit_code;
}
