/* Stale handles: after an object's final event every call on its handle
 * returns MUON_RESULT_STALE_HANDLE and every getter its default; after the
 * built-in reconnect, the old link handles are stale and the new links
 * have new handles, while the connection handle lives on. */
#define _POSIX_C_SOURCE 200809L
#include "api_check.h"

/* ---- part 1: one loop, a listener and a client ---------------------------- */

struct one {
    muon_loop *loop;
    muon_listener lis;
    muon_connection conn, server_conn;
    muon_sender snd;
    muon_receiver rcv;
    muon_delivery sent, got;
    muon_timer timer;
    int timers, conn_finals, link_finals;
    int settled;
};

static void check_stale_sender(muon_sender s) {
    muon_message *m = NULL;
    OK(muon_message_new(&m));
    muon_delivery d = {0};
    CHECK_RC(muon_sender_send(s, m, &d), MUON_RESULT_STALE_HANDLE);
    CHECK(IS_NULL_HANDLE(d));
    muon_message_free(m);
    CHECK(muon_sender_credit(s) == 0);
    CHECK_RC(muon_sender_close(s), MUON_RESULT_STALE_HANDLE);
    CHECK_RC(muon_sender_offered(s, 1), MUON_RESULT_STALE_HANDLE);
    CHECK_RC(muon_sender_set_handler(s, NULL, NULL), MUON_RESULT_STALE_HANDLE);
    CHECK(muon_sender_name(s) == NULL);
    CHECK(muon_sender_remote_target(s) == NULL);
    CHECK(IS_NULL_HANDLE(muon_sender_connection(s)));
}

static void check_stale_receiver(muon_receiver r) {
    CHECK_RC(muon_receiver_flow(r, 1), MUON_RESULT_STALE_HANDLE);
    CHECK_RC(muon_receiver_close(r), MUON_RESULT_STALE_HANDLE);
    CHECK_RC(muon_receiver_answer_open(r), MUON_RESULT_STALE_HANDLE);
    CHECK(muon_receiver_credit(r) == 0);
    CHECK(muon_receiver_name(r) == NULL);
    CHECK(muon_receiver_remote_source_address(r) == NULL);
    CHECK(IS_NULL_HANDLE(muon_receiver_connection(r)));
}

static void check_stale_delivery(muon_delivery d) {
    CHECK_RC(muon_delivery_accept(d), MUON_RESULT_STALE_HANDLE);
    CHECK_RC(muon_delivery_settle(d), MUON_RESULT_STALE_HANDLE);
    CHECK(muon_delivery_remote_state(d) == MUON_DELIVERY_STATE_NONE);
    CHECK(muon_delivery_tag(d, NULL, 0) == 0);
}

static void check_stale_connection(muon_connection c) {
    CHECK_RC(muon_connection_close(c), MUON_RESULT_STALE_HANDLE);
    CHECK_RC(muon_connection_open_sender(c, "q", NULL, NULL, NULL, NULL), MUON_RESULT_STALE_HANDLE);
    CHECK_RC(muon_connection_set_handler(c, NULL, NULL), MUON_RESULT_STALE_HANDLE);
    CHECK(!muon_connection_is_open(c));
    CHECK(muon_connection_remote_container_id(c) == NULL);
    CHECK(muon_connection_remote_condition(c) == NULL);
}

static void one_timer(void *ud, const muon_event *ev) {
    struct one *o = ud;
    o->timers++;
    CHECK(SAME(muon_event_timer(ev), o->timer));
    /* A timer is stale once it fired. */
    CHECK_RC(muon_timer_cancel(o->timer), MUON_RESULT_STALE_HANDLE);
}

static void one_accepted(void *ud, const muon_event *ev) {
    struct one *o = ud;
    o->server_conn = muon_event_connection(ev);
}

static void one_flow(void *ud, const muon_event *ev) {
    struct one *o = ud;
    if (!SAME(muon_event_sender(ev), o->snd) || !IS_NULL_HANDLE(o->sent))
        return;
    muon_message *m = NULL;
    OK(muon_message_new(&m));
    OK(muon_message_set_body_string(m, "stale?"));
    OK(muon_sender_send(o->snd, m, &o->sent));
    muon_message_free(m);
    CHECK(!IS_NULL_HANDLE(o->sent));
}

