/* Handler scoping: an event goes to the most specific handler that
 * implements it (link, then connection, then the listener that accepted
 * the connection, then the loop), with the userdata registered with that
 * handler; every userdata_free is called exactly once. A connection keeps
 * its listener's handler after the listener is closed, and the listener's
 * userdata_free waits for that connection's end. Timers go to their own
 * handler, else the loop's. */
#define _POSIX_C_SOURCE 200809L
#include "api_check.h"

struct scope {
    const char *name;
    int frees;
};

struct app {
    muon_loop *loop;
    muon_listener lis;
    muon_connection client, server;
    muon_sender csnd, ssnd;
    muon_receiver crcv;
    struct scope L, C0, C, K, S, T, T2, T4, TA;
    int client_msgs, server_msgs, sent;
    int loop_opens, listener_opens, conn_link_opens, loop_link_opens;
    int loop_timers, own_timers, wakes, listener_open_events;
    int client_final, server_final;
};

static struct app A;

static void free_scope(void *ud) {
    struct scope *s = ud;
    s->frees++;
}

static bool is_client(muon_connection c) { return SAME(c, A.client); }

/* ---- the loop's default handler (userdata &A.L) ----------------------- */

static void L_remote_open(void *ud, const muon_event *ev) {
    CHECK(ud == &A.L);
    /* The client connection: its handler lacks on_connection_remote_open.
     * The server side goes to the listener's handler. */
    CHECK(is_client(muon_event_connection(ev)));
    A.loop_opens++;
}

static void L_link_open(void *ud, const muon_event *ev) {
    CHECK(ud == &A.L);
    /* Only the server's links: the client's go to its connection handler. */
    CHECK(SAME(muon_event_connection(ev), A.server));
    if (!muon_event_is_receiver(ev))
        A.ssnd = muon_event_sender(ev);
    A.loop_link_opens++;
}

static void L_flow(void *ud, const muon_event *ev) {
    CHECK(ud == &A.L);
    muon_sender s = muon_event_sender(ev);
    CHECK(!IS_NULL_HANDLE(s));
    /* The client's sender (no handler of its own, nor on its connection's)
     * and the server's (answered from L_message). */
    if (!SAME(s, A.csnd) || A.sent > 0)
        return;
    muon_message *m = NULL;
    OK(muon_message_new(&m));
    OK(muon_message_set_body_string(m, "to server"));
    OK(muon_sender_send(s, m, NULL));
    muon_message_free(m);
    A.sent++;
}

static void L_message(void *ud, const muon_event *ev) {
    CHECK(ud == &A.L);
    /* Only the server's receiver: the client's has its own on_message. */
    CHECK(SAME(muon_event_connection(ev), A.server));
    CHECK(muon_event_is_receiver(ev));
    A.server_msgs++;
    CHECK(muon_sender_credit(A.ssnd) > 0);
    muon_message *m = NULL;
    OK(muon_message_new(&m));
    OK(muon_message_set_body_string(m, "to client"));
    OK(muon_sender_send(A.ssnd, m, NULL));
    muon_message_free(m);
}

static void L_timer(void *ud, const muon_event *ev) {
    CHECK(muon_event_get_kind(ev) == MUON_EVENT_KIND_TIMER);
    /* A timer without a table carries its own userdata; a table without
     * on_timer falls back to the loop's, with the loop's userdata. */
    CHECK(ud == &A.TA || ud == &A.L);
    A.loop_timers++;
}

static void L_wake(void *ud, const muon_event *ev) {
    (void)ev;
    CHECK(ud == &A.L);
    A.wakes++;
}

static void L_listener_open(void *ud, const muon_event *ev) {
    CHECK(ud == &A.L);
    CHECK(SAME(muon_event_listener(ev), A.lis));
    A.listener_open_events++;
}

static void L_conn_final(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    /* The client's own handler takes its final event, the server side's
     * goes to its (closed) listener's handler. */
    CHECK(!"no connection's final event reaches the loop's handler");
}

/* ---- the client connection's handler (userdata &A.C) ------------------ */

static void C0_link_open(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    CHECK(!"the replaced handler gets nothing");
}

static void C_link_open(void *ud, const muon_event *ev) {
    CHECK(ud == &A.C);
    CHECK(is_client(muon_event_connection(ev)));
    A.conn_link_opens++;
}

static void C_conn_final(void *ud, const muon_event *ev) {
    CHECK(ud == &A.C);
    CHECK(is_client(muon_event_connection(ev)));
    A.client_final++;
}

/* ---- the client receiver's handler (userdata &A.K) ---------------------- */

static void K_message(void *ud, const muon_event *ev) {
    CHECK(ud == &A.K);
    CHECK(SAME(muon_event_receiver(ev), A.crcv));
    CHECK(muon_event_is_receiver(ev));
    A.client_msgs++;
    OK(muon_connection_close(A.client));
}

/* ---- the listener's handler (userdata &A.S) ----------------------------- */

static void S_accepted(void *ud, const muon_event *ev) {
    CHECK(ud == &A.S);
    CHECK(SAME(muon_event_listener(ev), A.lis));
    A.server = muon_event_connection(ev);
}

