/* Closing inside callbacks: a sender closed in its own on_link_flow, the
 * connection closed in on_message (the tutorial's hello world, direct), a
 * receiver closed in its own on_link_remote_open, a connection closed in
 * its own on_connection_remote_open, an accepted connection refused with a
 * condition in on_connection_remote_open and one dropped in
 * on_connection_accepted, and closing twice. Every object still gets its
 * final event, and the run ends by itself. */
#define _POSIX_C_SOURCE 200809L
#include "api_check.h"

struct app {
    muon_loop *loop;
    muon_listener l1, l2, l3;
    muon_connection c1, c2, c3, c4, c5;
    muon_sender snd;
    muon_receiver r2;
    char body[64];
    int client_finals, server_finals, link_finals, listener_finals;
    int refused, dropped, r2_opened;
};

static bool is_client(struct app *a, muon_connection c) {
    return SAME(c, a->c1) || SAME(c, a->c2) || SAME(c, a->c3) || SAME(c, a->c4) ||
           SAME(c, a->c5);
}

/* ---- c1: hello world ----------------------------------------------------- */

static void c1_flow(void *ud, const muon_event *ev) {
    struct app *a = ud;
    muon_sender s = muon_event_sender(ev);
    CHECK(SAME(s, a->snd));
    muon_message *m = NULL;
    OK(muon_message_new(&m));
    OK(muon_message_set_body_string(m, "Hello World!"));
    OK(muon_sender_send(s, m, NULL));
    muon_message_free(m);
    /* Close the link in its own callback, twice. */
    OK(muon_sender_close(s));
    OK(muon_sender_close(s));
    /* Still valid until its final event. */
    CHECK(muon_sender_name(s) != NULL);
}

/* The loop's default handler gets the message on the server's side. */
static void on_message(void *ud, const muon_event *ev) {
    struct app *a = ud;
    muon_value_format(muon_message_body(muon_event_message(ev)), a->body, sizeof a->body);
    muon_connection c = muon_event_connection(ev);
    OK(muon_connection_close(c));
    OK(muon_connection_close(c));
    OK(muon_listener_close(a->l1));
    CHECK_RC(muon_listener_close(a->l1), MUON_RESULT_STALE_HANDLE);
}

/* ---- c2: a receiver closed in its own on_link_remote_open --------------- */

static void r2_open(void *ud, const muon_event *ev) {
    struct app *a = ud;
    CHECK(SAME(muon_event_receiver(ev), a->r2));
    a->r2_opened++;
    OK(muon_receiver_close(a->r2));
}

static void r2_final(void *ud, const muon_event *ev) {
    struct app *a = ud;
    a->link_finals++;
    CHECK(SAME(muon_event_receiver(ev), a->r2));
    OK(muon_connection_close(muon_event_connection(ev)));
}

/* ---- c3: closed in its own on_connection_remote_open --------------------- */

static void c3_open(void *ud, const muon_event *ev) {
    struct app *a = ud;
    CHECK(SAME(muon_event_connection(ev), a->c3));
    OK(muon_connection_close(a->c3));
}

/* ---- l2 refuses with a condition, c4 sees it ------------------------------ */

static void l2_remote_open(void *ud, const muon_event *ev) {
    (void)ud;
    muon_connection c = muon_event_connection(ev);
    OK(muon_connection_close_with(c, "amqp:unauthorized-access", "go away"));
    const muon_condition *cond = muon_connection_local_condition(c);
    CHECK_STR(muon_condition_name(cond), "amqp:unauthorized-access");
}

static void c4_remote_close(void *ud, const muon_event *ev) {
    struct app *a = ud;
    const muon_condition *cond = muon_event_condition(ev);
    CHECK_STR(muon_condition_name(cond), "amqp:unauthorized-access");
    CHECK_STR(muon_condition_description(cond), "go away");
    const muon_condition *again = muon_connection_remote_condition(a->c4);
    CHECK_STR(muon_condition_name(again), "amqp:unauthorized-access");
    a->refused++;
}

/* ---- l3 drops the connection as soon as it is accepted -------------------- */