static void one_message(void *ud, const muon_event *ev) {
    struct one *o = ud;
    /* On the server's side; valid during the callback. */
    o->got = muon_event_delivery(ev);
    CHECK(muon_delivery_tag(o->got, NULL, 0) > 0);
}

static void one_settled(void *ud, const muon_event *ev) {
    struct one *o = ud;
    CHECK(SAME(muon_event_delivery(ev), o->sent));
    /* Still valid in its on_settled; auto-settle settles it right after. */
    CHECK(muon_delivery_remote_state(o->sent) == MUON_DELIVERY_STATE_ACCEPTED);
    /* The server auto-accepted and settled its side: stale there. */
    check_stale_delivery(o->got);
    o->settled++;
    OK(muon_connection_close(o->conn));
}

static void one_link_final(void *ud, const muon_event *ev) {
    (void)ev;
    struct one *o = ud;
    o->link_finals++;
}

static void one_conn_final(void *ud, const muon_event *ev) {
    struct one *o = ud;
    o->conn_finals++;
    if (SAME(muon_event_connection(ev), o->conn)) {
        /* Its links had their final events before it. */
        check_stale_sender(o->snd);
        check_stale_receiver(o->rcv);
        check_stale_delivery(o->sent);
        /* Closing it again in its own final callback is harmless. */
        OK(muon_connection_close(o->conn));
        OK(muon_listener_close(o->lis));
    }
}

static void part_one(void) {
    struct one o;
    memset(&o, 0, sizeof o);
    OK(muon_loop_new(&o.loop));
    muon_handler h = MUON_HANDLER_INIT;
    h.on_timer = one_timer;
    h.on_connection_accepted = one_accepted;
    h.on_link_flow = one_flow;
    h.on_message = one_message;
    h.on_settled = one_settled;
    h.on_link_final = one_link_final;
    h.on_connection_final = one_conn_final;
    OK(muon_loop_set_handler(o.loop, &h, &o));
    /* No table: the default handler's on_timer, with this userdata. */
    OK(muon_loop_schedule(o.loop, 1, NULL, &o, &o.timer));
    OK(muon_loop_listen(o.loop, "127.0.0.1:0", NULL, NULL, NULL, &o.lis));
    char url[64];
    snprintf(url, sizeof url, "127.0.0.1:%u", (unsigned)muon_listener_port(o.lis));
    OK(muon_loop_connect(o.loop, url, NULL, NULL, NULL, &o.conn));
    OK(muon_connection_open_sender(o.conn, "q", NULL, NULL, NULL, &o.snd));
    OK(muon_connection_open_receiver(o.conn, "q", NULL, NULL, NULL, &o.rcv));
    OK(muon_loop_run(o.loop));

    CHECK(o.timers == 1);
    CHECK(o.settled == 1);
    CHECK(o.conn_finals == 2);
    CHECK(o.link_finals == 4);
    check_stale_connection(o.conn);
    check_stale_connection(o.server_conn);
    check_stale_sender(o.snd);
    check_stale_receiver(o.rcv);
    check_stale_delivery(o.sent);
    check_stale_delivery(o.got);
    CHECK_RC(muon_listener_close(o.lis), MUON_RESULT_STALE_HANDLE);
    CHECK(muon_listener_port(o.lis) == 0);
    CHECK_RC(muon_timer_cancel(o.timer), MUON_RESULT_STALE_HANDLE);
    muon_loop_free(o.loop);
}

/* ---- part 2: reconnect, with the server on a second loop ---------------- */

struct two {
    muon_loop *client;
    muon_connection conn;
    muon_receiver r1, r2;
    int opened, link_finals, disconnects, reconnects, finals;
    int order; /* 1 once on_reconnected came, 2 once r2 opened after it */
    int userdata_frees;
};

static void two_link_open(void *ud, const muon_event *ev) {
    struct two *t = ud;
    muon_receiver r = muon_event_receiver(ev);
    CHECK(!IS_NULL_HANDLE(r));
    t->opened++;
    if (t->opened == 1) {
        CHECK(SAME(r, t->r1));
    } else {
        CHECK(!SAME(r, t->r1));
        CHECK(t->order == 1);
        t->order = 2;
        t->r2 = r;
    }
}

static void two_link_final(void *ud, const muon_event *ev) {
    struct two *t = ud;
    muon_receiver r = muon_event_receiver(ev);
    if (SAME(r, t->r2))
        return; /* at the end */
    /* Failed attempts make no links: only r1 ends, before the disconnect. */
    CHECK(SAME(r, t->r1));
    CHECK(t->disconnects == 0);
    t->link_finals++;
}

