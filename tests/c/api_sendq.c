/* The sender's queue, outcomes after a close, condition info maps, abort,
 * and where a connection's failure is reported. Every peer is a muon
 * listener in the same loop, over loopback TCP. Each phase runs its own
 * loop to the end:
 *   1. 10,000 messages sent at once, before the attach, to a receiver with
 *      a credit window of 10 and a queue bound of 10,000: all arrive, in
 *      order, and each delivery handle gets its own outcome.
 *   2. Bound 100: the 101st send is MUON_RESULT_QUEUE_FULL with 100
 *      queued; a queued delivery cannot be settled yet; a message sent in
 *      on_link_flow goes out after the queued ones.
 *   3. No credit ever: closing the senders hands every queued message
 *      back (on_released with muon:not-sent and the message, on_settled)
 *      before on_link_final, pre-settled ones too; bound 0 refuses with
 *      MUON_RESULT_WRONG_STATE before the attach, MUON_RESULT_NO_CREDIT
 *      after.
 *   4. Outcomes after close: a sender closed right after sending, and a
 *      connection closed right after sending, still get every outcome.
 *   5. Condition info maps over the wire: a sender, a receiver and a
 *      connection closed with an info map; bad info maps refused.
 *   6. Abort: the peer sees a transport drop (on_disconnected,
 *      amqp:connection:forced), not a close; the aborting side gets no
 *      on_disconnected and no reconnect, and its queued message back.
 *   7. Reconnect keeps the queue: the peer drops the first transport; the
 *      queued messages go out on the re-attached link, with the same
 *      delivery handles.
 *   8. Reconnect given up (the application closes between attempts): the
 *      queue is handed back before on_connection_final.
 *   9. One report of a failure: a failed login and a peer that drops the
 *      connection during our close are each reported once, by
 *      on_disconnected.
 *  10. Sending while muon_sender_credit is above 0, past the engine's
 *      output bound (64 MiB): the rest waits in the queue, the credit
 *      counts it, so the loop ends after the credit, with no error; all
 *      arrive in order. */
#define _POSIX_C_SOURCE 200809L
#include "api_check.h"

/* ---- helpers -------------------------------------------------------------- */

static muon_message *int_message(int32_t n) {
    muon_message *m;
    OK(muon_message_new(&m));
    muon_value *v;
    OK(muon_value_int(n, &v));
    OK(muon_message_set_body(m, v));
    return m;
}

static muon_message *text_message(const char *text) {
    muon_message *m;
    OK(muon_message_new(&m));
    OK(muon_message_set_body_string(m, text));
    return m;
}

static int32_t body_int(const muon_event *ev) {
    int32_t n = -1;
    OK(muon_value_get_int(muon_message_body(muon_event_message(ev)), &n));
    return n;
}

static void body_text(const muon_event *ev, char *buf, size_t cap) {
    muon_value_format(muon_message_body(muon_event_message(ev)), buf, cap);
}

static muon_connection connect_to(muon_loop *loop, muon_listener l, const char *user,
                                  const muon_connection_options *opts,
                                  const muon_handler *h, void *ud) {
    char url[128];
    snprintf(url, sizeof url, "amqp://%s127.0.0.1:%u", user ? user : "",
             (unsigned)muon_listener_port(l));
    muon_connection c;
    OK(muon_loop_connect(loop, url, opts, h, ud, &c));
    return c;
}

static muon_sender open_sender(muon_connection c, uint32_t max_queued, bool presettled,
                               const muon_handler *h, void *ud) {
    muon_link_options *lo;
    OK(muon_link_options_new(&lo));
    OK(muon_link_options_set_max_queued(lo, max_queued));
    OK(muon_link_options_set_presettled(lo, presettled));
    muon_sender s;
    OK(muon_connection_open_sender(c, "q", lo, h, ud, &s));
    muon_link_options_free(lo);
    return s;
}

static bool is_not_sent(const muon_event *ev) {
    const muon_condition *c = muon_event_condition(ev);
    return c != NULL && strcmp(muon_condition_name(c), "muon:not-sent") == 0;
}

/* Server side for phases with no credit: the peer's senders get none. */
static void no_credit_attach(void *ud, const muon_event *ev) {
    (void)ud;
    if (muon_event_is_receiver(ev)) OK(muon_receiver_set_credit_window(muon_event_receiver(ev), 0));
}

/* ==== 1. 10,000 at once, window 10 ======================================== */

#define N1 10000

static struct {
    muon_loop *loop;
    muon_listener lis;
    muon_connection conn;
    muon_delivery sent[N1];
    int received, accepted, settled, flows;
} P1;

static void p1_message(void *ud, const muon_event *ev) {
    (void)ud;
    CHECK(body_int(ev) == P1.received);
    P1.received++;
}

static void p1_flow(void *ud, const muon_event *ev) {
    (void)ud;
    /* Credit is reported only once the queue is empty. */
    CHECK(muon_sender_queued(muon_event_sender(ev)) == 0);
    P1.flows++;
}

