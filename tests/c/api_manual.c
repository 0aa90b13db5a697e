/* Every built-in behaviour switched off and done by hand: the handshake
 * (opening an accepted connection and the links the peer attached,
 * answering detach and close), the credit window (granting credit,
 * draining), auto-accept (accept, reject, release, modify) and auto-settle
 * (settling outgoing deliveries). Along the way: connection and link
 * properties, offered capabilities, remote termini, local and remote
 * conditions. A missed manual step would hang the exchange (and the
 * watchdog would end the program). */
#define _POSIX_C_SOURCE 200809L
#include "api_check.h"

struct app {
    muon_loop *loop;
    muon_listener lis;
    /* client side */
    muon_connection cconn;
    muon_sender csnd;
    muon_receiver crcv;
    muon_delivery cdel[4];
    int csent, coutcomes[4], csettled, cgot;
    int clink_finals, cfinal;
    bool closing_links;
    /* server side */
    muon_connection sconn;
    muon_receiver srcv;
    muon_sender ssnd;
    muon_delivery sdel;
    int sgot, ssent, ssettled, sdrained, sremote_closes, sfinals;
};

static struct app A;

static muon_value *fields(const char *key, muon_value *val) {
    muon_value *map, *k;
    OK(muon_value_map_new(&map));
    OK(muon_value_symbol(key, &k));
    OK(muon_value_map_put(map, k, val));
    return map;
}

static void check_string(const muon_value *v, const char *want) {
    muon_bytes b;
    OK(muon_value_get_string(v, &b));
    CHECK(b.len == strlen(want) && memcmp(b.ptr, want, b.len) == 0);
}

static void send_text(muon_sender s, const char *text, muon_delivery *out) {
    muon_message *m = NULL;
    OK(muon_message_new(&m));
    OK(muon_message_set_body_string(m, text));
    OK(muon_sender_send(s, m, out));
    muon_message_free(m);
}

static int body_index(const muon_event *ev) {
    char text[16];
    muon_value_format(muon_message_body(muon_event_message(ev)), text, sizeof text);
    CHECK(text[0] == 'm' && text[1] >= '0' && text[1] <= '3' && text[2] == 0);
    return text[1] - '0';
}

/* The client closes its links once everything is done. */
static void maybe_close_links(void) {
    if (A.closing_links || A.csettled < 4 || A.cgot < 1 || A.ssettled < 1 || A.sdrained < 1)
        return;
    A.closing_links = true;
    OK(muon_sender_close(A.csnd));
    OK(muon_receiver_close_with(A.crcv, "muon:test-done", "bye"));
    CHECK_STR(muon_condition_name(muon_receiver_local_condition(A.crcv)), "muon:test-done");
}

/* ================= server: the listener's handler ======================= */

static void s_accepted(void *ud, const muon_event *ev) {
    (void)ud;
    A.sconn = muon_event_connection(ev);
}

static void s_remote_open(void *ud, const muon_event *ev) {
    (void)ud;
    muon_connection c = muon_event_connection(ev);
    CHECK_STR(muon_connection_remote_container_id(c), "manual-client");
    CHECK(muon_connection_remote_offers_capability(c, "ANONYMOUS-RELAY"));
    CHECK(!muon_connection_remote_offers_capability(c, "OTHER"));
    CHECK(muon_connection_remote_desires_capability(c, "muon-test"));
    const muon_value *props = muon_connection_remote_properties(c);
    CHECK(props != NULL);
    check_string(muon_value_map_get_symbol_key(props, "k"), "v");
    /* Handshake off: not open until opened here. */
    CHECK(!muon_connection_is_open(c));
    OK(muon_connection_answer_open(c));
    OK(muon_connection_answer_open(c)); /* twice is harmless */
}

