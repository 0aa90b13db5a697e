/*
 * simple_send.c: reliable sending, with reconnect.
 *
 * Sends COUNT messages whose body is the map {"sequence": n} (n from 1) and
 * whose message-id is n, only as fast as the receiver's credit allows, and
 * counts the deliveries the peer accepts. If the connection is lost it
 * resumes from the last confirmed message: on_disconnected reconnects at
 * once the first time, then after 0.1 s, 0.2 s, ... up to 10 s (the
 * tutorial's manual pattern, with a timer). Messages sent but not confirmed
 * before a disconnect are sent again, so the receiver may see duplicates.
 *
 *   simple_send [-a URL] [-m COUNT]   URL defaults to localhost:5672/examples,
 *                                     COUNT to 100
 *
 * Prints: all messages confirmed  (and a line for each reconnect)
 */
#include "common.h"

struct send {
    struct reconnecting rc; /* first: the connection's userdata is this struct */
    const char *address;
    long total, sent, confirmed;
    muon_sender sender;
};

/* The sender's handler. */
static void on_link_flow(void *app, const muon_event *ev) {
    struct send *s = app;
    muon_sender snd = muon_event_sender(ev);
    while (muon_sender_credit(snd) > 0 && s->sent < s->total) {
        long n = s->sent + 1;
        muon_message *m = NULL;
        check(muon_message_new(&m), "muon_message_new");
        muon_value *id, *body, *key, *seq;
        check(muon_value_ulong((uint64_t)n, &id), "muon_value_ulong");
        check(muon_message_set_id(m, id), "muon_message_set_id"); /* id moves in */
        check(muon_value_map_new(&body), "muon_value_map_new");
        check(muon_value_string("sequence", &key), "muon_value_string");
        check(muon_value_long(n, &seq), "muon_value_long");
        check(muon_value_map_put(body, key, seq), "muon_value_map_put");
        check(muon_message_set_body(m, body), "muon_message_set_body");
        check(muon_sender_send(snd, m, NULL), "muon_sender_send");
        muon_message_free(m);
        s->sent = n;
    }
}

static void on_accepted(void *app, const muon_event *ev) {
    struct send *s = app;
    if (++s->confirmed == s->total) {
        printf("all messages confirmed\n");
        s->rc.done = true;
        check(muon_sender_close(muon_event_sender(ev)), "muon_sender_close");
        check(muon_connection_close(s->rc.conn), "muon_connection_close");
    }
}

/* The connection is up (again): open the sender and resume from the last
 * confirmed message. */
static void open_sender(struct reconnecting *rc) {
    struct send *s = (struct send *)rc;
    s->sent = s->confirmed;
    muon_handler h = MUON_HANDLER_INIT;
    h.on_link_flow = on_link_flow;
    h.on_accepted = on_accepted;
    check(muon_connection_open_sender(rc->conn, s->address, NULL, &h, s, &s->sender),
          "muon_connection_open_sender");
    check(muon_sender_offered(s->sender, (uint32_t)(s->total - s->confirmed)), "muon_sender_offered");
}

int main(int argc, char **argv) {
    struct options opts;
    parse_options(argc, argv, "[-a URL] [-m COUNT]", 100, &opts);
    if (opts.argc > 0) usage_exit(argv[0], "[-a URL] [-m COUNT]");
    struct send s = {.rc = {.program = "simple_send", .host = opts.host, .peer = opts.peer,
                            .on_open = open_sender},
                     .address = opts.address, .total = opts.count};
    if (s.total == 0) {
        printf("all messages confirmed\n");
        return 0;
    }
    if (muon_loop_new(&s.rc.loop) != MUON_RESULT_OK) {
        fprintf(stderr, "simple_send: cannot make an event loop\n");
        return 1;
    }
    reconnect_now(&s.rc);
    muon_result rc = muon_loop_run(s.rc.loop);
    muon_loop_free(s.rc.loop);
    if (rc != MUON_RESULT_OK) {
        fprintf(stderr, "simple_send: %s\n", muon_result_message(rc));
        return 1;
    }
    if (s.rc.exit_code == 0 && s.confirmed < s.total) {
        fprintf(stderr, "simple_send: closed after %ld of %ld messages were confirmed\n",
                s.confirmed, s.total);
        return 1;
    }
    return s.rc.exit_code;
}