static void two_disconnected(void *ud, const muon_event *ev) {
    struct two *t = ud;
    CHECK(SAME(muon_event_connection(ev), t->conn));
    CHECK(muon_event_condition(ev) != NULL);
    CHECK_STR(muon_condition_name(muon_event_condition(ev)), "amqp:connection:forced");
    CHECK(t->link_finals == 1);
    check_stale_receiver(t->r1);
    /* The connection lives on, between transports. */
    CHECK(!muon_connection_is_connected(t->conn));
    CHECK(!muon_connection_is_open(t->conn));
    CHECK_RC(muon_connection_open_receiver(t->conn, "other", NULL, NULL, NULL, NULL),
             MUON_RESULT_CLOSED);
    t->disconnects++;
}

static void two_reconnected(void *ud, const muon_event *ev) {
    struct two *t = ud;
    CHECK(SAME(muon_event_connection(ev), t->conn));
    CHECK(muon_connection_is_connected(t->conn));
    t->reconnects++;
    t->order = 1;
}

static void two_final(void *ud, const muon_event *ev) {
    struct two *t = ud;
    CHECK(SAME(muon_event_connection(ev), t->conn));
    t->finals++;
}

static void two_free(void *ud) {
    struct two *t = ud;
    t->userdata_frees++;
}

static void drive(muon_loop *a, muon_loop *b) {
    if (a)
        OK(muon_loop_run_once(a, 5));
    if (b)
        OK(muon_loop_run_once(b, 5));
}

static void part_two(void) {
    struct two t;
    memset(&t, 0, sizeof t);
    muon_loop *server = NULL;
    OK(muon_loop_new(&server));
    muon_listener lis;
    OK(muon_loop_listen(server, "127.0.0.1:0", NULL, NULL, NULL, &lis));
    unsigned port = muon_listener_port(lis);
    char url[64];
    snprintf(url, sizeof url, "127.0.0.1:%u", port);

    OK(muon_loop_new(&t.client));
    muon_connection_options *co;
    OK(muon_connection_options_new(&co));
    OK(muon_connection_options_set_reconnect(co, 20, 80, 0));
    muon_handler ch = MUON_HANDLER_INIT;
    ch.on_disconnected = two_disconnected;
    ch.on_reconnected = two_reconnected;
    ch.on_connection_final = two_final;
    OK(muon_loop_connect(t.client, url, co, &ch, &t, &t.conn));
    muon_connection_options_free(co);
    muon_handler lh = MUON_HANDLER_INIT;
    lh.on_link_remote_open = two_link_open;
    lh.on_link_final = two_link_final;
    lh.userdata_free = two_free;
    OK(muon_connection_open_receiver(t.conn, "q", NULL, &lh, &t, &t.r1));

    while (t.opened < 1)
        drive(server, t.client);
    CHECK(muon_receiver_credit(t.r1) == 10);

    /* The server goes away without a close: its sockets just shut. */
    muon_loop_free(server);
    while (t.disconnects < 3)
        drive(NULL, t.client);
    CHECK(t.reconnects == 0);
    CHECK(t.userdata_frees == 0); /* the handler moves to the new link */

    /* It comes back on the same port. */
    OK(muon_loop_new(&server));
    OK(muon_loop_listen(server, url, NULL, NULL, NULL, NULL));
    while (t.order < 2)
        drive(server, t.client);
    CHECK(t.reconnects == 1);
    CHECK(t.opened == 2);
    check_stale_receiver(t.r1);
    OK(muon_receiver_flow(t.r2, 5));
    CHECK(muon_receiver_credit(t.r2) == 5);
    CHECK(SAME(muon_receiver_connection(t.r2), t.conn));
    CHECK(muon_connection_is_open(t.conn));

    OK(muon_connection_close(t.conn));
    while (t.finals < 1)
        drive(server, t.client);
    check_stale_connection(t.conn);
    check_stale_receiver(t.r2);
    CHECK(t.userdata_frees == 1);
    muon_loop_free(t.client);
    muon_loop_free(server);
    CHECK(t.userdata_frees == 1);
}

int main(void) {
    alarm(WATCHDOG_S);
    part_one();
    part_two();
    puts("api_stale: ok");
    return 0;
}