static void s_attach(void *ud, const muon_event *ev) {
    (void)ud;
    if (muon_event_is_receiver(ev)) {
        muon_receiver r = muon_event_receiver(ev);
        A.srcv = r;
        const muon_terminus *t = muon_receiver_remote_target(r);
        CHECK_STR(muon_terminus_address(t), "in");
        CHECK(muon_terminus_has_capability(t, "queue"));
        CHECK(muon_terminus_capability_count(t) == 1);
        CHECK_STR(muon_terminus_capability(t, 0), "queue");
        CHECK(muon_terminus_capability(t, 1) == NULL);
        CHECK(!muon_terminus_is_dynamic(t));
        CHECK(muon_terminus_durability(t) == MUON_DURABILITY_CONFIGURATION);
        CHECK(muon_terminus_expiry_policy(t) == MUON_EXPIRY_POLICY_SESSION_END);
        CHECK(muon_terminus_timeout_ms(t) == 0);
        const muon_value *props = muon_receiver_remote_properties(r);
        int32_t n = 0;
        OK(muon_value_get_int(muon_value_map_get_symbol_key(props, "lk"), &n));
        CHECK(n == 42);
        CHECK(muon_receiver_remote_offers_capability(r, "link-cap"));
        OK(muon_receiver_set_credit_window(r, 0));
        OK(muon_receiver_set_auto_accept(r, false));
        OK(muon_receiver_answer_open(r));
        CHECK(muon_receiver_credit(r) == 0);
        OK(muon_receiver_flow(r, 2));
    } else {
        muon_sender s = muon_event_sender(ev);
        A.ssnd = s;
        CHECK_STR(muon_sender_remote_source_address(s), "out");
        CHECK(!muon_terminus_is_dynamic(muon_sender_remote_source(s)));
        CHECK_STR(muon_terminus_distribution_mode(muon_sender_remote_source(s)), "copy");
        OK(muon_sender_set_auto_settle(s, false));
        OK(muon_sender_set_source_address(s, "srv-src"));
        OK(muon_sender_answer_open(s));
        CHECK_RC(muon_sender_set_source_address(s, "late"), MUON_RESULT_WRONG_STATE);
    }
}

static void s_message(void *ud, const muon_event *ev) {
    (void)ud;
    muon_delivery d = muon_event_delivery(ev);
    int i = body_index(ev);
    CHECK(i == A.sgot);
    A.sgot++;
    switch (i) {
    case 0: OK(muon_delivery_accept(d)); break;
    case 1: OK(muon_delivery_reject(d, "amqp:precondition-failed", "nope")); break;
    case 2: OK(muon_delivery_release(d)); break;
    case 3: OK(muon_delivery_modify(d, true, false)); break;
    }
    CHECK_RC(muon_delivery_accept(d), MUON_RESULT_STALE_HANDLE); /* settled */
    if (A.sgot == 2) {
        CHECK(muon_receiver_credit(A.srcv) == 0);
        OK(muon_receiver_flow(A.srcv, 2));
    } else if (A.sgot == 4) {
        /* All in: ask for the rest and have the sender give it back. */
        OK(muon_receiver_drain(A.srcv, 5));
        CHECK(muon_receiver_is_draining(A.srcv));
    }
}

static void s_flow(void *ud, const muon_event *ev) {
    (void)ud;
    if (muon_event_is_receiver(ev)) {
        /* The drain came back: no credit left. */
        if (A.sgot == 4 && !muon_receiver_is_draining(A.srcv)) {
            CHECK(muon_receiver_credit(A.srcv) == 0);
            A.sdrained++;
            maybe_close_links();
        }
        return;
    }
    CHECK(SAME(muon_event_sender(ev), A.ssnd));
    if (A.ssent == 0) {
        CHECK(muon_sender_credit(A.ssnd) == 1); /* exactly what was granted */
        send_text(A.ssnd, "hello", &A.sdel);
        A.ssent++;
    }
}

static void s_accepted_outcome(void *ud, const muon_event *ev) {
    (void)ud;
    CHECK(SAME(muon_event_delivery(ev), A.sdel));
    CHECK(muon_delivery_remote_state(A.sdel) == MUON_DELIVERY_STATE_ACCEPTED);
}

static void s_settled(void *ud, const muon_event *ev) {
    (void)ud;
    CHECK(SAME(muon_event_delivery(ev), A.sdel));
    CHECK(muon_delivery_is_remote_settled(A.sdel));
    /* Auto-settle off: the delivery stays until settled here. */
    OK(muon_delivery_settle(A.sdel));
    CHECK_RC(muon_delivery_settle(A.sdel), MUON_RESULT_STALE_HANDLE);
    A.ssettled++;
    maybe_close_links();
}

