/* Link features for brokers: filters and selectors, terminus expiry,
 * detach without close and resuming a link (a durable subscription),
 * rcv-settle-mode second, delivery tags and message formats chosen by the
 * application, max-message-size. Every peer is a muon listener in the
 * same loop, over loopback TCP; each phase runs its own loop to the end:
 *   1. Termini: a receiver's filter set and JMS selector, expiry policy,
 *      timeout (rounded up to seconds, saturated) and durability reach the
 *      peer, which answers with the filter it applies (set by the
 *      application; none is echoed on its own); a sender's target too;
 *      bad filters and policies are refused.
 *   2. A durable subscription: the server keeps a subscription per
 *      (container id, link name). The client's receiver detaches
 *      (closed=false) and attaches again with the same name, once on the
 *      same connection and once from a new connection with the same
 *      container id, and gets what was published meanwhile; then it closes
 *      (closed=true) and the server drops the subscription. Each side sees
 *      which it was with muon_*_remote_closed. A sender detaches too.
 *   3. rcv-settle-mode second, both roles: a receiver asking for it (by
 *      hand and with auto-accept) sends its outcome unsettled, its delivery
 *      stays valid, and on_settled comes when the sender settled; a sender
 *      asking for it sees outcomes unsettled and settles them, and the
 *      server's receiver gets on_settled. A receiver in mode first is the
 *      control.
 *   4. Delivery tags and message formats the application chose, sent at
 *      once and through the queue (before the attach), read by the
 *      receiver.
 *   5. max-message-size: a receiver's limit reaches the sender, which
 *      refuses a larger message and goes on; a sender's own limit refuses
 *      larger messages, queued or not.
 * With arguments:
 *   api_links maxrecv PORT   a receiver with a limit of 1000 bytes, against
 *                            a peer that sends a larger message anyway
 *                            (tests/c_api.rs): the link is detached with
 *                            amqp:link:message-size-exceeded.
 *   api_links broker PORT    rcv-settle-mode second and a detached and
 *                            resumed receiver through the example broker. */
#define _POSIX_C_SOURCE 200809L
#include "api_check.h"

#include <stdint.h>

/* ---- helpers -------------------------------------------------------------- */

static muon_message *text_message(const char *text) {
    muon_message *m;
    OK(muon_message_new(&m));
    OK(muon_message_set_body_string(m, text));
    return m;
}

static muon_message *sized_message(size_t n) {
    static uint8_t bytes[4096];
    CHECK(n <= sizeof bytes);
    memset(bytes, 'x', n);
    muon_message *m;
    OK(muon_message_new(&m));
    OK(muon_message_set_body_binary(m, bytes, n));
    return m;
}

static void body_text(const muon_event *ev, char *buf, size_t cap) {
    muon_value_format(muon_message_body(muon_event_message(ev)), buf, cap);
}

static muon_connection connect_to(muon_loop *loop, uint16_t port, const char *container,
                                  const muon_handler *h, void *ud) {
    char url[64];
    snprintf(url, sizeof url, "127.0.0.1:%u", (unsigned)port);
    muon_connection_options *co = NULL;
    if (container != NULL) {
        OK(muon_connection_options_new(&co));
        OK(muon_connection_options_set_container_id(co, container));
    }
    muon_connection c;
    OK(muon_loop_connect(loop, url, co, h, ud, &c));
    muon_connection_options_free(co);
    return c;
}

/* The bytes `b` hold the string `want`. */
static bool bytes_are(muon_bytes b, const char *want) {
    return b.len == strlen(want) && memcmp(b.ptr, want, b.len) == 0;
}

/* Filter-set entry `key` of `filter` is a value described by the symbol
 * `descriptor`, describing the string `text`. */
static void check_filter_entry(const muon_value *filter, const char *key,
                               const char *descriptor, const char *text) {
    const muon_value *e = muon_value_map_get_symbol_key(filter, key);
    CHECK(e != NULL);
    CHECK(muon_value_type(e) == MUON_TYPE_DESCRIBED);
    muon_bytes b = {NULL, 0};
    OK(muon_value_described_descriptor_symbol(e, &b));
    CHECK(bytes_are(b, descriptor));
    OK(muon_value_get_string(muon_value_described_value(e), &b));
    CHECK(bytes_are(b, text));
}

/* ==== 1. termini ============================================================ */

#define SELECTOR_DESCRIPTOR "apache.org:selector-filter:string"

static struct {
    muon_loop *loop;
    muon_listener lis;
    muon_connection conn;
    int server_checked, client_open;
} P1;

static void p1_maybe_done(void) {
    if (P1.server_checked == 4 && P1.client_open == 4) {
        OK(muon_connection_close(P1.conn));
        OK(muon_listener_close(P1.lis));
    }
}