static void p1_accepted(void *ud, const muon_event *ev) {
    (void)ud;
    CHECK(P1.accepted < N1);
    CHECK(SAME(muon_event_delivery(ev), P1.sent[P1.accepted]));
    P1.accepted++;
}

static void p1_settled(void *ud, const muon_event *ev) {
    (void)ud;
    CHECK(SAME(muon_event_delivery(ev), P1.sent[P1.settled]));
    if (++P1.settled == N1) {
        OK(muon_connection_close(P1.conn));
        OK(muon_listener_close(P1.lis));
    }
}

static void phase1(void) {
    memset(&P1, 0, sizeof P1);
    OK(muon_loop_new(&P1.loop));
    muon_handler server = MUON_HANDLER_INIT;
    server.on_message = p1_message;
    OK(muon_loop_listen(P1.loop, "127.0.0.1:0", NULL, &server, NULL, &P1.lis));
    P1.conn = connect_to(P1.loop, P1.lis, NULL, NULL, NULL, NULL);
    muon_handler h = MUON_HANDLER_INIT;
    h.on_link_flow = p1_flow;
    h.on_accepted = p1_accepted;
    h.on_settled = p1_settled;
    muon_sender s = open_sender(P1.conn, N1, false, &h, NULL);
    /* Before the attach: everything is queued. */
    for (int i = 0; i < N1; i++) {
        muon_message *m = int_message(i);
        OK(muon_sender_send(s, m, &P1.sent[i]));
        muon_message_free(m);
        CHECK(!IS_NULL_HANDLE(P1.sent[i]));
    }
    CHECK(muon_sender_queued(s) == N1);
    CHECK(muon_sender_credit(s) == 0);
    muon_message *m = int_message(-1);
    CHECK_RC(muon_sender_send(s, m, NULL), MUON_RESULT_QUEUE_FULL);
    muon_message_free(m);
    OK(muon_loop_run(P1.loop));
    CHECK(P1.received == N1);
    CHECK(P1.accepted == N1);
    CHECK(P1.settled == N1);
    muon_loop_free(P1.loop);
}

/* ==== 2. bound 100 ========================================================= */

static struct {
    muon_loop *loop;
    muon_listener lis;
    muon_connection conn;
    int received, accepted, flows;
    bool extra_sent;
} P2;

static void p2_message(void *ud, const muon_event *ev) {
    (void)ud;
    CHECK(body_int(ev) == P2.received);
    P2.received++;
}

static void p2_flow(void *ud, const muon_event *ev) {
    (void)ud;
    muon_sender s = muon_event_sender(ev);
    CHECK(muon_sender_queued(s) == 0);
    if (!P2.extra_sent) {
        /* With credit and an empty queue: straight out, after the 100. */
        P2.extra_sent = true;
        muon_message *m = int_message(100);
        muon_delivery d;
        OK(muon_sender_send(s, m, &d));
        muon_message_free(m);
        CHECK(muon_sender_queued(s) == 0);
        CHECK(!IS_NULL_HANDLE(d));
    }
}

static void p2_accepted(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    if (++P2.accepted == 101) {
        OK(muon_connection_close(P2.conn));
        OK(muon_listener_close(P2.lis));
    }
}

static void phase2(void) {
    memset(&P2, 0, sizeof P2);
    OK(muon_loop_new(&P2.loop));
    muon_handler server = MUON_HANDLER_INIT;
    server.on_message = p2_message;
    OK(muon_loop_listen(P2.loop, "127.0.0.1:0", NULL, &server, NULL, &P2.lis));
    P2.conn = connect_to(P2.loop, P2.lis, NULL, NULL, NULL, NULL);
    muon_handler h = MUON_HANDLER_INIT;
    h.on_link_flow = p2_flow;
    h.on_accepted = p2_accepted;
    muon_sender s = open_sender(P2.conn, 100, false, &h, NULL);
    muon_delivery first = {0};
    for (int i = 0; i < 100; i++) {
        muon_message *m = int_message(i);
        OK(muon_sender_send(s, m, i == 0 ? &first : NULL));
        muon_message_free(m);
    }
    muon_message *m = int_message(-1);
    muon_delivery untouched = {0};
    CHECK_RC(muon_sender_send(s, m, &untouched), MUON_RESULT_QUEUE_FULL);
    CHECK(IS_NULL_HANDLE(untouched));
    muon_message_free(m);
    CHECK(muon_sender_queued(s) == 100);
    /* A queued delivery has no state yet and cannot be settled. */
    CHECK_RC(muon_delivery_settle(first), MUON_RESULT_WRONG_STATE);
    CHECK(muon_delivery_remote_state(first) == MUON_DELIVERY_STATE_NONE);
    CHECK(!muon_delivery_is_remote_settled(first));
    CHECK(muon_delivery_tag(first, NULL, 0) == 0);
    CHECK_STR(muon_result_name(MUON_RESULT_QUEUE_FULL), "MUON_RESULT_QUEUE_FULL");
    OK(muon_loop_run(P2.loop));
    CHECK(P2.received == 101);
    CHECK(P2.accepted == 101);
    muon_loop_free(P2.loop);
}

