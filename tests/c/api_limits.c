/* The limits on what a peer can make muon hold, set from C on the
 * listener's connection options, each reached by a muon client in the
 * same loop:
 *   A. links per session: a third sender on the session closes the
 *      connection with amqp:resource-limit-exceeded;
 *   B. bytes of messages still arriving: a 3000-byte message cut into
 *      512-byte frames, against a budget of 1000, detaches the link;
 *   C. unsettled deliveries per link: a receiver that settles nothing
 *      holds two, and the third detaches the link;
 *   D. nesting depth: a body nested 3 lists deep is accepted, one nested
 *      6 deep is rejected with amqp:decode-error (and the receiving
 *      application hears of it in on_message_error).
 * The run ends by itself once every connection is final. */
#define _POSIX_C_SOURCE 200809L
#include "api_check.h"

struct app {
    muon_loop *loop;
    muon_listener la, lb, lc, ld;
    muon_connection ca, cb, cc, cd;
    int client_finals;
    char a_close[64], b_detach[64], c_detach[64], d_rejected[64], d_error[64];
    int c_messages, d_accepted;
    bool b_sent, c_sent, d_sent;
};

static void copy_condition(char *dst, size_t n, const muon_event *ev) {
    const muon_condition *c = muon_event_condition(ev);
    const char *name = c != NULL ? muon_condition_name(c) : NULL;
    snprintf(dst, n, "%s", name != NULL ? name : "(none)");
}

/* ---- A: links per session ----------------------------------------------- */

static void a_remote_close(void *ud, const muon_event *ev) {
    struct app *a = ud;
    copy_condition(a->a_close, sizeof a->a_close, ev);
}

/* ---- B: incomplete bytes ------------------------------------------------- */