static void l3_accepted(void *ud, const muon_event *ev) {
    (void)ud;
    OK(muon_connection_close(muon_event_connection(ev)));
}

static void c5_disconnected(void *ud, const muon_event *ev) {
    struct app *a = ud;
    CHECK(muon_event_condition(ev) != NULL);
    a->dropped++;
}

/* ---- everyone ---------------------------------------------------------- */

static void on_link_final(void *ud, const muon_event *ev) {
    (void)ev;
    struct app *a = ud;
    a->link_finals++;
}

static void on_connection_final(void *ud, const muon_event *ev) {
    struct app *a = ud;
    if (!is_client(a, muon_event_connection(ev))) {
        a->server_finals++;
        return;
    }
    if (++a->client_finals == 5) {
        OK(muon_listener_close(a->l2));
        OK(muon_listener_close(a->l3));
    }
}

static void on_listener_final(void *ud, const muon_event *ev) {
    (void)ev;
    struct app *a = ud;
    a->listener_finals++;
}

static muon_connection connect_to(struct app *a, muon_listener l, const muon_handler *h) {
    char url[64];
    snprintf(url, sizeof url, "127.0.0.1:%u", (unsigned)muon_listener_port(l));
    muon_connection c;
    OK(muon_loop_connect(a->loop, url, NULL, h, a, &c));
    return c;
}

int main(void) {
    alarm(WATCHDOG_S);
    struct app a;
    memset(&a, 0, sizeof a);
    OK(muon_loop_new(&a.loop));
    muon_handler d = MUON_HANDLER_INIT;
    d.on_message = on_message;
    d.on_link_final = on_link_final;
    d.on_connection_final = on_connection_final;
    d.on_listener_final = on_listener_final;
    OK(muon_loop_set_handler(a.loop, &d, &a));

    OK(muon_loop_listen(a.loop, "127.0.0.1:0", NULL, NULL, NULL, &a.l1));
    muon_handler h2 = MUON_HANDLER_INIT;
    h2.on_connection_remote_open = l2_remote_open;
    OK(muon_loop_listen(a.loop, "127.0.0.1:0", NULL, &h2, &a, &a.l2));
    muon_handler h3 = MUON_HANDLER_INIT;
    h3.on_connection_accepted = l3_accepted;
    OK(muon_loop_listen(a.loop, "127.0.0.1:0", NULL, &h3, &a, &a.l3));

    a.c1 = connect_to(&a, a.l1, NULL);
    muon_handler sh = MUON_HANDLER_INIT;
    sh.on_link_flow = c1_flow;
    OK(muon_connection_open_sender(a.c1, "examples", NULL, &sh, &a, &a.snd));

    a.c2 = connect_to(&a, a.l1, NULL);
    muon_handler rh = MUON_HANDLER_INIT;
    rh.on_link_remote_open = r2_open;
    rh.on_link_final = r2_final;
    OK(muon_connection_open_receiver(a.c2, "examples", NULL, &rh, &a, &a.r2));

    muon_handler c3h = MUON_HANDLER_INIT;
    c3h.on_connection_remote_open = c3_open;
    a.c3 = connect_to(&a, a.l1, &c3h);

    muon_handler c4h = MUON_HANDLER_INIT;
    c4h.on_connection_remote_close = c4_remote_close;
    a.c4 = connect_to(&a, a.l2, &c4h);

    muon_handler c5h = MUON_HANDLER_INIT;
    c5h.on_disconnected = c5_disconnected;
    a.c5 = connect_to(&a, a.l3, &c5h);

    OK(muon_loop_run(a.loop));

    CHECK_STR(a.body, "Hello World!");
    CHECK(a.r2_opened == 1);
    CHECK(a.refused == 1);
    CHECK(a.dropped == 1);
    CHECK(a.client_finals == 5);
    CHECK(a.server_finals == 5);
    /* c1's sender and its server side, c2's receiver and its server side. */
    CHECK(a.link_finals == 4);
    CHECK(a.listener_finals == 3);
    muon_loop_free(a.loop);
    puts("api_close_in_callback: ok");
    return 0;
}