/* ==== 3. no credit: handed back on close; bound 0 ========================== */

static struct {
    muon_loop *loop;
    muon_listener lis;
    muon_connection conn;
    muon_sender a, b, c;
    muon_delivery a_sent[5];
    int a_released, a_settled, c_released, c_settled, finals, opened;
} P3;

static void p3_open(void *ud, const muon_event *ev) {
    (void)ud;
    muon_sender s = muon_event_sender(ev);
    P3.opened++;
    if (SAME(s, P3.b)) {
        /* Attached, no credit, no queue. */
        muon_message *m = text_message("b");
        CHECK_RC(muon_sender_send(s, m, NULL), MUON_RESULT_NO_CREDIT);
        muon_message_free(m);
        OK(muon_sender_close(s));
        return;
    }
    CHECK(muon_sender_queued(s) == (SAME(s, P3.a) ? 5u : 2u));
    OK(muon_sender_close(s));
    /* Closed: nothing more is taken. */
    muon_message *m = text_message("late");
    CHECK_RC(muon_sender_send(s, m, NULL), MUON_RESULT_CLOSED);
    muon_message_free(m);
}

static void p3_released(void *ud, const muon_event *ev) {
    (void)ud;
    CHECK(is_not_sent(ev));
    char text[32], want[32];
    body_text(ev, text, sizeof text);
    muon_sender s = muon_event_sender(ev);
    if (SAME(s, P3.a)) {
        snprintf(want, sizeof want, "a%d", P3.a_released);
        CHECK_STR(text, want);
        CHECK(SAME(muon_event_delivery(ev), P3.a_sent[P3.a_released]));
        CHECK(P3.a_settled == P3.a_released);
        P3.a_released++;
    } else {
        CHECK(SAME(s, P3.c));
        snprintf(want, sizeof want, "c%d", P3.c_released);
        CHECK_STR(text, want);
        /* Pre-settled: there is no delivery. */
        CHECK(IS_NULL_HANDLE(muon_event_delivery(ev)));
        P3.c_released++;
    }
}

static void p3_settled(void *ud, const muon_event *ev) {
    (void)ud;
    muon_sender s = muon_event_sender(ev);
    if (SAME(s, P3.a)) {
        CHECK(SAME(muon_event_delivery(ev), P3.a_sent[P3.a_settled]));
        P3.a_settled++;
    } else {
        P3.c_settled++;
    }
}

static void p3_final(void *ud, const muon_event *ev) {
    (void)ud;
    muon_sender s = muon_event_sender(ev);
    if (SAME(s, P3.a)) {
        CHECK(P3.a_released == 5 && P3.a_settled == 5);
    } else if (SAME(s, P3.c)) {
        CHECK(P3.c_released == 2);
    }
    if (++P3.finals == 3) {
        OK(muon_connection_close(P3.conn));
        OK(muon_listener_close(P3.lis));
    }
}

static void phase3(void) {
    memset(&P3, 0, sizeof P3);
    OK(muon_loop_new(&P3.loop));
    muon_handler server = MUON_HANDLER_INIT;
    server.on_link_remote_attach = no_credit_attach;
    OK(muon_loop_listen(P3.loop, "127.0.0.1:0", NULL, &server, NULL, &P3.lis));
    P3.conn = connect_to(P3.loop, P3.lis, NULL, NULL, NULL, NULL);
    muon_handler h = MUON_HANDLER_INIT;
    h.on_link_remote_open = p3_open;
    h.on_released = p3_released;
    h.on_settled = p3_settled;
    h.on_link_final = p3_final;
    P3.a = open_sender(P3.conn, 1024, false, &h, NULL);
    P3.b = open_sender(P3.conn, 0, false, &h, NULL);
    P3.c = open_sender(P3.conn, 1024, true, &h, NULL);
    char text[16];
    for (int i = 0; i < 5; i++) {
        snprintf(text, sizeof text, "a%d", i);
        muon_message *m = text_message(text);
        OK(muon_sender_send(P3.a, m, &P3.a_sent[i]));
        muon_message_free(m);
    }
    for (int i = 0; i < 2; i++) {
        snprintf(text, sizeof text, "c%d", i);
        muon_message *m = text_message(text);
        muon_delivery d;
        OK(muon_sender_send(P3.c, m, &d));
        CHECK(IS_NULL_HANDLE(d));
        muon_message_free(m);
    }
    /* Bound 0, before the attach. */
    muon_message *m = text_message("b");
    CHECK_RC(muon_sender_send(P3.b, m, NULL), MUON_RESULT_WRONG_STATE);
    muon_message_free(m);
    CHECK(muon_sender_queued(P3.b) == 0);
    OK(muon_loop_run(P3.loop));
    CHECK(P3.opened == 3);
    CHECK(P3.a_released == 5 && P3.a_settled == 5);
    CHECK(P3.c_released == 2 && P3.c_settled == 0);
    muon_loop_free(P3.loop);
}

/* ==== 4. outcomes after close ============================================== */

static struct {
    muon_loop *loop;
    muon_listener lis;
    muon_connection c1, c2;
    int accepted1, settled1, accepted2, settled2, conn_finals;
    bool sent1, sent2, link_final1;
} P4;