static void s_link_remote_close(void *ud, const muon_event *ev) {
    (void)ud;
    A.sremote_closes++;
    if (muon_event_is_receiver(ev)) {
        CHECK(muon_event_condition(ev) == NULL); /* the client's sender: clean */
        OK(muon_receiver_close(muon_event_receiver(ev)));
    } else {
        CHECK_STR(muon_condition_name(muon_event_condition(ev)), "muon:test-done");
        muon_sender s = muon_event_sender(ev);
        CHECK_STR(muon_condition_description(muon_sender_remote_condition(s)), "bye");
        OK(muon_sender_close(s));
    }
}

static void s_remote_close(void *ud, const muon_event *ev) {
    (void)ud;
    OK(muon_connection_close(muon_event_connection(ev)));
}

static void s_final(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    A.sfinals++;
}

/* ================= client: the connection's handler ===================== */

static void c_remote_open(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    muon_link_options *lo;
    OK(muon_link_options_new(&lo));
    OK(muon_link_options_set_auto_settle(lo, false));
    OK(muon_link_options_set_handshake(lo, false));
    OK(muon_link_options_add_capability(lo, "queue"));
    OK(muon_link_options_add_offered_capability(lo, "link-cap"));
    OK(muon_link_options_set_durability(lo, MUON_DURABILITY_CONFIGURATION));
    muon_value *n;
    OK(muon_value_int(42, &n));
    muon_value *props = fields("lk", n);
    OK(muon_link_options_set_properties(lo, props));
    muon_value_free(props);
    OK(muon_connection_open_sender(A.cconn, "in", lo, NULL, NULL, &A.csnd));
    muon_link_options_free(lo);

    OK(muon_link_options_new(&lo));
    OK(muon_link_options_set_credit_window(lo, 0));
    OK(muon_link_options_set_auto_accept(lo, false));
    OK(muon_link_options_set_handshake(lo, false));
    OK(muon_link_options_set_distribution_mode(lo, "copy"));
    OK(muon_connection_open_receiver(A.cconn, "out", lo, NULL, NULL, &A.crcv));
    muon_link_options_free(lo);
    CHECK(muon_receiver_credit(A.crcv) == 0);
}

static void c_link_open(void *ud, const muon_event *ev) {
    (void)ud;
    if (!muon_event_is_receiver(ev))
        return;
    CHECK_STR(muon_receiver_remote_source_address(A.crcv), "srv-src");
    CHECK_STR(muon_terminus_address(muon_receiver_remote_source(A.crcv)), "srv-src");
    OK(muon_receiver_flow(A.crcv, 1));
}

static void c_flow(void *ud, const muon_event *ev) {
    (void)ud;
    if (muon_event_is_receiver(ev))
        return;
    while (muon_sender_credit(A.csnd) > 0 && A.csent < 4) {
        char text[4] = {'m', (char)('0' + A.csent), 0, 0};
        send_text(A.csnd, text, &A.cdel[A.csent]);
        A.csent++;
    }
}

static int which(const muon_event *ev) {
    muon_delivery d = muon_event_delivery(ev);
    for (int i = 0; i < 4; i++)
        if (SAME(d, A.cdel[i]))
            return i;
    CHECK(!"an outcome for a delivery that was not sent");
    return -1;
}

static void c_accepted(void *ud, const muon_event *ev) {
    (void)ud;
    int i = which(ev);
    CHECK(i == 0);
    A.coutcomes[i] = MUON_DELIVERY_STATE_ACCEPTED;
}

static void c_rejected(void *ud, const muon_event *ev) {
    (void)ud;
    int i = which(ev);
    CHECK(i == 1);
    CHECK_STR(muon_condition_name(muon_event_condition(ev)), "amqp:precondition-failed");
    CHECK_STR(muon_condition_description(muon_event_condition(ev)), "nope");
    A.coutcomes[i] = MUON_DELIVERY_STATE_REJECTED;
}

static void c_released(void *ud, const muon_event *ev) {
    (void)ud;
    int i = which(ev);
    CHECK(i == 2);
    A.coutcomes[i] = MUON_DELIVERY_STATE_RELEASED;
}

static void c_modified(void *ud, const muon_event *ev) {
    (void)ud;
    int i = which(ev);
    CHECK(i == 3);
    A.coutcomes[i] = MUON_DELIVERY_STATE_MODIFIED;
}