static void b_flow(void *ud, const muon_event *ev) {
    struct app *a = ud;
    if (a->b_sent) return;
    a->b_sent = true;
    char text[3001];
    memset(text, 'b', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    muon_message *m;
    OK(muon_message_new(&m));
    OK(muon_message_set_body_string(m, text));
    OK(muon_sender_send(muon_event_sender(ev), m, NULL));
    muon_message_free(m);
}

static void b_link_close(void *ud, const muon_event *ev) {
    struct app *a = ud;
    copy_condition(a->b_detach, sizeof a->b_detach, ev);
    OK(muon_connection_close(muon_event_connection(ev)));
}

/* ---- C: unsettled deliveries per link ------------------------------------ */

static void lc_attach(void *ud, const muon_event *ev) {
    (void)ud;
    muon_receiver r = muon_event_receiver(ev);
    if (!IS_NULL_HANDLE(r)) OK(muon_receiver_set_auto_accept(r, false));
}

static void lc_message(void *ud, const muon_event *ev) {
    (void)ev;
    struct app *a = ud;
    a->c_messages++; /* held, never settled */
}

static void c_flow(void *ud, const muon_event *ev) {
    struct app *a = ud;
    muon_sender s = muon_event_sender(ev);
    if (a->c_sent || muon_sender_credit(s) < 3) return;
    a->c_sent = true;
    for (int i = 0; i < 3; i++) {
        muon_message *m;
        OK(muon_message_new(&m));
        OK(muon_message_set_body_string(m, "held"));
        OK(muon_sender_send(s, m, NULL));
        muon_message_free(m);
    }
}

static void c_link_close(void *ud, const muon_event *ev) {
    struct app *a = ud;
    copy_condition(a->c_detach, sizeof a->c_detach, ev);
    OK(muon_connection_close(muon_event_connection(ev)));
}

/* ---- D: nesting depth ----------------------------------------------------- */

/* A message whose body is `levels` lists nested around a null. */
static muon_message *nested(int levels) {
    muon_value *v;
    OK(muon_value_null(&v));
    for (int i = 0; i < levels; i++) {
        muon_value *list;
        OK(muon_value_list_new(&list));
        OK(muon_value_list_append(list, v));
        v = list;
    }
    muon_message *m;
    OK(muon_message_new(&m));
    OK(muon_message_set_body(m, v));
    return m;
}

static void d_flow(void *ud, const muon_event *ev) {
    struct app *a = ud;
    muon_sender s = muon_event_sender(ev);
    if (a->d_sent || muon_sender_credit(s) < 2) return;
    a->d_sent = true;
    for (int levels = 3; levels <= 6; levels += 3) {
        muon_message *m = nested(levels);
        OK(muon_sender_send(s, m, NULL));
        muon_message_free(m);
    }
}

static void d_done_if_both(struct app *a, const muon_event *ev) {
    if (a->d_accepted == 1 && a->d_rejected[0] != '\0') {
        OK(muon_connection_close(muon_event_connection(ev)));
    }
}

static void d_accepted(void *ud, const muon_event *ev) {
    struct app *a = ud;
    a->d_accepted++;
    d_done_if_both(a, ev);
}

static void d_rejected(void *ud, const muon_event *ev) {
    struct app *a = ud;
    copy_condition(a->d_rejected, sizeof a->d_rejected, ev);
    d_done_if_both(a, ev);
}

static void ld_message_error(void *ud, const muon_event *ev) {
    struct app *a = ud;
    copy_condition(a->d_error, sizeof a->d_error, ev);
}

/* ---- everyone ---------------------------------------------------------- */

static void on_connection_final(void *ud, const muon_event *ev) {
    struct app *a = ud;
    muon_connection c = muon_event_connection(ev);
    bool client = SAME(c, a->ca) || SAME(c, a->cb) || SAME(c, a->cc) || SAME(c, a->cd);
    if (client && ++a->client_finals == 4) {
        OK(muon_listener_close(a->la));
        OK(muon_listener_close(a->lb));
        OK(muon_listener_close(a->lc));
        OK(muon_listener_close(a->ld));
    }
}

static muon_listener listen_with(struct app *a, muon_connection_options *o, const muon_handler *h) {
    muon_listener l;
    OK(muon_loop_listen(a->loop, "127.0.0.1:0", o, h, a, &l));
    muon_connection_options_free(o);
    return l;
}

static muon_connection connect_to(struct app *a, muon_listener l, const muon_handler *h) {
    char url[64];
    snprintf(url, sizeof url, "127.0.0.1:%u", (unsigned)muon_listener_port(l));
    muon_connection c;
    OK(muon_loop_connect(a->loop, url, NULL, h, a, &c));
    return c;
}

static muon_connection_options *options(void) {
    muon_connection_options *o;
    OK(muon_connection_options_new(&o));
    return o;
}

int main(void) {
    alarm(WATCHDOG_S);
    struct app a;
    memset(&a, 0, sizeof a);
    OK(muon_loop_new(&a.loop));
    muon_handler d = MUON_HANDLER_INIT;
    d.on_connection_final = on_connection_final;
    OK(muon_loop_set_handler(a.loop, &d, &a));

    /* Out of range. */
    muon_connection_options *bad = options();
    CHECK_RC(muon_connection_options_set_max_links_per_session(bad, 0), MUON_RESULT_INVALID_ARGUMENT);
    CHECK_RC(muon_connection_options_set_max_unsettled_per_link(bad, 0), MUON_RESULT_INVALID_ARGUMENT);
    CHECK_RC(muon_connection_options_set_max_incomplete_bytes(bad, 0), MUON_RESULT_INVALID_ARGUMENT);
    CHECK_RC(muon_connection_options_set_max_decode_depth(bad, 0), MUON_RESULT_INVALID_ARGUMENT);
    CHECK_RC(muon_connection_options_set_max_decode_depth(bad, 65), MUON_RESULT_INVALID_ARGUMENT);
    muon_connection_options_free(bad);

    /* A. */
    muon_connection_options *oa = options();
    OK(muon_connection_options_set_max_links_per_session(oa, 2));
    a.la = listen_with(&a, oa, NULL);
    muon_handler ha = MUON_HANDLER_INIT;
    ha.on_connection_remote_close = a_remote_close;
    a.ca = connect_to(&a, a.la, &ha);
    for (int i = 0; i < 3; i++) {
        OK(muon_connection_open_sender(a.ca, "links", NULL, NULL, NULL, NULL));
    }

    /* B. */
    muon_connection_options *ob = options();
    OK(muon_connection_options_set_max_frame_size(ob, 512));
    OK(muon_connection_options_set_max_incomplete_bytes(ob, 1000));
    a.lb = listen_with(&a, ob, NULL);
    a.cb = connect_to(&a, a.lb, NULL);
    muon_handler hb = MUON_HANDLER_INIT;
    hb.on_link_flow = b_flow;
    hb.on_link_remote_close = b_link_close;
    OK(muon_connection_open_sender(a.cb, "big", NULL, &hb, &a, NULL));

    /* C. */
    muon_connection_options *oc = options();
    OK(muon_connection_options_set_max_unsettled_per_link(oc, 2));
    muon_handler hlc = MUON_HANDLER_INIT;
    hlc.on_link_remote_attach = lc_attach;
    hlc.on_message = lc_message;
    a.lc = listen_with(&a, oc, &hlc);
    a.cc = connect_to(&a, a.lc, NULL);
    muon_handler hc = MUON_HANDLER_INIT;
    hc.on_link_flow = c_flow;
    hc.on_link_remote_close = c_link_close;
    OK(muon_connection_open_sender(a.cc, "held", NULL, &hc, &a, NULL));

    /* D. */
    muon_connection_options *od = options();
    OK(muon_connection_options_set_max_decode_depth(od, 4));
    muon_handler hld = MUON_HANDLER_INIT;
    hld.on_message_error = ld_message_error;
    a.ld = listen_with(&a, od, &hld);
    a.cd = connect_to(&a, a.ld, NULL);
    muon_handler hd = MUON_HANDLER_INIT;
    hd.on_link_flow = d_flow;
    hd.on_accepted = d_accepted;
    hd.on_rejected = d_rejected;
    OK(muon_connection_open_sender(a.cd, "deep", NULL, &hd, &a, NULL));

    OK(muon_loop_run(a.loop));

    CHECK_STR(a.a_close, "amqp:resource-limit-exceeded");
    CHECK_STR(a.b_detach, "amqp:resource-limit-exceeded");
    CHECK_STR(a.c_detach, "amqp:resource-limit-exceeded");
    CHECK(a.c_messages == 2);
    CHECK(a.d_accepted == 1);
    CHECK_STR(a.d_rejected, "amqp:decode-error");
    CHECK_STR(a.d_error, "amqp:decode-error");
    CHECK(a.client_finals == 4);
    muon_loop_free(a.loop);
    printf("api_limits: ok\n");
    return 0;
}