static void p4_flow(void *ud, const muon_event *ev) {
    (void)ud;
    muon_sender s = muon_event_sender(ev);
    bool first = SAME(muon_event_connection(ev), P4.c1);
    bool *sent = first ? &P4.sent1 : &P4.sent2;
    if (*sent) return;
    *sent = true;
    for (int i = 0; i < 5; i++) {
        muon_message *m = int_message(i);
        OK(muon_sender_send(s, m, NULL));
        muon_message_free(m);
    }
    if (first) {
        OK(muon_sender_close(s));
    } else {
        OK(muon_connection_close(P4.c2));
    }
}

static void p4_accepted(void *ud, const muon_event *ev) {
    (void)ud;
    if (SAME(muon_event_connection(ev), P4.c1)) {
        CHECK(!P4.link_final1);
        P4.accepted1++;
    } else {
        P4.accepted2++;
    }
}

static void p4_settled(void *ud, const muon_event *ev) {
    (void)ud;
    if (SAME(muon_event_connection(ev), P4.c1))
        P4.settled1++;
    else
        P4.settled2++;
}

static void p4_link_final(void *ud, const muon_event *ev) {
    (void)ud;
    if (!SAME(muon_event_connection(ev), P4.c1)) return;
    P4.link_final1 = true;
    CHECK(P4.accepted1 == 5 && P4.settled1 == 5);
    OK(muon_connection_close(P4.c1));
}

static void p4_conn_final(void *ud, const muon_event *ev) {
    (void)ud;
    if (SAME(muon_event_connection(ev), P4.c2)) {
        CHECK(P4.accepted2 == 5 && P4.settled2 == 5);
    }
    if (++P4.conn_finals == 2) OK(muon_listener_close(P4.lis));
}

static void phase4(void) {
    memset(&P4, 0, sizeof P4);
    OK(muon_loop_new(&P4.loop));
    OK(muon_loop_listen(P4.loop, "127.0.0.1:0", NULL, NULL, NULL, &P4.lis));
    muon_handler ch = MUON_HANDLER_INIT;
    ch.on_connection_final = p4_conn_final;
    P4.c1 = connect_to(P4.loop, P4.lis, NULL, NULL, &ch, NULL);
    P4.c2 = connect_to(P4.loop, P4.lis, NULL, NULL, &ch, NULL);
    muon_handler h = MUON_HANDLER_INIT;
    h.on_link_flow = p4_flow;
    h.on_accepted = p4_accepted;
    h.on_settled = p4_settled;
    h.on_link_final = p4_link_final;
    open_sender(P4.c1, 1024, false, &h, NULL);
    open_sender(P4.c2, 1024, false, &h, NULL);
    OK(muon_loop_run(P4.loop));
    CHECK(P4.accepted1 == 5 && P4.settled1 == 5);
    CHECK(P4.accepted2 == 5 && P4.settled2 == 5);
    CHECK(P4.conn_finals == 2);
    muon_loop_free(P4.loop);
}

/* ==== 5. condition info maps =============================================== */

static struct {
    muon_loop *loop;
    muon_listener lis;
    muon_connection conn;
    muon_sender snd;
    muon_receiver rcv;
    int link_closes, redirected;
} P5;

static muon_value *info_map(const char *text, int32_t n) {
    muon_value *map, *k1, *v1, *k2, *v2;
    OK(muon_value_map_new(&map));
    OK(muon_value_symbol("reason", &k1));
    OK(muon_value_string(text, &v1));
    OK(muon_value_map_put(map, k1, v1));
    OK(muon_value_symbol("attempt", &k2));
    OK(muon_value_int(n, &v2));
    OK(muon_value_map_put(map, k2, v2));
    return map;
}

static void check_info(const muon_condition *cond, const char *text, int32_t n) {
    const muon_value *info = muon_condition_info(cond);
    CHECK(info != NULL);
    CHECK(muon_value_type(info) == MUON_TYPE_MAP);
    muon_bytes b;
    OK(muon_value_get_string(muon_value_map_get_symbol_key(info, "reason"), &b));
    CHECK(b.len == strlen(text) && memcmp(b.ptr, text, b.len) == 0);
    int32_t got = 0;
    OK(muon_value_get_int(muon_value_map_get_symbol_key(info, "attempt"), &got));
    CHECK(got == n);
}

/* Server: both links come back closed with their info maps; then the
 * server closes the connection with a redirect and its info. */