/* The server reads what each of the client's links asked for. */
static void p1_server_attach(void *ud, const muon_event *ev) {
    (void)ud;
    if (muon_event_is_receiver(ev)) {
        /* The client's sender: its target. */
        const muon_terminus *t = muon_receiver_remote_target(muon_event_receiver(ev));
        CHECK_STR(muon_terminus_address(t), "events");
        CHECK(muon_terminus_durability(t) == MUON_DURABILITY_CONFIGURATION);
        CHECK(muon_terminus_expiry_policy(t) == MUON_EXPIRY_POLICY_CONNECTION_CLOSE);
        /* UINT64_MAX ms: the most seconds a uint holds. */
        CHECK(muon_terminus_timeout_ms(t) == UINT64_C(4294967295) * 1000);
        CHECK(muon_terminus_filter(t) == NULL);
        P1.server_checked++;
        return;
    }
    const muon_terminus *s = muon_sender_remote_source(muon_event_sender(ev));
    const char *address = muon_terminus_address(s);
    CHECK(address != NULL);
    const muon_value *f = muon_terminus_filter(s);
    if (strcmp(address, "topic") == 0) {
        CHECK(muon_terminus_durability(s) == MUON_DURABILITY_UNSETTLED_STATE);
        CHECK(muon_terminus_expiry_policy(s) == MUON_EXPIRY_POLICY_NEVER);
        CHECK(muon_terminus_timeout_ms(s) == 2000); /* 1500 ms, rounded up */
        CHECK(f != NULL && muon_value_len(f) == 2);
        /* The application's own entry first, then the selector. */
        muon_bytes k = {NULL, 0};
        OK(muon_value_get_symbol(muon_value_map_key(f, 0), &k));
        CHECK(bytes_are(k, "example-filter"));
        check_filter_entry(f, "example-filter", "example:filter:string", "x > 1");
        check_filter_entry(f, "jms-selector", SELECTOR_DESCRIPTOR, "color = 'red'");
        /* This server applies the filter it was asked for, and says so;
         * a value that is not a filter set is refused. */
        muon_value *bad;
        OK(muon_value_int(1, &bad));
        CHECK_RC(muon_sender_set_source_filter(muon_event_sender(ev), bad),
                 MUON_RESULT_INVALID_ARGUMENT);
        muon_value_free(bad);
        OK(muon_sender_set_source_filter(muon_event_sender(ev), f));
    } else if (strcmp(address, "selected") == 0) {
        /* A second selector replaced the first; the defaults elsewhere. */
        CHECK(muon_terminus_durability(s) == MUON_DURABILITY_NONE);
        CHECK(muon_terminus_expiry_policy(s) == MUON_EXPIRY_POLICY_SESSION_END);
        CHECK(muon_terminus_timeout_ms(s) == 1000); /* 1 ms, rounded up */
        CHECK(f != NULL && muon_value_len(f) == 1);
        check_filter_entry(f, "jms-selector", SELECTOR_DESCRIPTOR, "weight > 10");
    } else {
        CHECK_STR(address, "plain");
        CHECK(f == NULL); /* set, then removed */
        CHECK(muon_terminus_timeout_ms(s) == 0);
    }
    P1.server_checked++;
}

/* The client reads the filter the server answered with: the one it set
 * with muon_sender_set_source_filter ("topic"), none where it set none
 * ("selected": muon never echoes a requested filter on its own). */
static void p1_client_open(void *ud, const muon_event *ev) {
    (void)ud;
    if (muon_event_is_receiver(ev)) {
        muon_receiver r = muon_event_receiver(ev);
        const muon_terminus *s = muon_receiver_remote_source(r);
        const muon_value *f = muon_terminus_filter(s);
        const char *address = muon_terminus_address(s);
        if (strcmp(address, "topic") == 0) {
            CHECK(f != NULL && muon_value_len(f) == 2);
            check_filter_entry(f, "jms-selector", SELECTOR_DESCRIPTOR, "color = 'red'");
            CHECK(muon_terminus_expiry_policy(s) == MUON_EXPIRY_POLICY_NEVER);
        } else {
            CHECK(f == NULL);
        }
    }
    P1.client_open++;
    p1_maybe_done();
}

static void p1_server_open(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    p1_maybe_done();
}