static void c_settled(void *ud, const muon_event *ev) {
    (void)ud;
    int i = which(ev);
    muon_delivery d = A.cdel[i];
    CHECK((int)muon_delivery_remote_state(d) == A.coutcomes[i]);
    CHECK(muon_delivery_is_remote_settled(d));
    OK(muon_delivery_settle(d));
    A.csettled++;
    maybe_close_links();
}

static void c_message(void *ud, const muon_event *ev) {
    (void)ud;
    muon_delivery d = muon_event_delivery(ev);
    char text[16];
    muon_value_format(muon_message_body(muon_event_message(ev)), text, sizeof text);
    CHECK_STR(text, "hello");
    CHECK(muon_receiver_credit(A.crcv) == 0); /* the one credit is used */
    OK(muon_delivery_accept(d));
    A.cgot++;
    maybe_close_links();
}

static void c_link_final(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    if (++A.clink_finals == 2)
        OK(muon_connection_close(A.cconn));
}

static void c_final(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    A.cfinal++;
    OK(muon_listener_close(A.lis));
}

int main(void) {
    alarm(WATCHDOG_S);
    memset(&A, 0, sizeof A);
    OK(muon_loop_new(&A.loop));

    muon_connection_options *so;
    OK(muon_connection_options_new(&so));
    OK(muon_connection_options_set_handshake(so, false));
    muon_handler s = MUON_HANDLER_INIT;
    s.on_connection_accepted = s_accepted;
    s.on_connection_remote_open = s_remote_open;
    s.on_link_remote_attach = s_attach;
    s.on_message = s_message;
    s.on_link_flow = s_flow;
    s.on_accepted = s_accepted_outcome;
    s.on_settled = s_settled;
    s.on_link_remote_close = s_link_remote_close;
    s.on_connection_remote_close = s_remote_close;
    s.on_connection_final = s_final;
    OK(muon_loop_listen(A.loop, "127.0.0.1:0", so, &s, NULL, &A.lis));
    muon_connection_options_free(so);

    muon_connection_options *co;
    OK(muon_connection_options_new(&co));
    OK(muon_connection_options_set_handshake(co, false));
    OK(muon_connection_options_set_container_id(co, "manual-client"));
    OK(muon_connection_options_add_offered_capability(co, "ANONYMOUS-RELAY"));
    OK(muon_connection_options_add_desired_capability(co, "muon-test"));
    muon_value *v;
    OK(muon_value_string("v", &v));
    muon_value *props = fields("k", v);
    OK(muon_connection_options_set_properties(co, props));
    muon_value_free(props);
    muon_handler c = MUON_HANDLER_INIT;
    c.on_connection_remote_open = c_remote_open;
    c.on_link_remote_open = c_link_open;
    c.on_link_flow = c_flow;
    c.on_accepted = c_accepted;
    c.on_rejected = c_rejected;
    c.on_released = c_released;
    c.on_modified = c_modified;
    c.on_settled = c_settled;
    c.on_message = c_message;
    c.on_link_final = c_link_final;
    c.on_connection_final = c_final;
    char url[64];
    snprintf(url, sizeof url, "127.0.0.1:%u", (unsigned)muon_listener_port(A.lis));
    OK(muon_loop_connect(A.loop, url, co, &c, NULL, &A.cconn));
    muon_connection_options_free(co);

    OK(muon_loop_run(A.loop));

    CHECK(A.csent == 4);
    CHECK(A.sgot == 4);
    CHECK(A.coutcomes[0] == MUON_DELIVERY_STATE_ACCEPTED);
    CHECK(A.coutcomes[1] == MUON_DELIVERY_STATE_REJECTED);
    CHECK(A.coutcomes[2] == MUON_DELIVERY_STATE_RELEASED);
    CHECK(A.coutcomes[3] == MUON_DELIVERY_STATE_MODIFIED);
    CHECK(A.csettled == 4);
    CHECK(A.cgot == 1);
    CHECK(A.ssettled == 1);
    CHECK(A.sdrained == 1);
    CHECK(A.sremote_closes == 2);
    CHECK(A.clink_finals == 2);
    CHECK(A.cfinal == 1);
    CHECK(A.sfinals == 1);
    muon_loop_free(A.loop);
    puts("api_manual: ok");
    return 0;
}