static void p5_server_link_close(void *ud, const muon_event *ev) {
    (void)ud;
    const muon_condition *cond = muon_event_condition(ev);
    CHECK(cond != NULL);
    if (muon_event_is_receiver(ev)) {
        /* The client's sender. */
        CHECK_STR(muon_condition_name(cond), "muon:test-sender");
        CHECK_STR(muon_condition_description(cond), "sender bye");
        check_info(cond, "sender", 1);
    } else {
        CHECK_STR(muon_condition_name(cond), "muon:test-receiver");
        check_info(cond, "receiver", 2);
    }
    if (++P5.link_closes == 2) {
        muon_value *info, *k1, *v1, *k2, *v2;
        OK(muon_value_map_new(&info));
        OK(muon_value_symbol("hostname", &k1));
        OK(muon_value_string("elsewhere.example", &v1));
        OK(muon_value_map_put(info, k1, v1));
        OK(muon_value_symbol("port", &k2));
        OK(muon_value_int(5673, &v2));
        OK(muon_value_map_put(info, k2, v2));
        muon_connection c = muon_event_connection(ev);
        OK(muon_connection_close_with_info(c, "amqp:connection:redirect", "go there", info));
        muon_value_free(info); /* borrowed, copied */
        const muon_condition *mine = muon_connection_local_condition(c);
        CHECK_STR(muon_condition_name(mine), "amqp:connection:redirect");
        CHECK(muon_condition_info(mine) != NULL);
    }
}

static void p5_client_remote_close(void *ud, const muon_event *ev) {
    (void)ud;
    const muon_condition *cond = muon_event_condition(ev);
    CHECK_STR(muon_condition_name(cond), "amqp:connection:redirect");
    CHECK_STR(muon_condition_description(cond), "go there");
    const muon_value *info = muon_condition_info(cond);
    CHECK(info != NULL);
    char text[128];
    muon_value_format(muon_value_map_get_symbol_key(info, "hostname"), text, sizeof text);
    CHECK_STR(text, "elsewhere.example");
    int32_t port = 0;
    OK(muon_value_get_int(muon_value_map_get_symbol_key(info, "port"), &port));
    CHECK(port == 5673);
    /* The same through the connection's getter. */
    const muon_condition *again = muon_connection_remote_condition(P5.conn);
    CHECK(muon_value_map_get_symbol_key(muon_condition_info(again), "port") != NULL);
    P5.redirected++;
    OK(muon_listener_close(P5.lis));
}

static void p5_client_link_open(void *ud, const muon_event *ev) {
    (void)ud;
    if (muon_event_is_receiver(ev)) {
        muon_value *info = info_map("receiver", 2);
        OK(muon_receiver_close_with_info(P5.rcv, "muon:test-receiver", NULL, info));
        muon_value_free(info);
        return;
    }
    /* Info must be a map with symbol keys. */
    muon_value *list, *map, *k, *v;
    OK(muon_value_list_new(&list));
    CHECK_RC(muon_sender_close_with_info(P5.snd, "muon:x", NULL, list), MUON_RESULT_INVALID_ARGUMENT);
    muon_value_free(list);
    OK(muon_value_map_new(&map));
    OK(muon_value_string("not a symbol", &k));
    OK(muon_value_int(1, &v));
    OK(muon_value_map_put(map, k, v));
    CHECK_RC(muon_sender_close_with_info(P5.snd, "muon:x", NULL, map), MUON_RESULT_INVALID_ARGUMENT);
    CHECK_RC(muon_connection_close_with_info(P5.conn, "muon:x", NULL, map),
             MUON_RESULT_INVALID_ARGUMENT);
    muon_value_free(map);
    muon_value *info = info_map("sender", 1);
    OK(muon_sender_close_with_info(P5.snd, "muon:test-sender", "sender bye", info));
    muon_value_free(info);
    const muon_condition *mine = muon_sender_local_condition(P5.snd);
    CHECK_STR(muon_condition_name(mine), "muon:test-sender");
    check_info(mine, "sender", 1);
}

static void phase5(void) {
    memset(&P5, 0, sizeof P5);
    OK(muon_loop_new(&P5.loop));
    muon_handler server = MUON_HANDLER_INIT;
    server.on_link_remote_close = p5_server_link_close;
    OK(muon_loop_listen(P5.loop, "127.0.0.1:0", NULL, &server, NULL, &P5.lis));
    muon_handler ch = MUON_HANDLER_INIT;
    ch.on_connection_remote_close = p5_client_remote_close;
    ch.on_link_remote_open = p5_client_link_open;
    P5.conn = connect_to(P5.loop, P5.lis, NULL, NULL, &ch, NULL);
    OK(muon_connection_open_sender(P5.conn, "q", NULL, NULL, NULL, &P5.snd));
    OK(muon_connection_open_receiver(P5.conn, "q", NULL, NULL, NULL, &P5.rcv));
    /* No info: the plain condition. */
    CHECK(muon_condition_info(NULL) == NULL);
    OK(muon_loop_run(P5.loop));
    CHECK(P5.link_closes == 2);
    CHECK(P5.redirected == 1);
    muon_loop_free(P5.loop);
}

/* ==== 6. abort ============================================================== */

static struct {
    muon_loop *loop;
    muon_listener lis;
    muon_connection conn;
    muon_delivery queued;
    int released, settled, link_finals, disconnected, reconnected, client_final;
    int server_disconnected, server_remote_close, server_final;
    char server_why[64];
} P6;

static void p6_maybe_done(void) {
    if (P6.client_final && P6.server_final) OK(muon_listener_close(P6.lis));
}

