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
    muon_loop *loop;
    const char *host, *address;
    long total, sent, confirmed;
    muon_connection conn;
    muon_sender sender;
    struct backoff backoff;
    bool opened_once, done;
    int exit_code;
};

static void connect_now(struct send *s);

static void closed(struct send *s, const char *what, const muon_condition *error) {
    char buf[512];
    if (error != NULL) {
        printf("Closed due to %s\n", condition_text(error, buf, sizeof buf, ""));
        fprintf(stderr, "simple_send: %s %s: %s\n", what, s->host, buf);
        s->exit_code = 1;
        s->done = true;
    }
    (void)muon_connection_close(s->conn); /* may be closed already */
}

/* The sender's handler. */
static void on_link_flow(void *app, const muon_event *ev) {
    struct send *s = app;
    muon_sender snd = muon_event_sender(ev);
    while (muon_sender_credit(snd) > 0 && s->sent < s->total) {
        long n = s->sent + 1;
        muon_message *m = muon_message_new();
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
        s->done = true;
        check(muon_sender_close(muon_event_sender(ev)), "muon_sender_close");
        check(muon_connection_close(s->conn), "muon_connection_close");
    }
}

/* The connection's handler. */
static void on_connection_remote_open(void *app, const muon_event *ev) {
    struct send *s = app;
    (void)ev;
    s->opened_once = true;
    backoff_reset(&s->backoff);
    s->sent = s->confirmed; /* resume from the last confirmed message */
    muon_handler h = MUON_HANDLER_INIT;
    h.on_link_flow = on_link_flow;
    h.on_accepted = on_accepted;
    check(muon_connection_open_sender(s->conn, s->address, NULL, &h, s, &s->sender),
          "muon_connection_open_sender");
    check(muon_sender_offered(s->sender, (uint32_t)(s->total - s->confirmed)), "muon_sender_offered");
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
    struct send *s = app;
    char buf[512];
    const muon_condition *why = muon_event_condition(ev);
    if (s->done) return;
    if (!s->opened_once || is_unauthorized(why)) { /* say why and give up */
        fprintf(stderr, "simple_send: cannot connect to %s: %s\n", s->host,
                condition_text(why, buf, sizeof buf, "no reason given"));
        s->exit_code = 1;
        return;
    }
    unsigned delay = backoff_next(&s->backoff);
    if (delay == 0) {
        printf("Disconnected, reconnecting...\n");
        connect_now(s);
    } else {
        printf("Disconnected, will try to reconnect after %g seconds\n", delay / 1000.0);
        muon_handler t = MUON_HANDLER_INIT;
        t.on_timer = on_timer;
        check(muon_loop_schedule(s->loop, delay, &t, s, NULL), "muon_loop_schedule");
    }
    fflush(stdout);
}

static void connect_now(struct send *s) {
    muon_handler h = MUON_HANDLER_INIT;
    h.on_connection_remote_open = on_connection_remote_open;
    h.on_link_remote_close = on_link_remote_close;
    h.on_connection_remote_close = on_connection_remote_close;
    h.on_disconnected = on_disconnected;
    check(muon_loop_connect(s->loop, s->host, NULL, &h, s, &s->conn), "muon_loop_connect");
}

int main(int argc, char **argv) {
    struct options opts;
    parse_options(argc, argv, "[-a URL] [-m COUNT]", 100, &opts);
    if (opts.argc > 0) usage_exit(argv[0], "[-a URL] [-m COUNT]");
    struct send s = {.host = opts.host, .address = opts.address, .total = opts.count};
    if (s.total == 0) {
        printf("all messages confirmed\n");
        return 0;
    }
    s.loop = muon_loop_new();
    if (s.loop == NULL) {
        fprintf(stderr, "simple_send: cannot make an event loop\n");
        return 1;
    }
    connect_now(&s);
    muon_result rc = muon_loop_run(s.loop);
    check(muon_loop_free(s.loop), "muon_loop_free");
    if (rc != MUON_RESULT_OK) {
        fprintf(stderr, "simple_send: %s\n", muon_result_message(rc));
        return 1;
    }
    if (s.exit_code == 0 && s.confirmed < s.total) {
        fprintf(stderr, "simple_send: closed after %ld of %ld messages were confirmed\n",
                s.confirmed, s.total);
        return 1;
    }
    return s.exit_code;
}