static void S_remote_open(void *ud, const muon_event *ev) {
    CHECK(ud == &A.S);
    CHECK(SAME(muon_event_connection(ev), A.server));
    A.listener_opens++;
    /* Stop listening: the accepted connection carries on with this
     * handler. */
    OK(muon_listener_close(A.lis));
}

static void S_conn_final(void *ud, const muon_event *ev) {
    CHECK(ud == &A.S);
    CHECK(SAME(muon_event_connection(ev), A.server));
    CHECK(A.S.frees == 0); /* the listener ended long ago */
    A.server_final++;
}

/* ---- a timer's own handler (userdata &A.T) ------------------------------ */

static void T_timer(void *ud, const muon_event *ev) {
    (void)ev;
    CHECK(ud == &A.T);
    A.own_timers++;
}

int main(void) {
    alarm(WATCHDOG_S);
    memset(&A, 0, sizeof A);
    A.L.name = "loop";
    OK(muon_loop_new(&A.loop));

    muon_handler l = MUON_HANDLER_INIT;
    l.on_connection_remote_open = L_remote_open;
    l.on_link_remote_open = L_link_open;
    l.on_link_flow = L_flow;
    l.on_message = L_message;
    l.on_timer = L_timer;
    l.on_wake = L_wake;
    l.on_listener_open = L_listener_open;
    l.on_connection_final = L_conn_final;
    l.userdata_free = free_scope;
    OK(muon_loop_set_handler(A.loop, &l, &A.L));

    muon_handler s = MUON_HANDLER_INIT;
    s.on_connection_accepted = S_accepted;
    s.on_connection_remote_open = S_remote_open;
    s.on_connection_final = S_conn_final;
    s.userdata_free = free_scope;
    OK(muon_loop_listen(A.loop, "127.0.0.1:0", NULL, &s, &A.S, &A.lis));
    char url[64];
    snprintf(url, sizeof url, "127.0.0.1:%u", (unsigned)muon_listener_port(A.lis));

    /* Connect with one handler, then replace it: the first one's userdata
     * is freed once, and it gets no event. */
    muon_handler c0 = MUON_HANDLER_INIT;
    c0.on_link_remote_open = C0_link_open;
    c0.userdata_free = free_scope;
    OK(muon_loop_connect(A.loop, url, NULL, &c0, &A.C0, &A.client));
    muon_handler c = MUON_HANDLER_INIT;
    c.on_link_remote_open = C_link_open;
    c.on_connection_final = C_conn_final;
    c.userdata_free = free_scope;
    OK(muon_connection_set_handler(A.client, &c, &A.C));
    CHECK(A.C0.frees == 0); /* not during the call */

    OK(muon_connection_open_sender(A.client, "q", NULL, NULL, NULL, &A.csnd));
    muon_handler k = MUON_HANDLER_INIT;
    k.on_message = K_message;
    k.userdata_free = free_scope;
    OK(muon_connection_open_receiver(A.client, "q", NULL, &k, &A.K, &A.crcv));

    /* Timers: with no table (the loop's, with the timer's userdata), with
     * their own table, with a table lacking on_timer (the loop's, with the
     * loop's userdata), and one cancelled. */
    OK(muon_loop_schedule(A.loop, 1, NULL, &A.TA, NULL));
    muon_handler t = MUON_HANDLER_INIT;
    t.on_timer = T_timer;
    t.userdata_free = free_scope;
    OK(muon_loop_schedule(A.loop, 2, &t, &A.T, NULL));
    muon_handler t2 = MUON_HANDLER_INIT;
    t2.userdata_free = free_scope;
    OK(muon_loop_schedule(A.loop, 3, &t2, &A.T2, NULL));
    muon_timer t4;
    OK(muon_loop_schedule(A.loop, 100000, &t2, &A.T4, &t4));
    OK(muon_timer_cancel(t4));
    CHECK(A.T4.frees == 0);

    OK(muon_loop_wake(A.loop));
    OK(muon_loop_run(A.loop));

    CHECK(A.loop_opens == 1);
    CHECK(A.listener_opens == 1);
    CHECK(A.conn_link_opens == 2);
    CHECK(A.loop_link_opens == 2);
    CHECK(A.server_msgs == 1);
    CHECK(A.client_msgs == 1);
    CHECK(A.loop_timers == 2);
    CHECK(A.own_timers == 1);
    CHECK(A.wakes == 1);
    CHECK(A.listener_open_events == 1);
    CHECK(A.client_final == 1);
    CHECK(A.server_final == 1);

    /* Everything that ended had its userdata freed, once. */
    CHECK(A.C0.frees == 1);
    CHECK(A.C.frees == 1);
    CHECK(A.K.frees == 1);
    CHECK(A.S.frees == 1);
    CHECK(A.T.frees == 1);
    CHECK(A.T2.frees == 1);
    CHECK(A.T4.frees == 1);
    CHECK(A.TA.frees == 0); /* no table, nothing to call */
    CHECK(A.L.frees == 0);
    muon_loop_free(A.loop);
    CHECK(A.L.frees == 1);
    puts("api_scoping: ok");
    return 0;
}