static void p6_server_disconnected(void *ud, const muon_event *ev) {
    (void)ud;
    P6.server_disconnected++;
    snprintf(P6.server_why, sizeof P6.server_why, "%s",
             muon_condition_name(muon_event_condition(ev)));
}

static void p6_server_remote_close(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    P6.server_remote_close++;
}

static void p6_server_final(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    P6.server_final++;
    p6_maybe_done();
}

static void p6_link_open(void *ud, const muon_event *ev) {
    (void)ud;
    CHECK(muon_sender_queued(muon_event_sender(ev)) == 1);
    OK(muon_connection_abort(P6.conn));
    OK(muon_connection_abort(P6.conn)); /* twice: no error */
}

static void p6_released(void *ud, const muon_event *ev) {
    (void)ud;
    CHECK(is_not_sent(ev));
    CHECK(SAME(muon_event_delivery(ev), P6.queued));
    CHECK(P6.link_finals == 0);
    P6.released++;
}

static void p6_settled(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    P6.settled++;
}

static void p6_link_final(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    P6.link_finals++;
}

static void p6_disconnected(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    P6.disconnected++;
}

static void p6_reconnected(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    P6.reconnected++;
}

static void p6_final(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    P6.client_final++;
    p6_maybe_done();
}

static void phase6(void) {
    memset(&P6, 0, sizeof P6);
    OK(muon_loop_new(&P6.loop));
    muon_handler server = MUON_HANDLER_INIT;
    server.on_link_remote_attach = no_credit_attach;
    server.on_disconnected = p6_server_disconnected;
    server.on_connection_remote_close = p6_server_remote_close;
    server.on_connection_final = p6_server_final;
    OK(muon_loop_listen(P6.loop, "127.0.0.1:0", NULL, &server, NULL, &P6.lis));
    muon_connection_options *opts;
    OK(muon_connection_options_new(&opts));
    OK(muon_connection_options_set_reconnect(opts, 20, 50, 0));
    muon_handler ch = MUON_HANDLER_INIT;
    ch.on_disconnected = p6_disconnected;
    ch.on_reconnected = p6_reconnected;
    ch.on_connection_final = p6_final;
    P6.conn = connect_to(P6.loop, P6.lis, NULL, opts, &ch, NULL);
    muon_connection_options_free(opts);
    muon_handler h = MUON_HANDLER_INIT;
    h.on_link_remote_open = p6_link_open;
    h.on_released = p6_released;
    h.on_settled = p6_settled;
    h.on_link_final = p6_link_final;
    muon_sender s = open_sender(P6.conn, 1024, false, &h, NULL);
    muon_message *m = text_message("never sent");
    OK(muon_sender_send(s, m, &P6.queued));
    muon_message_free(m);
    OK(muon_loop_run(P6.loop));
    CHECK(P6.released == 1 && P6.settled == 1 && P6.link_finals == 1);
    CHECK(P6.disconnected == 0);
    CHECK(P6.reconnected == 0);
    CHECK(P6.client_final == 1);
    CHECK(P6.server_disconnected == 1);
    CHECK_STR(P6.server_why, "amqp:connection:forced");
    CHECK(P6.server_remote_close == 0);
    CHECK_RC(muon_connection_abort(P6.conn), MUON_RESULT_STALE_HANDLE);
    muon_loop_free(P6.loop);
}

/* ==== 7 and 8. reconnect: the queue is kept, or handed back =============== */

static struct {
    muon_loop *loop;
    muon_listener lis;
    muon_connection conn;
    bool give_up; /* phase 8: close the connection once it is lost */
    muon_delivery sent[3];
    int accepted, released, settled, opens, link_finals, disconnected, reconnected;
    int accepted_conns, received;
} P7;

static void p7_server_accepted(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    P7.accepted_conns++;
}

static void p7_server_attach(void *ud, const muon_event *ev) {
    (void)ud;
    /* The first connection gives no credit and is dropped. */
    if (P7.accepted_conns == 1 && muon_event_is_receiver(ev)) {
        OK(muon_receiver_set_credit_window(muon_event_receiver(ev), 0));
        OK(muon_connection_abort(muon_event_connection(ev)));
    }
}

static void p7_server_message(void *ud, const muon_event *ev) {
    (void)ud;
    CHECK(P7.accepted_conns == 2);
    char text[16], want[16];
    body_text(ev, text, sizeof text);
    snprintf(want, sizeof want, "r%d", P7.received);
    CHECK_STR(text, want);
    P7.received++;
}

static void p7_open(void *ud, const muon_event *ev) {
    (void)ud;
    P7.opens++;
    /* Only the re-attached link opens (the first transport is dropped
     * before the peer answers the attach), and it holds the queue. */
    CHECK(P7.reconnected == 1);
    CHECK(muon_sender_queued(muon_event_sender(ev)) == 3);
}

static void p7_accepted(void *ud, const muon_event *ev) {
    (void)ud;
    CHECK(!P7.give_up);
    CHECK(SAME(muon_event_delivery(ev), P7.sent[P7.accepted]));
    if (++P7.accepted == 3) {
        OK(muon_connection_close(P7.conn));
        OK(muon_listener_close(P7.lis));
    }
}