static void p1_bad_arguments(void) {
    muon_link_options *lo;
    OK(muon_link_options_new(&lo));
    CHECK_RC(muon_link_options_set_expiry_policy(lo, (enum muon_expiry_policy)99),
             MUON_RESULT_INVALID_ARGUMENT);
    CHECK_RC(muon_link_options_set_expiry_policy(NULL, MUON_EXPIRY_POLICY_NEVER),
             MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_link_options_set_durability(lo, (enum muon_durability)7),
             MUON_RESULT_INVALID_ARGUMENT);
    CHECK_RC(muon_link_options_set_timeout_ms(NULL, 1), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_link_options_set_selector(lo, NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_link_options_set_selector(NULL, "a = 1"), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_link_options_set_selector(lo, "\xff"), MUON_RESULT_INVALID_UTF8);
    CHECK_RC(muon_link_options_set_filter(NULL, NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_link_options_set_rcv_settle_second(NULL, true), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_link_options_set_max_message_size(NULL, 1), MUON_RESULT_NULL_ARGUMENT);

    /* Not a map. */
    muon_value *v;
    OK(muon_value_string("color = 'red'", &v));
    CHECK_RC(muon_link_options_set_filter(lo, v), MUON_RESULT_INVALID_ARGUMENT);
    muon_value_free(v);
    /* A string key. */
    muon_value *m, *k;
    OK(muon_value_map_new(&m));
    OK(muon_value_string("key", &k));
    OK(muon_value_null(&v));
    OK(muon_value_map_put(m, k, v));
    CHECK_RC(muon_link_options_set_filter(lo, m), MUON_RESULT_INVALID_ARGUMENT);
    muon_value_free(m);
    /* A value that is neither described nor null. */
    OK(muon_value_map_new(&m));
    OK(muon_value_symbol("key", &k));
    OK(muon_value_int(1, &v));
    OK(muon_value_map_put(m, k, v));
    CHECK_RC(muon_link_options_set_filter(lo, m), MUON_RESULT_INVALID_ARGUMENT);
    muon_value_free(m);
    /* Null values are allowed. */
    OK(muon_value_map_new(&m));
    OK(muon_value_symbol("key", &k));
    OK(muon_value_null(&v));
    OK(muon_value_map_put(m, k, v));
    OK(muon_link_options_set_filter(lo, m));
    muon_value_free(m);
    muon_link_options_free(lo);
}

static muon_value *example_filter(void) {
    muon_value *m, *k, *d, *desc, *text;
    OK(muon_value_map_new(&m));
    OK(muon_value_symbol("example-filter", &k));
    OK(muon_value_symbol("example:filter:string", &desc));
    OK(muon_value_string("x > 1", &text));
    OK(muon_value_described_new(desc, text, &d));
    OK(muon_value_map_put(m, k, d));
    return m;
}

static void phase1(void) {
    p1_bad_arguments();
    memset(&P1, 0, sizeof P1);
    OK(muon_loop_new(&P1.loop));
    muon_handler server = MUON_HANDLER_INIT;
    server.on_link_remote_attach = p1_server_attach;
    server.on_link_remote_open = p1_server_open;
    OK(muon_loop_listen(P1.loop, "127.0.0.1:0", NULL, &server, NULL, &P1.lis));
    P1.conn = connect_to(P1.loop, muon_listener_port(P1.lis), NULL, NULL, NULL);
    muon_handler h = MUON_HANDLER_INIT;
    h.on_link_remote_open = p1_client_open;

    /* A filter of the application's own, then a selector added to it. */
    muon_link_options *lo;
    OK(muon_link_options_new(&lo));
    muon_value *f = example_filter();
    OK(muon_link_options_set_filter(lo, f));
    muon_value_free(f);
    OK(muon_link_options_set_selector(lo, "color = 'red'"));
    OK(muon_link_options_set_durability(lo, MUON_DURABILITY_UNSETTLED_STATE));
    OK(muon_link_options_set_expiry_policy(lo, MUON_EXPIRY_POLICY_NEVER));
    OK(muon_link_options_set_timeout_ms(lo, 1500));
    OK(muon_connection_open_receiver(P1.conn, "topic", lo, &h, NULL, NULL));
    muon_link_options_free(lo);

    /* Two selectors: the second replaces the first. */
    OK(muon_link_options_new(&lo));
    OK(muon_link_options_set_selector(lo, "color = 'blue'"));
    OK(muon_link_options_set_selector(lo, "weight > 10"));
    OK(muon_link_options_set_timeout_ms(lo, 1));
    OK(muon_connection_open_receiver(P1.conn, "selected", lo, &h, NULL, NULL));
    muon_link_options_free(lo);

    /* A filter set, then removed. */
    OK(muon_link_options_new(&lo));
    OK(muon_link_options_set_selector(lo, "a = 1"));
    OK(muon_link_options_set_filter(lo, NULL));
    OK(muon_link_options_set_timeout_ms(lo, 0));
    OK(muon_connection_open_receiver(P1.conn, "plain", lo, &h, NULL, NULL));
    muon_link_options_free(lo);

    /* A sender's target; a filter on a sender is ignored. */
    OK(muon_link_options_new(&lo));
    OK(muon_link_options_set_durability(lo, MUON_DURABILITY_CONFIGURATION));
    OK(muon_link_options_set_expiry_policy(lo, MUON_EXPIRY_POLICY_CONNECTION_CLOSE));
    OK(muon_link_options_set_timeout_ms(lo, UINT64_MAX));
    OK(muon_link_options_set_selector(lo, "ignored = 1"));
    OK(muon_connection_open_sender(P1.conn, "events", lo, &h, NULL, NULL));
    muon_link_options_free(lo);

    OK(muon_loop_run(P1.loop));
    CHECK(P1.server_checked == 4);
    CHECK(P1.client_open == 4);
    muon_loop_free(P1.loop);
}

/* ==== 2. a durable subscription: detach, resume, close ====================== */

#define CONTAINER "durable-client"
#define SUB_NAME "sub-1"

/* The server's one subscription, kept by (container id, link name). */
static struct {
    bool exists, attached;
    char container[64], name[64];
    muon_sender sender;
    int backlog;  /* published, not sent yet */
    int next_seq; /* the number of the next message sent */
    int resumed, detached, closed, sender_detached;
} SUB;

static struct {
    muon_loop *loop;
    muon_listener lis;
    muon_connection conn;
    muon_receiver receiver;
    muon_sender sender;
    int step;
    int received; /* messages received, in order */
    int remote_detaches, remote_closes;
} P2;

static void sub_flush(void) {
    if (!SUB.attached) return;
    while (SUB.backlog > 0 && muon_sender_credit(SUB.sender) > 0) {
        char text[32];
        snprintf(text, sizeof text, "m%d", SUB.next_seq);
        muon_message *m = text_message(text);
        OK(muon_sender_send(SUB.sender, m, NULL));
        muon_message_free(m);
        SUB.next_seq++;
        SUB.backlog--;
    }
}

static void sub_publish(int n) {
    SUB.backlog += n;
    sub_flush();
}

static void p2_server_attach(void *ud, const muon_event *ev) {
    (void)ud;
    if (muon_event_is_receiver(ev)) return; /* the client's detaching sender */
    muon_sender s = muon_event_sender(ev);
    const char *container = muon_connection_remote_container_id(muon_event_connection(ev));
    const char *name = muon_sender_name(s);
    CHECK_STR(container, CONTAINER);
    CHECK_STR(name, SUB_NAME);
    const muon_terminus *src = muon_sender_remote_source(s);
    CHECK(muon_terminus_durability(src) == MUON_DURABILITY_UNSETTLED_STATE);
    CHECK(muon_terminus_expiry_policy(src) == MUON_EXPIRY_POLICY_NEVER);
    if (SUB.exists && strcmp(SUB.container, container) == 0 && strcmp(SUB.name, name) == 0) {
        SUB.resumed++;
    } else {
        CHECK(!SUB.exists);
        SUB.exists = true;
        snprintf(SUB.container, sizeof SUB.container, "%s", container);
        snprintf(SUB.name, sizeof SUB.name, "%s", name);
    }
    CHECK(!SUB.attached);
    SUB.attached = true;
    SUB.sender = s;
}

static void p2_server_flow(void *ud, const muon_event *ev) {
    (void)ud;
    if (SUB.attached && SAME(muon_event_sender(ev), SUB.sender)) sub_flush();
}

static void p2_server_remote_close(void *ud, const muon_event *ev) {
    (void)ud;
    if (muon_event_is_receiver(ev)) {
        /* The client's sender detached, not closed. */
        CHECK(!muon_receiver_remote_closed(muon_event_receiver(ev)));
        SUB.sender_detached++;
        return;
    }
    CHECK(SUB.attached && SAME(muon_event_sender(ev), SUB.sender));
    SUB.attached = false;
    if (muon_sender_remote_closed(muon_event_sender(ev))) {
        SUB.closed++;
        SUB.exists = false; /* closed: the subscription goes */
    } else {
        SUB.detached++; /* detached: kept for the next attach */
    }
}

static muon_receiver p2_open_receiver(const muon_handler *h) {
    muon_link_options *lo;
    OK(muon_link_options_new(&lo));
    OK(muon_link_options_set_name(lo, SUB_NAME));
    OK(muon_link_options_set_durability(lo, MUON_DURABILITY_UNSETTLED_STATE));
    OK(muon_link_options_set_expiry_policy(lo, MUON_EXPIRY_POLICY_NEVER));
    muon_receiver r;
    OK(muon_connection_open_receiver(P2.conn, "topic", lo, h, NULL, &r));
    muon_link_options_free(lo);
    return r;
}

static void p2_message(void *ud, const muon_event *ev) {
    (void)ud;
    char text[32], want[32];
    body_text(ev, text, sizeof text);
    snprintf(want, sizeof want, "m%d", P2.received);
    CHECK_STR(text, want);
    P2.received++;
    muon_receiver r = muon_event_receiver(ev);
    /* Steps: m0 m1, detach; m2, detach; new connection: m3 m4, close. */
    if (P2.received == 2 || P2.received == 3) {
        OK(muon_receiver_detach(r));
        OK(muon_receiver_detach(r)); /* twice: nothing more */
    } else if (P2.received == 5) {
        OK(muon_receiver_close(r));
    }
}

static void p2_remote_close(void *ud, const muon_event *ev) {
    (void)ud;
    if (!muon_event_is_receiver(ev)) {
        CHECK(!muon_sender_remote_closed(muon_event_sender(ev)));
        return;
    }
    /* muon's handshake answers a detach with a detach, a close with a close. */
    if (muon_receiver_remote_closed(muon_event_receiver(ev))) {
        P2.remote_closes++;
    } else {
        P2.remote_detaches++;
    }
}

static const muon_handler *p2_client_handler(void);

static void p2_sender_open(void *ud, const muon_event *ev) {
    (void)ud;
    if (!muon_event_is_receiver(ev)) OK(muon_sender_detach(muon_event_sender(ev)));
}

static void p2_link_final(void *ud, const muon_event *ev) {
    (void)ud;
    if (!muon_event_is_receiver(ev)) {
        /* The detached sender: its handle is stale after this. */
        OK(muon_connection_close(P2.conn));
        OK(muon_listener_close(P2.lis));
        return;
    }
    P2.step++;
    switch (P2.step) {
    case 1: /* detached after m1: publish one, attach again here */
        CHECK(P2.received == 2 && SUB.detached == 1 && !SUB.attached);
        sub_publish(1);
        P2.receiver = p2_open_receiver(p2_client_handler());
        break;
    case 2: /* detached after m2: publish two, then a new connection */
        CHECK(P2.received == 3 && SUB.detached == 2);
        sub_publish(2);
        OK(muon_connection_close(P2.conn));
        break;
    case 3: { /* closed after m4: the subscription is gone; a sender detaches */
        CHECK(P2.received == 5 && SUB.closed == 1 && !SUB.exists);
        muon_handler h = MUON_HANDLER_INIT;
        h.on_link_remote_open = p2_sender_open;
        h.on_link_remote_close = p2_remote_close;
        h.on_link_final = p2_link_final;
        OK(muon_connection_open_sender(P2.conn, "q", NULL, &h, NULL, &P2.sender));
        break;
    }
    default:
        CHECK(false);
    }
}

static void p2_connection_final(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    if (P2.step == 2) {
        /* The same container id from a new connection resumes the link. */
        P2.conn = connect_to(P2.loop, muon_listener_port(P2.lis), CONTAINER,
                             p2_client_handler(), NULL);
        P2.receiver = p2_open_receiver(p2_client_handler());
    }
}

static const muon_handler *p2_client_handler(void) {
    static muon_handler h = MUON_HANDLER_INIT;
    h.on_message = p2_message;
    h.on_link_remote_close = p2_remote_close;
    h.on_link_final = p2_link_final;
    h.on_connection_final = p2_connection_final;
    return &h;
}

static void phase2(void) {
    memset(&P2, 0, sizeof P2);
    memset(&SUB, 0, sizeof SUB);
    OK(muon_loop_new(&P2.loop));
    muon_handler server = MUON_HANDLER_INIT;
    server.on_link_remote_attach = p2_server_attach;
    server.on_link_flow = p2_server_flow;
    server.on_link_remote_close = p2_server_remote_close;
    OK(muon_loop_listen(P2.loop, "127.0.0.1:0", NULL, &server, NULL, &P2.lis));
    sub_publish(2);
    P2.conn = connect_to(P2.loop, muon_listener_port(P2.lis), CONTAINER, p2_client_handler(),
                         NULL);
    P2.receiver = p2_open_receiver(p2_client_handler());
    OK(muon_loop_run(P2.loop));
    CHECK(P2.received == 5);
    CHECK(SUB.resumed == 2 && SUB.detached == 2 && SUB.closed == 1);
    CHECK(SUB.sender_detached == 1);
    CHECK(P2.remote_detaches == 2 && P2.remote_closes == 1);
    /* Stale after its final event. */
    CHECK_RC(muon_sender_detach(P2.sender), MUON_RESULT_STALE_HANDLE);
    CHECK_RC(muon_receiver_detach(P2.receiver), MUON_RESULT_STALE_HANDLE);
    CHECK(!muon_receiver_remote_closed(P2.receiver));
    muon_receiver none = {0};
    CHECK_RC(muon_receiver_detach(none), MUON_RESULT_NULL_ARGUMENT);
    muon_loop_free(P2.loop);
}

/* ==== 3. rcv-settle-mode second ============================================ */

#define N3 5

/* The client's receivers: by hand and auto-accept in mode second, and one
 * in mode first. */
enum { MANUAL, AUTO, FIRST, RECEIVERS };
static const char *const RECEIVER_ADDRESS[RECEIVERS] = {"manual", "auto", "first"};

static struct {
    muon_loop *loop;
    muon_listener lis;
    muon_connection conn;
    /* client receivers */
    int received[RECEIVERS], settled[RECEIVERS];
    muon_delivery held[RECEIVERS][N3];
    /* server senders (to the client's receivers) */
    int server_sent[RECEIVERS], server_accepted[RECEIVERS], server_settled[RECEIVERS];
    /* the client's sender, and the server's receiver */
    int client_accepted, client_settled, server_received, server_receiver_settled;
    bool client_sent;
} P3;

static int receiver_index(const char *address) {
    for (int i = 0; i < RECEIVERS; i++) {
        if (address != NULL && strcmp(address, RECEIVER_ADDRESS[i]) == 0) return i;
    }
    CHECK(false);
    return -1;
}

static void p3_maybe_done(void) {
    for (int i = 0; i < RECEIVERS; i++) {
        if (P3.server_settled[i] < N3) return;
    }
    if (P3.settled[MANUAL] < N3 || P3.settled[AUTO] < N3) return;
    if (P3.client_settled < N3 || P3.server_receiver_settled < N3) return;
    OK(muon_connection_close(P3.conn));
    OK(muon_listener_close(P3.lis));
}

/* ---- the server: senders to the client's receivers, a receiver ---- */

static int server_index(muon_sender s) {
    return receiver_index(muon_sender_remote_source_address(s));
}

static void p3_server_flow(void *ud, const muon_event *ev) {
    (void)ud;
    if (muon_event_is_receiver(ev)) return;
    muon_sender s = muon_event_sender(ev);
    int i = server_index(s);
    while (P3.server_sent[i] < N3 && muon_sender_credit(s) > 0) {
        muon_message *m = text_message(RECEIVER_ADDRESS[i]);
        OK(muon_sender_send(s, m, NULL));
        muon_message_free(m);
        P3.server_sent[i]++;
    }
}

static void p3_server_accepted(void *ud, const muon_event *ev) {
    (void)ud;
    int i = server_index(muon_event_sender(ev));
    /* Mode second: the outcome comes unsettled, for this side to settle. */
    CHECK(muon_delivery_is_remote_settled(muon_event_delivery(ev)) == (i == FIRST));
    P3.server_accepted[i]++;
}

static void p3_server_settled(void *ud, const muon_event *ev) {
    (void)ud;
    if (muon_event_is_receiver(ev)) {
        /* The server's receiver, in the mode the client's sender asked:
         * its sender settled after the outcome. */
        P3.server_receiver_settled++;
        CHECK(P3.server_receiver_settled <= P3.server_received);
    } else {
        int i = server_index(muon_event_sender(ev));
        P3.server_settled[i]++;
        CHECK(P3.server_settled[i] <= P3.server_accepted[i]);
    }
    p3_maybe_done();
}

static void p3_server_message(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    P3.server_received++; /* auto-accept: the outcome goes out unsettled */
}

/* ---- the client ---- */

static void p3_message(void *ud, const muon_event *ev) {
    (void)ud;
    muon_receiver r = muon_event_receiver(ev);
    int i = receiver_index(muon_terminus_address(muon_receiver_remote_source(r)));
    muon_delivery d = muon_event_delivery(ev);
    CHECK(P3.received[i] < N3);
    P3.held[i][P3.received[i]++] = d;
    if (i == MANUAL) {
        OK(muon_delivery_accept(d));
        /* Accepted, not settled: the handle lives until the sender settles. */
        CHECK(!muon_delivery_is_remote_settled(d));
        CHECK_RC(muon_delivery_accept(d), MUON_RESULT_OK);
    }
}

static void p3_receiver_settled(void *ud, const muon_event *ev) {
    (void)ud;
    if (!muon_event_is_receiver(ev)) {
        /* The client's sender. */
        P3.client_settled++;
        CHECK(P3.client_settled <= P3.client_accepted);
        p3_maybe_done();
        return;
    }
    muon_receiver r = muon_event_receiver(ev);
    int i = receiver_index(muon_terminus_address(muon_receiver_remote_source(r)));
    CHECK(i != FIRST); /* mode first: settled by the receiver, no event */
    /* The deliveries settle in order, with the handles on_message had. */
    CHECK(SAME(muon_event_delivery(ev), P3.held[i][P3.settled[i]]));
    CHECK(muon_delivery_is_remote_settled(muon_event_delivery(ev)));
    P3.settled[i]++;
    /* The sender settled after its outcome arrived. */
    CHECK(P3.settled[i] <= P3.server_settled[i]);
    p3_maybe_done();
}

static void p3_client_flow(void *ud, const muon_event *ev) {
    (void)ud;
    if (muon_event_is_receiver(ev) || P3.client_sent) return;
    P3.client_sent = true;
    for (int i = 0; i < N3; i++) {
        muon_message *m = text_message("to the server");
        OK(muon_sender_send(muon_event_sender(ev), m, NULL));
        muon_message_free(m);
    }
}

static void p3_client_accepted(void *ud, const muon_event *ev) {
    (void)ud;
    /* The server's receiver took mode second: the outcome is unsettled. */
    CHECK(!muon_delivery_is_remote_settled(muon_event_delivery(ev)));
    P3.client_accepted++;
}

static void phase3(void) {
    memset(&P3, 0, sizeof P3);
    OK(muon_loop_new(&P3.loop));
    muon_handler server = MUON_HANDLER_INIT;
    server.on_link_flow = p3_server_flow;
    server.on_accepted = p3_server_accepted;
    server.on_settled = p3_server_settled;
    server.on_message = p3_server_message;
    OK(muon_loop_listen(P3.loop, "127.0.0.1:0", NULL, &server, NULL, &P3.lis));
    P3.conn = connect_to(P3.loop, muon_listener_port(P3.lis), NULL, NULL, NULL);
    muon_handler h = MUON_HANDLER_INIT;
    h.on_message = p3_message;
    h.on_settled = p3_receiver_settled;
    h.on_link_flow = p3_client_flow;
    h.on_accepted = p3_client_accepted;
    for (int i = 0; i < RECEIVERS; i++) {
        muon_link_options *lo;
        OK(muon_link_options_new(&lo));
        OK(muon_link_options_set_rcv_settle_second(lo, i != FIRST));
        OK(muon_link_options_set_auto_accept(lo, i != MANUAL));
        OK(muon_connection_open_receiver(P3.conn, RECEIVER_ADDRESS[i], lo, &h, NULL, NULL));
        muon_link_options_free(lo);
    }
    muon_link_options *lo;
    OK(muon_link_options_new(&lo));
    OK(muon_link_options_set_rcv_settle_second(lo, true));
    OK(muon_connection_open_sender(P3.conn, "inbox", lo, &h, NULL, NULL));
    muon_link_options_free(lo);
    OK(muon_loop_run(P3.loop));
    for (int i = 0; i < RECEIVERS; i++) {
        CHECK(P3.received[i] == N3);
        CHECK(P3.server_accepted[i] == N3);
        CHECK(P3.server_settled[i] == N3);
    }
    CHECK(P3.settled[MANUAL] == N3 && P3.settled[AUTO] == N3 && P3.settled[FIRST] == 0);
    CHECK(P3.client_accepted == N3 && P3.client_settled == N3);
    CHECK(P3.server_received == N3 && P3.server_receiver_settled == N3);
    muon_loop_free(P3.loop);
}

/* ==== 4. delivery tags and message formats ================================== */

#define BATCH_FORMAT 0x80013700u /* a vendor's format code, version 0 */

static const uint8_t QUEUED_TAG[] = "queued-tag-0001"; /* 15 bytes: never muon's */
static const uint8_t LATE_TAG[] = {0x01, 0x02, 0x03};

static struct {
    muon_loop *loop;
    muon_listener lis;
    muon_connection conn;
    int received, accepted;
    bool late_sent;
} P4;

static void p4_server_message(void *ud, const muon_event *ev) {
    (void)ud;
    muon_delivery d = muon_event_delivery(ev);
    uint8_t tag[40];
    size_t n = muon_delivery_tag(d, tag, sizeof tag);
    uint32_t format = muon_delivery_message_format(d);
    switch (P4.received++) {
    case 0: /* queued, with its tag and format */
        CHECK(n == sizeof QUEUED_TAG - 1 && memcmp(tag, QUEUED_TAG, n) == 0);
        CHECK(format == BATCH_FORMAT);
        break;
    case 1: /* queued, muon's tag, format 0 */
    case 2: /* muon_sender_send */
        CHECK(n >= 1 && n <= 8);
        CHECK(format == 0);
        break;
    case 3: /* sent at once */
        CHECK(n == sizeof LATE_TAG && memcmp(tag, LATE_TAG, n) == 0);
        CHECK(format == 7);
        break;
    default:
        CHECK(false);
    }
}

static void p4_flow(void *ud, const muon_event *ev) {
    (void)ud;
    if (P4.late_sent) return;
    P4.late_sent = true;
    muon_sender s = muon_event_sender(ev);
    muon_message *m = text_message("late");
    CHECK_RC(muon_sender_send_with(s, m, NULL, 3, 0, NULL), MUON_RESULT_NULL_ARGUMENT);
    uint8_t long_tag[33] = {0};
    CHECK_RC(muon_sender_send_with(s, m, long_tag, sizeof long_tag, 0, NULL),
             MUON_RESULT_INVALID_ARGUMENT);
    CHECK_RC(muon_sender_send_with(s, NULL, LATE_TAG, sizeof LATE_TAG, 0, NULL),
             MUON_RESULT_NULL_ARGUMENT);
    muon_delivery d;
    OK(muon_sender_send_with(s, m, LATE_TAG, sizeof LATE_TAG, 7, &d));
    muon_message_free(m);
    /* A sent delivery knows its tag and format too. */
    uint8_t tag[8];
    CHECK(muon_delivery_tag(d, tag, sizeof tag) == sizeof LATE_TAG);
    CHECK(memcmp(tag, LATE_TAG, sizeof LATE_TAG) == 0);
    CHECK(muon_delivery_message_format(d) == 7);
}

static void p4_accepted(void *ud, const muon_event *ev) {
    (void)ud;
    muon_delivery d = muon_event_delivery(ev);
    uint32_t want[] = {BATCH_FORMAT, 0, 0, 7};
    CHECK(P4.accepted < 4);
    CHECK(muon_delivery_message_format(d) == want[P4.accepted]);
    if (++P4.accepted == 4) {
        OK(muon_connection_close(P4.conn));
        OK(muon_listener_close(P4.lis));
    }
}

static void phase4(void) {
    memset(&P4, 0, sizeof P4);
    OK(muon_loop_new(&P4.loop));
    muon_handler server = MUON_HANDLER_INIT;
    server.on_message = p4_server_message;
    OK(muon_loop_listen(P4.loop, "127.0.0.1:0", NULL, &server, NULL, &P4.lis));
    P4.conn = connect_to(P4.loop, muon_listener_port(P4.lis), NULL, NULL, NULL);
    muon_handler h = MUON_HANDLER_INIT;
    h.on_link_flow = p4_flow;
    h.on_accepted = p4_accepted;
    muon_sender s;
    OK(muon_connection_open_sender(P4.conn, "q", NULL, &h, NULL, &s));
    /* Before the attach: queued, each with its tag and format. */
    muon_message *m = text_message("queued");
    muon_delivery d;
    OK(muon_sender_send_with(s, m, QUEUED_TAG, sizeof QUEUED_TAG - 1, BATCH_FORMAT, &d));
    CHECK(!IS_NULL_HANDLE(d));
    CHECK(muon_sender_queued(s) == 1);
    /* Queued: not sent, so no format on the wire yet. */
    CHECK(muon_delivery_message_format(d) == 0);
    OK(muon_sender_send_with(s, m, NULL, 0, 0, NULL));
    OK(muon_sender_send(s, m, NULL));
    CHECK(muon_sender_queued(s) == 3);
    muon_message_free(m);
    OK(muon_loop_run(P4.loop));
    CHECK(P4.received == 4 && P4.accepted == 4);
    m = text_message("stale");
    CHECK_RC(muon_sender_send_with(s, m, LATE_TAG, sizeof LATE_TAG, 0, NULL),
             MUON_RESULT_STALE_HANDLE);
    muon_message_free(m);
    muon_delivery none = {0};
    CHECK(muon_delivery_message_format(none) == 0);
    muon_loop_free(P4.loop);
}

/* ==== 5. max-message-size =================================================== */

#define DEFAULT_LIMIT (UINT64_C(64) << 20)

static struct {
    muon_loop *loop;
    muon_listener lis;
    muon_connection conn;
    int received[2], server_flows, accepted;
    bool sent[2];
    muon_sender own_limit;
} P5;

/* The server's senders: to the client's receiver with a limit of 1000,
 * and to one with none (the connection's 64 MiB). */
static void p5_server_flow(void *ud, const muon_event *ev) {
    (void)ud;
    if (muon_event_is_receiver(ev)) return;
    muon_sender s = muon_event_sender(ev);
    bool limited = strcmp(muon_sender_remote_source_address(s), "limited") == 0;
    if (P5.sent[limited]) return;
    P5.sent[limited] = true;
    if (!limited) {
        CHECK(muon_sender_remote_max_message_size(s) == DEFAULT_LIMIT);
        muon_message *m = sized_message(2000);
        OK(muon_sender_send(s, m, NULL));
        muon_message_free(m);
        return;
    }
    CHECK(muon_sender_remote_max_message_size(s) == 1000);
    uint32_t credit = muon_sender_credit(s);
    muon_message *big = sized_message(2000);
    CHECK_RC(muon_sender_send(s, big, NULL), MUON_RESULT_INVALID_ARGUMENT);
    muon_message_free(big);
    /* Refused, not a link error: the credit is untouched, the link goes on. */
    CHECK(muon_sender_credit(s) == credit);
    muon_message *m = sized_message(500);
    OK(muon_sender_send(s, m, NULL));
    muon_message_free(m);
}

static void p5_maybe_done(void) {
    if (P5.received[0] == 1 && P5.received[1] == 1 && P5.accepted == 1) {
        OK(muon_connection_close(P5.conn));
        OK(muon_listener_close(P5.lis));
    }
}

static void p5_message(void *ud, const muon_event *ev) {
    (void)ud;
    muon_receiver r = muon_event_receiver(ev);
    bool limited = strcmp(muon_receiver_remote_source_address(r), "limited") == 0;
    muon_bytes b = {NULL, 0};
    OK(muon_message_body_data(muon_event_message(ev), 0, &b));
    CHECK(b.len == (limited ? 500 : 2000));
    P5.received[limited]++;
    p5_maybe_done();
}

/* The client's sender with a limit of its own, 600 bytes. */
static void p5_flow(void *ud, const muon_event *ev) {
    (void)ud;
    if (muon_event_is_receiver(ev)) return;
    muon_sender s = muon_event_sender(ev);
    muon_message *big = sized_message(1000);
    CHECK_RC(muon_sender_send(s, big, NULL), MUON_RESULT_INVALID_ARGUMENT);
    muon_message_free(big);
}

static void p5_accepted(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    P5.accepted++;
    p5_maybe_done();
}

static void phase5(void) {
    memset(&P5, 0, sizeof P5);
    OK(muon_loop_new(&P5.loop));
    muon_handler server = MUON_HANDLER_INIT;
    server.on_link_flow = p5_server_flow;
    OK(muon_loop_listen(P5.loop, "127.0.0.1:0", NULL, &server, NULL, &P5.lis));
    P5.conn = connect_to(P5.loop, muon_listener_port(P5.lis), NULL, NULL, NULL);
    muon_handler h = MUON_HANDLER_INIT;
    h.on_message = p5_message;
    h.on_link_flow = p5_flow;
    h.on_accepted = p5_accepted;
    muon_link_options *lo;
    OK(muon_link_options_new(&lo));
    OK(muon_link_options_set_max_message_size(lo, 1000));
    OK(muon_connection_open_receiver(P5.conn, "limited", lo, &h, NULL, NULL));
    muon_link_options_free(lo);
    OK(muon_connection_open_receiver(P5.conn, "unlimited", NULL, &h, NULL, NULL));

    OK(muon_link_options_new(&lo));
    OK(muon_link_options_set_max_message_size(lo, 600));
    OK(muon_connection_open_sender(P5.conn, "q", lo, &h, NULL, &P5.own_limit));
    muon_link_options_free(lo);
    /* Before the attach: refused at once, not queued to fail later. */
    muon_message *big = sized_message(1000);
    CHECK_RC(muon_sender_send(P5.own_limit, big, NULL), MUON_RESULT_INVALID_ARGUMENT);
    muon_message_free(big);
    muon_message *m = sized_message(100);
    OK(muon_sender_send(P5.own_limit, m, NULL));
    muon_message_free(m);
    CHECK(muon_sender_queued(P5.own_limit) == 1);
    OK(muon_loop_run(P5.loop));
    CHECK(P5.received[0] == 1 && P5.received[1] == 1 && P5.accepted == 1);
    muon_loop_free(P5.loop);
}

/* ==== maxrecv PORT: a peer that ignores the limit =========================== */

static struct {
    muon_connection conn;
    int received, remote_closes, finals;
} PM;

static void pm_message(void *ud, const muon_event *ev) {
    (void)ud;
    muon_bytes b = {NULL, 0};
    OK(muon_message_body_data(muon_event_message(ev), 0, &b));
    CHECK(b.len == 500);
    PM.received++;
}

static void pm_check_condition(muon_receiver r) {
    const muon_condition *c = muon_receiver_local_condition(r);
    CHECK(c != NULL);
    CHECK_STR(muon_condition_name(c), "amqp:link:message-size-exceeded");
}

static void pm_remote_close(void *ud, const muon_event *ev) {
    (void)ud;
    pm_check_condition(muon_event_receiver(ev));
    PM.remote_closes++;
}

static void pm_final(void *ud, const muon_event *ev) {
    (void)ud;
    pm_check_condition(muon_event_receiver(ev));
    PM.finals++;
    OK(muon_connection_close(PM.conn));
}

static int max_receive(uint16_t port) {
    muon_loop *loop;
    OK(muon_loop_new(&loop));
    memset(&PM, 0, sizeof PM);
    PM.conn = connect_to(loop, port, NULL, NULL, NULL);
    muon_handler h = MUON_HANDLER_INIT;
    h.on_message = pm_message;
    h.on_link_remote_close = pm_remote_close;
    h.on_link_final = pm_final;
    muon_link_options *lo;
    OK(muon_link_options_new(&lo));
    OK(muon_link_options_set_max_message_size(lo, 1000));
    OK(muon_connection_open_receiver(PM.conn, "limited", lo, &h, NULL, NULL));
    muon_link_options_free(lo);
    OK(muon_loop_run(loop));
    CHECK(PM.received == 1 && PM.remote_closes == 1 && PM.finals == 1);
    muon_loop_free(loop);
    printf("api_links: ok\n");
    return 0;
}

/* ==== broker PORT: the example broker ======================================= */

#define NB 5

static struct {
    muon_connection conn;
    muon_receiver durable;
    int received, settled, accepted, sender_settled;
    int durable_received, durable_opens;
    bool durable_sent;
} PB;

static void pb_maybe_done(void) {
    if (PB.settled == NB && PB.sender_settled == NB && PB.durable_received == 2) {
        OK(muon_connection_close(PB.conn));
    }
}

static void pb_message(void *ud, const muon_event *ev) {
    (void)ud;
    muon_delivery d = muon_event_delivery(ev);
    OK(muon_delivery_accept(d));
    CHECK(!muon_delivery_is_remote_settled(d));
    PB.received++;
}

static void pb_settled(void *ud, const muon_event *ev) {
    (void)ud;
    if (muon_event_is_receiver(ev)) {
        PB.settled++;
    } else {
        CHECK(PB.sender_settled < PB.accepted);
        PB.sender_settled++;
    }
    pb_maybe_done();
}

static void pb_accepted(void *ud, const muon_event *ev) {
    (void)ud;
    /* The broker's receiver took mode second too. */
    CHECK(!muon_delivery_is_remote_settled(muon_event_delivery(ev)));
    PB.accepted++;
}

static muon_receiver pb_open_durable(const muon_handler *h) {
    muon_link_options *lo;
    OK(muon_link_options_new(&lo));
    OK(muon_link_options_set_name(lo, "links-durable-sub"));
    OK(muon_link_options_set_durability(lo, MUON_DURABILITY_UNSETTLED_STATE));
    OK(muon_link_options_set_expiry_policy(lo, MUON_EXPIRY_POLICY_NEVER));
    OK(muon_link_options_set_credit_window(lo, 0));
    muon_receiver r;
    OK(muon_connection_open_receiver(PB.conn, "links-durable", lo, h, NULL, &r));
    muon_link_options_free(lo);
    return r;
}

static void pb_durable_message(void *ud, const muon_event *ev) {
    (void)ud;
    char text[32], want[32];
    body_text(ev, text, sizeof text);
    snprintf(want, sizeof want, "d%d", PB.durable_received);
    CHECK_STR(text, want);
    if (++PB.durable_received == 1) {
        OK(muon_receiver_detach(muon_event_receiver(ev)));
    }
    pb_maybe_done();
}

static void pb_durable_open(void *ud, const muon_event *ev) {
    (void)ud;
    muon_receiver r = muon_event_receiver(ev);
    if (PB.durable_opens++ == 0) {
        /* Publish two, receive one at a time. */
        muon_sender s;
        OK(muon_connection_open_sender(PB.conn, "links-durable", NULL, NULL, NULL, &s));
        for (int i = 0; i < 2; i++) {
            char text[8];
            snprintf(text, sizeof text, "d%d", i);
            muon_message *m = text_message(text);
            OK(muon_sender_send(s, m, NULL));
            muon_message_free(m);
        }
    }
    OK(muon_receiver_flow(r, 1));
}

static void pb_durable_remote_close(void *ud, const muon_event *ev) {
    (void)ud;
    /* The broker answered the detach with a detach. */
    CHECK(!muon_receiver_remote_closed(muon_event_receiver(ev)));
}

static const muon_handler *pb_durable_handler(void);

static void pb_durable_final(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    if (PB.durable_received == 1) PB.durable = pb_open_durable(pb_durable_handler());
}

static const muon_handler *pb_durable_handler(void) {
    static muon_handler h = MUON_HANDLER_INIT;
    h.on_message = pb_durable_message;
    h.on_link_remote_open = pb_durable_open;
    h.on_link_remote_close = pb_durable_remote_close;
    h.on_link_final = pb_durable_final;
    return &h;
}

static int broker(uint16_t port) {
    muon_loop *loop;
    OK(muon_loop_new(&loop));
    memset(&PB, 0, sizeof PB);
    PB.conn = connect_to(loop, port, "links-broker-client", NULL, NULL);
    muon_handler h = MUON_HANDLER_INIT;
    h.on_message = pb_message;
    h.on_settled = pb_settled;
    h.on_accepted = pb_accepted;
    muon_link_options *lo;
    OK(muon_link_options_new(&lo));
    OK(muon_link_options_set_rcv_settle_second(lo, true));
    OK(muon_link_options_set_auto_accept(lo, false));
    OK(muon_connection_open_receiver(PB.conn, "links-second", lo, &h, NULL, NULL));
    muon_sender s;
    OK(muon_connection_open_sender(PB.conn, "links-second", lo, &h, NULL, &s));
    muon_link_options_free(lo);
    for (int i = 0; i < NB; i++) {
        muon_message *m = text_message("exactly once");
        OK(muon_sender_send(s, m, NULL));
        muon_message_free(m);
    }
    PB.durable = pb_open_durable(pb_durable_handler());
    OK(muon_loop_run(loop));
    CHECK(PB.received == NB && PB.settled == NB);
    CHECK(PB.accepted == NB && PB.sender_settled == NB);
    CHECK(PB.durable_received == 2 && PB.durable_opens == 2);
    muon_loop_free(loop);
    printf("api_links: ok\n");
    return 0;
}

int main(int argc, char **argv) {
    alarm(WATCHDOG_S);
    if (argc == 3 && strcmp(argv[1], "maxrecv") == 0) return max_receive((uint16_t)atoi(argv[2]));
    if (argc == 3 && strcmp(argv[1], "broker") == 0) return broker((uint16_t)atoi(argv[2]));
    phase1();
    phase2();
    phase3();
    phase4();
    phase5();
    printf("api_links: ok\n");
    return 0;
}