static void p7_released(void *ud, const muon_event *ev) {
    (void)ud;
    CHECK(P7.give_up);
    CHECK(is_not_sent(ev));
    CHECK(!IS_NULL_HANDLE(muon_event_sender(ev)));
    CHECK(SAME(muon_event_delivery(ev), P7.sent[P7.released]));
    char text[16], want[16];
    body_text(ev, text, sizeof text);
    snprintf(want, sizeof want, "r%d", P7.released);
    CHECK_STR(text, want);
    P7.released++;
}

static void p7_settled(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    P7.settled++;
}

static void p7_link_final(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    /* The first link ends with the transport: its queue is kept. */
    CHECK(P7.released == 0);
    P7.link_finals++;
}

static void p7_disconnected(void *ud, const muon_event *ev) {
    (void)ud;
    CHECK_STR(muon_condition_name(muon_event_condition(ev)), "amqp:connection:forced");
    if (++P7.disconnected == 1 && P7.give_up) {
        OK(muon_connection_close(P7.conn));
    }
}

static void p7_reconnected(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    CHECK(!P7.give_up);
    P7.reconnected++;
}

static void p7_final(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    if (P7.give_up) {
        /* Handed back before the connection's final event. */
        CHECK(P7.released == 3 && P7.settled == 3);
        OK(muon_listener_close(P7.lis));
    }
}

static void phase7(bool give_up) {
    memset(&P7, 0, sizeof P7);
    P7.give_up = give_up;
    OK(muon_loop_new(&P7.loop));
    muon_handler server = MUON_HANDLER_INIT;
    server.on_connection_accepted = p7_server_accepted;
    server.on_link_remote_attach = p7_server_attach;
    server.on_message = p7_server_message;
    OK(muon_loop_listen(P7.loop, "127.0.0.1:0", NULL, &server, NULL, &P7.lis));
    muon_connection_options *opts;
    OK(muon_connection_options_new(&opts));
    OK(muon_connection_options_set_reconnect(opts, 20, 50, 0));
    muon_handler ch = MUON_HANDLER_INIT;
    ch.on_disconnected = p7_disconnected;
    ch.on_reconnected = p7_reconnected;
    ch.on_connection_final = p7_final;
    P7.conn = connect_to(P7.loop, P7.lis, NULL, opts, &ch, NULL);
    muon_connection_options_free(opts);
    muon_handler h = MUON_HANDLER_INIT;
    h.on_link_remote_open = p7_open;
    h.on_accepted = p7_accepted;
    h.on_released = p7_released;
    h.on_settled = p7_settled;
    h.on_link_final = p7_link_final;
    muon_sender s = open_sender(P7.conn, 1024, false, &h, NULL);
    for (int i = 0; i < 3; i++) {
        char text[16];
        snprintf(text, sizeof text, "r%d", i);
        muon_message *m = text_message(text);
        OK(muon_sender_send(s, m, &P7.sent[i]));
        muon_message_free(m);
    }
    OK(muon_loop_run(P7.loop));
    CHECK(P7.disconnected == 1);
    if (give_up) {
        CHECK(P7.released == 3 && P7.settled == 3 && P7.accepted == 0);
        CHECK(P7.reconnected == 0 && P7.received == 0);
        CHECK(P7.link_finals == 1);
    } else {
        CHECK(P7.accepted == 3 && P7.released == 0 && P7.settled == 3);
        CHECK(P7.reconnected == 1 && P7.received == 3 && P7.opens == 1);
        CHECK(P7.link_finals == 2);
    }
    muon_loop_free(P7.loop);
}

/* ==== 9. a failure is reported once, by on_disconnected ================== */

static struct {
    muon_loop *loop;
    muon_listener lis, lis2;
    muon_connection login, closing;
    int login_disconnected, closing_disconnected, finals;
    char login_why[64], closing_why[64];
} P9;

static void p9_disconnected(void *ud, const muon_event *ev) {
    (void)ud;
    const muon_condition *c = muon_event_condition(ev);
    CHECK(c != NULL);
    muon_connection conn = muon_event_connection(ev);
    if (SAME(conn, P9.login)) {
        P9.login_disconnected++;
        snprintf(P9.login_why, sizeof P9.login_why, "%s", muon_condition_name(c));
    } else if (SAME(conn, P9.closing)) {
        P9.closing_disconnected++;
        snprintf(P9.closing_why, sizeof P9.closing_why, "%s", muon_condition_name(c));
    }
}

static void p9_remote_open(void *ud, const muon_event *ev) {
    (void)ud;
    if (SAME(muon_event_connection(ev), P9.closing)) OK(muon_connection_close(P9.closing));
}

/* The second listener drops a connection whose peer asks to close. */
static void p9_server_remote_close(void *ud, const muon_event *ev) {
    (void)ud;
    OK(muon_connection_abort(muon_event_connection(ev)));
}

static void p9_final(void *ud, const muon_event *ev) {
    (void)ud;
    muon_connection c = muon_event_connection(ev);
    if (!SAME(c, P9.login) && !SAME(c, P9.closing)) return;
    if (++P9.finals == 2) {
        OK(muon_listener_close(P9.lis));
        OK(muon_listener_close(P9.lis2));
    }
}

static void phase9(void) {
    memset(&P9, 0, sizeof P9);
    OK(muon_loop_new(&P9.loop));
    muon_handler d = MUON_HANDLER_INIT;
    d.on_disconnected = p9_disconnected;
    d.on_connection_remote_open = p9_remote_open;
    d.on_connection_final = p9_final;
    OK(muon_loop_set_handler(P9.loop, &d, NULL));
    muon_connection_options *server;
    OK(muon_connection_options_new(&server));
    OK(muon_connection_options_add_user(server, "alice", "secret"));
    OK(muon_loop_listen(P9.loop, "127.0.0.1:0", server, NULL, NULL, &P9.lis));
    muon_connection_options_free(server);
    muon_handler h2 = MUON_HANDLER_INIT;
    h2.on_connection_remote_close = p9_server_remote_close;
    OK(muon_loop_listen(P9.loop, "127.0.0.1:0", NULL, &h2, NULL, &P9.lis2));
    P9.login = connect_to(P9.loop, P9.lis, "alice:wrong@", NULL, NULL, NULL);
    P9.closing = connect_to(P9.loop, P9.lis2, NULL, NULL, NULL, NULL);
    OK(muon_loop_run(P9.loop));
    CHECK(P9.login_disconnected == 1);
    CHECK_STR(P9.login_why, "amqp:unauthorized-access");
    CHECK(P9.closing_disconnected == 1);
    CHECK_STR(P9.closing_why, "amqp:connection:forced");
    muon_loop_free(P9.loop);
}

/* ==== 10. the credit counts the queue ===================================== */

#define N10 70
#define SIZE10 (1024 * 1024)

static struct {
    muon_loop *loop;
    muon_listener lis;
    muon_connection conn;
    uint8_t *body;
    int sent, queued_after, received, accepted;
} P10;

static void p10_attach(void *ud, const muon_event *ev) {
    (void)ud;
    if (muon_event_is_receiver(ev))
        OK(muon_receiver_set_credit_window(muon_event_receiver(ev), N10));
}

static void p10_message(void *ud, const muon_event *ev) {
    (void)ud;
    muon_bytes b;
    OK(muon_message_body_data(muon_event_message(ev), 0, &b));
    CHECK(b.len == SIZE10 && b.ptr[0] == (uint8_t)P10.received);
    P10.received++;
}

static void p10_flow(void *ud, const muon_event *ev) {
    (void)ud;
    muon_sender s = muon_event_sender(ev);
    if (P10.sent > 0) return;
    /* The usual loop: send while there is credit. */
    while (muon_sender_credit(s) > 0) {
        CHECK(P10.sent < N10);
        P10.body[0] = (uint8_t)P10.sent;
        muon_message *m;
        OK(muon_message_new(&m));
        OK(muon_message_set_body_binary(m, P10.body, SIZE10));
        OK(muon_sender_send(s, m, NULL));
        muon_message_free(m);
        P10.sent++;
    }
    P10.queued_after = (int)muon_sender_queued(s);
}

static void p10_accepted(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    if (++P10.accepted == N10) {
        OK(muon_connection_close(P10.conn));
        OK(muon_listener_close(P10.lis));
    }
}

static void phase10(void) {
    memset(&P10, 0, sizeof P10);
    P10.body = calloc(SIZE10, 1);
    CHECK(P10.body != NULL);
    OK(muon_loop_new(&P10.loop));
    muon_handler server = MUON_HANDLER_INIT;
    server.on_link_remote_attach = p10_attach;
    server.on_message = p10_message;
    OK(muon_loop_listen(P10.loop, "127.0.0.1:0", NULL, &server, NULL, &P10.lis));
    P10.conn = connect_to(P10.loop, P10.lis, NULL, NULL, NULL, NULL);
    muon_handler h = MUON_HANDLER_INIT;
    h.on_link_flow = p10_flow;
    h.on_accepted = p10_accepted;
    open_sender(P10.conn, 1024, false, &h, NULL);
    OK(muon_loop_run(P10.loop));
    CHECK(P10.sent == N10);
    /* Past 64 MiB of output the rest waited in the queue. */
    CHECK(P10.queued_after > 0 && P10.queued_after < N10);
    CHECK(P10.received == N10 && P10.accepted == N10);
    muon_loop_free(P10.loop);
    free(P10.body);
}

int main(void) {
    alarm(WATCHDOG_S * 3);
    /* Null handles. */
    const muon_sender zs = {0};
    const muon_connection zc = {0};
    CHECK(muon_sender_queued(zs) == 0);
    CHECK_RC(muon_connection_abort(zc), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_link_options_set_max_queued(NULL, 1), MUON_RESULT_NULL_ARGUMENT);
    phase1();
    phase2();
    phase3();
    phase4();
    phase5();
    phase6();
    phase7(false);
    phase7(true);
    phase9();
    phase10();
    puts("api_sendq: ok");
    return 0;
}
