/* The link features brokers are used for, checked on the wire against
 * ActiveMQ Classic through the C API (run by the interop suite,
 * tests/interop/activemq.rs, against a private broker):
 *
 *   amq_features selector URL NAME   a JMS selector: only the matching
 *       messages arrive (the others stay on the queue for a plain
 *       consumer); the broker's answered filter says the selector is
 *       applied and a filter it does not know is not; a selector it cannot
 *       parse is refused with amqp:invalid-field. Then a described
 *       filter given as an AMQP value, ActiveMQ's no-local on a topic: a
 *       subscriber does not get what its own connection publishes.
 *   amq_features browse URL NAME     distribution mode copy: a browser
 *       sees the queue's messages and they stay (a second browser and then
 *       a normal consumer get them all); after the consumer, a browser
 *       finds the queue empty.
 *   amq_features durable URL NAME    a durable subscription: a receiver
 *       with a stable container id and link name, durability
 *       unsettled-state (then configuration) and expiry policy never,
 *       detached (not closed) with a message left unsettled while more
 *       are published to the topic, gets the unsettled one again and the
 *       new ones when it attaches again from a new connection; closed,
 *       the subscription is gone and what was published meanwhile is not
 *       kept.
 *   amq_features transactions URL NAME   local transactions with the
 *       broker's coordinator: two messages sent in a transaction, which
 *       the broker accepted, are not on the queue before the commit (a
 *       drain finds nothing) and arrive after it; two sent in a
 *       rolled-back one never do (a drain finds nothing more); the two accepted in a rolled-back
 *       transaction come again (delivery-count 1), accepted in a committed
 *       one they are gone (a drain on the link, then a new consumer's, find
 *       nothing).
 *
 * URL is the broker's amqp://USER:PASSWORD@HOST:PORT; NAME makes the
 * queue, topic, container id and link names unique to the run. Each step
 * runs a loop of its own to its end. "ok ..." lines on stdout say what
 * was seen; a failed check prints where on stderr and exits 1. */
#define _POSIX_C_SOURCE 200809L
#include "api_check.h"

#include <stdint.h>

#define SELECTOR_DESCRIPTOR "apache.org:selector-filter:string"
#define MAX_WANT 16

static const char *URL;
static const char *NAME;

static muon_connection connect_to(muon_loop *loop, const char *container,
                                  const muon_handler *h) {
    muon_connection_options *co;
    OK(muon_connection_options_new(&co));
    /* The broker's user and password come with the URL; PLAIN over plain
     * TCP to a broker on loopback. */
    OK(muon_connection_options_set_allow_insecure_plain(co, true));
    if (container != NULL) OK(muon_connection_options_set_container_id(co, container));
    muon_connection c;
    OK(muon_loop_connect(loop, URL, co, h, NULL, &c));
    muon_connection_options_free(co);
    return c;
}

static bool bytes_are(muon_bytes b, const char *want) {
    return b.len == strlen(want) && memcmp(b.ptr, want, b.len) == 0;
}

static void fail_on_disconnect(void *ud, const muon_event *ev) {
    (void)ud;
    const muon_condition *c = muon_event_condition(ev);
    fprintf(stderr, "disconnected: %s: %s\n", c ? muon_condition_name(c) : "?",
            c && muon_condition_description(c) ? muon_condition_description(c) : "");
    exit(1);
}

/* ---- sending: N messages to an address, each accepted ------------------- */

typedef struct {
    const char *body;
    const char *colour; /* application property "colour", or NULL */
} outgoing;

static struct {
    muon_connection conn;
    const outgoing *msgs;
    int n, sent, accepted;
} S;

static void send_flow(void *ud, const muon_event *ev) {
    (void)ud;
    muon_sender s = muon_event_sender(ev);
    while (S.sent < S.n && muon_sender_credit(s) > 0) {
        muon_message *m;
        OK(muon_message_new(&m));
        OK(muon_message_set_body_string(m, S.msgs[S.sent].body));
        if (S.msgs[S.sent].colour != NULL) {
            OK(muon_message_set_property_string(m, "colour", S.msgs[S.sent].colour));
        }
        OK(muon_message_set_property_long(m, "seq", S.sent));
        OK(muon_sender_send(s, m, NULL));
        muon_message_free(m);
        S.sent++;
    }
}

static void send_accepted(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    if (++S.accepted == S.n) OK(muon_connection_close(S.conn));
}

static void send_refused(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    fprintf(stderr, "the broker did not accept message %d\n", S.accepted);
    exit(1);
}

static void set_send_handler(muon_handler *h) {
    h->on_link_flow = send_flow;
    h->on_accepted = send_accepted;
    h->on_rejected = send_refused;
    h->on_released = send_refused;
    h->on_modified = send_refused;
}

/* Sends `n` messages to `address` on a connection of its own and waits
 * until the broker accepted each. */
static void send_all(const char *address, const outgoing *msgs, int n) {
    memset(&S, 0, sizeof S);
    S.msgs = msgs;
    S.n = n;
    muon_loop *loop;
    OK(muon_loop_new(&loop));
    muon_handler h = MUON_HANDLER_INIT;
    set_send_handler(&h);
    h.on_disconnected = fail_on_disconnect;
    S.conn = connect_to(loop, NULL, &h);
    OK(muon_connection_open_sender(S.conn, address, NULL, &h, NULL, NULL));
    OK(muon_loop_run(loop));
    CHECK(S.accepted == n);
    muon_loop_free(loop);
}

/* ---- receiving: exactly the wanted bodies, in order ---------------------- */

enum ending { END_CLOSE, END_DETACH };

typedef struct {
    const char *address;
    const char *container;          /* NULL: muon's own */
    const muon_link_options *opts; /* NULL: defaults */
    const char *want[MAX_WANT];      /* the bodies, in order */
    int nwant;
    bool drain;                      /* then prove there is nothing more */
    int hold_from;                   /* > 0: messages from this one on are left
                                      * unsettled (not accepted) */
    enum ending ending;
    /* Sent on the same connection once the receiver is open (to a topic:
     * after the subscription exists). */
    const char *publish_to;
    const outgoing *publish;
    int npublish;
    /* Called with the receiver's remote source when it opens. */
    void (*check_source)(const muon_terminus *source);
} receive_step;

static struct {
    const receive_step *step;
    muon_connection conn;
    muon_receiver r;
    int got;
    bool draining, drained, opened, remote_closed_flag, remote_detached;
} R;

static void recv_end(void) {
    if (R.step->ending == END_DETACH) {
        OK(muon_receiver_detach(R.r));
    } else {
        OK(muon_receiver_close(R.r));
    }
}

static void recv_open(void *ud, const muon_event *ev) {
    (void)ud;
    if (!muon_event_is_receiver(ev)) return; /* the publishing sender */
    R.opened = true;
    const muon_terminus *src = muon_receiver_remote_source(muon_event_receiver(ev));
    CHECK(src != NULL);
    if (R.step->check_source != NULL) R.step->check_source(src);
    if (R.step->nwant == 0 && R.step->drain) {
        R.draining = true;
        OK(muon_receiver_drain(R.r, 20));
    } else {
        OK(muon_receiver_flow(R.r, 20));
    }
    if (R.step->npublish > 0) {
        memset(&S, 0, sizeof S);
        S.conn = R.conn;
        S.msgs = R.step->publish;
        S.n = R.step->npublish;
        muon_handler h = MUON_HANDLER_INIT;
        h.on_link_flow = send_flow;
        h.on_rejected = send_refused;
        h.on_released = send_refused;
        h.on_modified = send_refused;
        OK(muon_connection_open_sender(R.conn, R.step->publish_to, NULL, &h, NULL, NULL));
    }
}

static void recv_message(void *ud, const muon_event *ev) {
    (void)ud;
    char text[64];
    muon_value_format(muon_message_body(muon_event_message(ev)), text, sizeof text);
    if (R.got >= R.step->nwant) {
        fprintf(stderr, "%s: unexpected message %s after the %d wanted\n", R.step->address,
                text, R.step->nwant);
        exit(1);
    }
    const char *want = R.step->want[R.got];
    if (strcmp(text, want) != 0) {
        fprintf(stderr, "%s: message %d is %s, expected %s\n", R.step->address, R.got + 1,
                text, want);
        exit(1);
    }
    /* Accepted by hand (auto-accept is off), unless held. */
    if (R.step->hold_from == 0 || R.got < R.step->hold_from) {
        OK(muon_delivery_accept(muon_event_delivery(ev)));
    }
    R.got++;
    if (R.got == R.step->nwant) {
        if (R.step->drain) {
            R.draining = true;
            OK(muon_receiver_drain(R.r, 20));
        } else {
            recv_end();
        }
    }
}

static void recv_flow(void *ud, const muon_event *ev) {
    (void)ud;
    if (!muon_event_is_receiver(ev) || !R.draining) return;
    if (!muon_receiver_is_draining(R.r)) {
        R.draining = false;
        R.drained = true;
        recv_end();
    }
}

static void recv_remote_close(void *ud, const muon_event *ev) {
    (void)ud;
    if (!muon_event_is_receiver(ev)) return;
    const muon_condition *c = muon_event_condition(ev);
    if (c != NULL) {
        fprintf(stderr, "%s: the broker detached the receiver: %s: %s\n", R.step->address,
                muon_condition_name(c),
                muon_condition_description(c) ? muon_condition_description(c) : "");
        exit(1);
    }
    if (muon_receiver_remote_closed(muon_event_receiver(ev))) {
        R.remote_closed_flag = true;
    } else {
        R.remote_detached = true;
    }
    OK(muon_connection_close(R.conn));
}

/* Runs `step` on a connection of its own and checks how it ended. */
static void receive(const receive_step *step) {
    memset(&R, 0, sizeof R);
    R.step = step;
    muon_loop *loop;
    OK(muon_loop_new(&loop));
    muon_handler h = MUON_HANDLER_INIT;
    h.on_link_remote_open = recv_open;
    h.on_message = recv_message;
    h.on_link_flow = recv_flow;
    h.on_link_remote_close = recv_remote_close;
    h.on_disconnected = fail_on_disconnect;
    R.conn = connect_to(loop, step->container, &h);
    /* As receiver_options() when the step has none. */
    muon_link_options *lo = NULL;
    if (step->opts == NULL) {
        OK(muon_link_options_new(&lo));
        OK(muon_link_options_set_credit_window(lo, 0));
        OK(muon_link_options_set_auto_accept(lo, false));
    }
    OK(muon_connection_open_receiver(R.conn, step->address, step->opts ? step->opts : lo, &h,
                                     NULL, &R.r));
    muon_link_options_free(lo);
    OK(muon_loop_run(loop));
    CHECK(R.opened);
    CHECK(R.got == step->nwant);
    CHECK(!step->drain || R.drained);
    if (step->ending == END_DETACH) {
        CHECK(R.remote_detached && !R.remote_closed_flag);
    } else {
        CHECK(R.remote_closed_flag);
    }
    if (step->npublish > 0) CHECK(S.sent == step->npublish);
    muon_loop_free(loop);
}

/* Credit by hand (window 0, so that a drain is the only credit left) and
 * accepts by hand (so that a message can be left unsettled). */
static muon_link_options *receiver_options(void) {
    muon_link_options *lo;
    OK(muon_link_options_new(&lo));
    OK(muon_link_options_set_credit_window(lo, 0));
    OK(muon_link_options_set_auto_accept(lo, false));
    return lo;
}

/* ---- selector ------------------------------------------------------------ */

/* The filter the broker answered with: the selector (under the key the
 * receiver used), and not the filter it does not know. */
static void selector_source(const muon_terminus *src) {
    const muon_value *f = muon_terminus_filter(src);
    CHECK(f != NULL);
    const muon_value *e = muon_value_map_get_symbol_key(f, "jms-selector");
    CHECK(e != NULL);
    CHECK(muon_value_type(e) == MUON_TYPE_DESCRIBED);
    muon_bytes b = {NULL, 0};
    if (muon_value_described_descriptor_symbol(e, &b) == MUON_RESULT_OK) {
        CHECK(bytes_are(b, SELECTOR_DESCRIPTOR));
    } else {
        /* The descriptor's code: 0x0000468C00000004. */
        uint64_t code = 0;
        OK(muon_value_described_descriptor_code(e, &code));
        CHECK(code == UINT64_C(0x0000468C00000004));
    }
    OK(muon_value_get_string(muon_value_described_value(e), &b));
    CHECK(bytes_are(b, "colour = 'red'"));
    CHECK(muon_value_map_get_symbol_key(f, "muon-unknown") == NULL);
    printf("ok selector: the broker answered with the filter it applies (%zu entr%s)\n",
           muon_value_len(f), muon_value_len(f) == 1 ? "y" : "ies");
}

static struct {
    bool refused;
    char condition[128];
} BAD;

static void bad_remote_close(void *ud, const muon_event *ev) {
    (void)ud;
    const muon_condition *c = muon_event_condition(ev);
    CHECK(c != NULL);
    snprintf(BAD.condition, sizeof BAD.condition, "%s", muon_condition_name(c));
    BAD.refused = true;
    OK(muon_connection_close(muon_event_connection(ev)));
}

static void bad_message(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    fprintf(stderr, "a message arrived on a link with an invalid selector\n");
    exit(1);
}

/* ---- a described filter: no-local ---------------------------------------- */

#define NO_LOCAL_DESCRIPTOR "apache.org:no-local-filter:list"

/* A topic subscriber with ActiveMQ's no-local filter (a described list,
 * set as an AMQP value with muon_link_options_set_filter) does not get
 * what its own connection publishes: its connection publishes "local",
 * then, once that was accepted, a second connection publishes "remote";
 * only "remote" arrives, and a drain finds nothing more. */
static struct {
    muon_loop *loop;
    muon_connection c1, c2;
    muon_receiver r;
    muon_sender local, remote;
    bool local_sent, remote_sent, draining, drained;
    int got;
} NL;

static void nl_publish(muon_sender s, const char *text) {
    muon_message *m;
    OK(muon_message_new(&m));
    OK(muon_message_set_body_string(m, text));
    OK(muon_sender_send(s, m, NULL));
    muon_message_free(m);
}

static void nl_open(void *ud, const muon_event *ev) {
    (void)ud;
    if (!muon_event_is_receiver(ev) || !SAME(muon_event_receiver(ev), NL.r)) return;
    const muon_value *f = muon_terminus_filter(muon_receiver_remote_source(NL.r));
    CHECK(f != NULL);
    const muon_value *e = muon_value_map_get_symbol_key(f, "no-local");
    CHECK(e != NULL && muon_value_type(e) == MUON_TYPE_DESCRIBED);
    printf("ok filters: the broker answered with the no-local filter it applies\n");
    OK(muon_receiver_flow(NL.r, 10));
    OK(muon_connection_open_sender(NL.c1, muon_terminus_address(muon_receiver_remote_source(NL.r)),
                                   NULL, NULL, NULL, &NL.local));
}

static void nl_flow(void *ud, const muon_event *ev) {
    (void)ud;
    if (muon_event_is_receiver(ev)) {
        if (NL.draining && !muon_receiver_is_draining(NL.r)) {
            NL.draining = false;
            NL.drained = true;
            OK(muon_connection_close(NL.c1));
            OK(muon_connection_close(NL.c2));
        }
        return;
    }
    muon_sender s = muon_event_sender(ev);
    if (SAME(s, NL.local) && !NL.local_sent && muon_sender_credit(s) > 0) {
        nl_publish(s, "local");
        NL.local_sent = true;
    } else if (SAME(s, NL.remote) && !NL.remote_sent && muon_sender_credit(s) > 0) {
        nl_publish(s, "remote");
        NL.remote_sent = true;
    }
}

static void nl_accepted(void *ud, const muon_event *ev) {
    (void)ud;
    if (!SAME(muon_event_sender(ev), NL.local)) return;
    /* The local message is in the topic: now one from elsewhere. */
    muon_handler h = MUON_HANDLER_INIT;
    h.on_link_flow = nl_flow;
    h.on_disconnected = fail_on_disconnect;
    NL.c2 = connect_to(NL.loop, NULL, &h);
    OK(muon_connection_open_sender(NL.c2, muon_terminus_address(muon_receiver_remote_source(NL.r)),
                                   NULL, &h, NULL, &NL.remote));
}

static void nl_message(void *ud, const muon_event *ev) {
    (void)ud;
    char text[64];
    muon_value_format(muon_message_body(muon_event_message(ev)), text, sizeof text);
    CHECK_STR(text, "remote");
    CHECK(NL.got == 0);
    NL.got++;
    OK(muon_delivery_accept(muon_event_delivery(ev)));
    NL.draining = true;
    OK(muon_receiver_drain(NL.r, 10));
}

static void no_local(const char *topic) {
    memset(&NL, 0, sizeof NL);
    OK(muon_loop_new(&NL.loop));
    muon_handler h = MUON_HANDLER_INIT;
    h.on_link_remote_open = nl_open;
    h.on_link_flow = nl_flow;
    h.on_accepted = nl_accepted;
    h.on_message = nl_message;
    h.on_rejected = send_refused;
    h.on_released = send_refused;
    h.on_disconnected = fail_on_disconnect;
    NL.c1 = connect_to(NL.loop, NULL, &h);
    muon_link_options *lo = receiver_options();
    muon_value *filters, *key, *descriptor, *empty, *described;
    OK(muon_value_map_new(&filters));
    OK(muon_value_symbol("no-local", &key));
    OK(muon_value_symbol(NO_LOCAL_DESCRIPTOR, &descriptor));
    OK(muon_value_list_new(&empty));
    OK(muon_value_described_new(descriptor, empty, &described));
    OK(muon_value_map_put(filters, key, described));
    OK(muon_link_options_set_filter(lo, filters));
    muon_value_free(filters);
    OK(muon_connection_open_receiver(NL.c1, topic, lo, &h, NULL, &NL.r));
    muon_link_options_free(lo);
    OK(muon_loop_run(NL.loop));
    muon_loop_free(NL.loop);
    CHECK(NL.local_sent && NL.remote_sent && NL.got == 1 && NL.drained);
    printf("ok filters: no-local: the subscriber got only the other connection's message\n");
}

static int selector(void) {
    char q[128];
    snprintf(q, sizeof q, "sel-%s", NAME);
    static const outgoing msgs[] = {
        {"m0", "red"},  {"m1", "blue"}, {"m2", "red"}, {"m3", "blue"}, {"m4", "red"},
        {"m5", "blue"}, {"m6", "red"},  {"m7", "blue"}, {"m8", NULL},  {"m9", "green"},
        {"end-red", "red"}, {"end-rest", "blue"},
    };
    send_all(q, msgs, (int)(sizeof msgs / sizeof msgs[0]));

    /* A filter set with one filter the broker does not know, then the
     * selector beside it. */
    muon_link_options *lo = receiver_options();
    muon_value *filters, *key, *descriptor, *text, *described;
    OK(muon_value_map_new(&filters));
    OK(muon_value_symbol("muon-unknown", &key));
    OK(muon_value_symbol("muon.example:unknown-filter:string", &descriptor));
    OK(muon_value_string("anything", &text));
    OK(muon_value_described_new(descriptor, text, &described));
    OK(muon_value_map_put(filters, key, described));
    OK(muon_link_options_set_filter(lo, filters));
    muon_value_free(filters);
    OK(muon_link_options_set_selector(lo, "colour = 'red'"));
    receive_step red = {
        .address = q,
        .opts = lo,
        .want = {"m0", "m2", "m4", "m6", "end-red"},
        .nwant = 5,
        .drain = true,
        .check_source = selector_source,
    };
    receive(&red);
    muon_link_options_free(lo);
    printf("ok selector: colour = 'red' gave the 5 red messages, then nothing (drained)\n");

    /* The rest stayed on the queue, in order. */
    receive_step rest = {
        .address = q,
        .want = {"m1", "m3", "m5", "m7", "m8", "m9", "end-rest"},
        .nwant = 7,
        .drain = true,
    };
    receive(&rest);
    printf("ok selector: a plain consumer then got the 7 others, in order\n");

    /* A selector the broker cannot parse: the attach is refused. */
    memset(&BAD, 0, sizeof BAD);
    muon_loop *loop;
    OK(muon_loop_new(&loop));
    muon_handler h = MUON_HANDLER_INIT;
    h.on_link_remote_close = bad_remote_close;
    h.on_message = bad_message;
    h.on_disconnected = fail_on_disconnect;
    muon_connection c = connect_to(loop, NULL, &h);
    lo = receiver_options();
    OK(muon_link_options_set_selector(lo, "colour = = 'red'"));
    OK(muon_connection_open_receiver(c, q, lo, &h, NULL, NULL));
    muon_link_options_free(lo);
    OK(muon_loop_run(loop));
    muon_loop_free(loop);
    CHECK(BAD.refused);
    CHECK_STR(BAD.condition, "amqp:invalid-field");
    printf("ok selector: an invalid selector was refused with %s\n", BAD.condition);

    char topic[128];
    snprintf(topic, sizeof topic, "topic://nolocal-%s", NAME);
    no_local(topic);
    return 0;
}

/* ---- browse -------------------------------------------------------------- */

static void copy_source(const muon_terminus *src) {
    const char *mode = muon_terminus_distribution_mode(src);
    CHECK_STR(mode, "copy");
}

static int browse(void) {
    char q[128];
    snprintf(q, sizeof q, "browse-%s", NAME);
    static const outgoing msgs[] = {{"b0", NULL}, {"b1", NULL}, {"b2", NULL}};
    send_all(q, msgs, 3);

    muon_link_options *copy = receiver_options();
    OK(muon_link_options_set_distribution_mode(copy, "copy"));
    receive_step browser = {
        .address = q,
        .opts = copy,
        .want = {"b0", "b1", "b2"},
        .nwant = 3,
        .drain = true,
        .check_source = copy_source,
    };
    receive(&browser);
    printf("ok browse: a browser (distribution mode copy, answered copy) saw b0 b1 b2\n");
    receive(&browser);
    printf("ok browse: a second browser saw them again: they stayed on the queue\n");

    receive_step consumer = {
        .address = q,
        .want = {"b0", "b1", "b2"},
        .nwant = 3,
        .drain = true,
    };
    receive(&consumer);
    printf("ok browse: a normal consumer got b0 b1 b2\n");

    /* Nothing wanted: the receiver drains as soon as it is open. */
    receive_step empty = {
        .address = q,
        .opts = copy,
        .nwant = 0,
        .drain = true,
        .check_source = copy_source,
    };
    receive(&empty);
    muon_link_options_free(copy);
    printf("ok browse: after the consumer, a browser drained an empty queue\n");
    return 0;
}

/* ---- durable subscription ------------------------------------------------ */

static enum muon_durability DURABILITY;

static void durable_source(const muon_terminus *src) {
    static const char *const durability[] = {"none", "configuration", "unsettled-state"};
    static const char *const expiry[] = {"link-detach", "session-end", "connection-close",
                                         "never"};
    unsigned d = (unsigned)muon_terminus_durability(src);
    unsigned e = (unsigned)muon_terminus_expiry_policy(src);
    printf("ok durable: asked for durability %s, the broker answered durability %s, expiry "
           "policy %s\n",
           durability[DURABILITY], d < 3 ? durability[d] : "?", e < 4 ? expiry[e] : "?");
    CHECK(muon_terminus_expiry_policy(src) == MUON_EXPIRY_POLICY_NEVER);
    CHECK(muon_terminus_durability(src) != MUON_DURABILITY_NONE);
}

/* One durable subscription with `durability`, from subscribing to its end. */
static void durable_with(enum muon_durability durability, const char *tag) {
    char topic[128], container[128], link[128];
    snprintf(topic, sizeof topic, "topic://durable-%s-%s", tag, NAME);
    snprintf(container, sizeof container, "muon-%s-%s", tag, NAME);
    snprintf(link, sizeof link, "subscription-%s", tag);
    DURABILITY = durability;
    muon_link_options *lo = receiver_options();
    OK(muon_link_options_set_name(lo, link));
    OK(muon_link_options_set_durability(lo, durability));
    OK(muon_link_options_set_expiry_policy(lo, MUON_EXPIRY_POLICY_NEVER));

    /* Subscribe, get what is published, accept d0 but leave d1
     * unsettled, and detach (closed=false). */
    static const outgoing first[] = {{"d0", NULL}, {"d1", NULL}};
    receive_step subscribe = {
        .address = topic,
        .container = container,
        .opts = lo,
        .want = {"d0", "d1"},
        .nwant = 2,
        .hold_from = 1,
        .ending = END_DETACH,
        .publish_to = topic,
        .publish = first,
        .npublish = 2,
        .check_source = durable_source,
    };
    receive(&subscribe);
    printf("ok durable: subscribed as %s/%s, got d0 d1 (d1 left unsettled), detached (the "
           "broker answered a detach, not a close)\n",
           container, link);

    /* Published while nobody is attached. */
    static const outgoing away[] = {{"d2", NULL}, {"d3", NULL}, {"d4", NULL}};
    send_all(topic, away, 3);

    /* Attach again from a new connection: the unsettled d1 comes again,
     * then what was published meanwhile, and nothing more. Then close:
     * the subscription ends. */
    receive_step resume = {
        .address = topic,
        .container = container,
        .opts = lo,
        .want = {"d1", "d2", "d3", "d4"},
        .nwant = 4,
        .drain = true,
        .ending = END_CLOSE,
    };
    receive(&resume);
    printf("ok durable: attached again from a new connection, got d1 again (it was unsettled) "
           "and d2 d3 d4 published while detached, then closed it\n");

    /* Closed: what is published now is kept for no one. */
    static const outgoing lost[] = {{"d5", NULL}};
    send_all(topic, lost, 1);
    static const outgoing fresh[] = {{"d6", NULL}};
    receive_step again = {
        .address = topic,
        .container = container,
        .opts = lo,
        .want = {"d6"},
        .nwant = 1,
        .drain = true,
        .ending = END_CLOSE,
        .publish_to = topic,
        .publish = fresh,
        .npublish = 1,
    };
    receive(&again);
    muon_link_options_free(lo);
    printf("ok durable: after the close the subscription was gone: a new one got d6, not d5\n");
}

static int durable(void) {
    durable_with(MUON_DURABILITY_UNSETTLED_STATE, "unsettled");
    durable_with(MUON_DURABILITY_CONFIGURATION, "configuration");
    return 0;
}

/* ---- transactions ---------------------------------------------------------- */

/* One connection to the broker's coordinator, a sender and a receiver
 * (credit by hand, accepts by hand) on one queue; each stage starts when
 * the one before it ended (a discharge answered, a drain over). */
static struct {
    muon_connection conn;
    muon_sender s;
    muon_receiver r;
    muon_transaction txn;
    int stage, got, declares, frees, accepted;
    muon_delivery dlv[MAX_WANT];
    char body[MAX_WANT][32];
    uint32_t count[MAX_WANT];
    bool first[MAX_WANT];
} T;

static void txn_next(void);

static void txn_send(const char *body) {
    muon_message *m;
    OK(muon_message_new(&m));
    OK(muon_message_set_body_string(m, body));
    muon_delivery d;
    OK(muon_sender_send_in(T.s, T.txn, m, &d));
    CHECK(d.generation != 0);
    muon_message_free(m);
}

static void txn_declared(void *ud, const muon_event *ev) {
    (void)ud;
    CHECK(SAME(muon_event_transaction(ev), T.txn));
    size_t n = muon_transaction_id(T.txn, NULL, 0);
    CHECK(n > 0);
    switch (T.stage) {
    case 1: /* sends, committed once the broker took them (txn_accepted) */
        txn_send("t-commit-1");
        txn_send("t-commit-2");
        break;
    case 2: /* sends, rolled back */
        txn_send("t-rollback-1");
        txn_send("t-rollback-2");
        OK(muon_transaction_rollback(T.txn));
        break;
    case 4: /* acknowledgements, rolled back */
    case 6: /* acknowledgements, committed */
        CHECK(T.got == 2);
        for (int i = 0; i < T.got; i++) OK(muon_delivery_accept_in(T.dlv[i], T.txn));
        T.got = 0;
        OK(T.stage == 4 ? muon_transaction_rollback(T.txn) : muon_transaction_commit(T.txn));
        break;
    default:
        fprintf(stderr, "transaction declared in stage %d\n", T.stage);
        exit(1);
    }
}

static void txn_discharged(void *ud, const muon_event *ev) {
    (void)ud;
    CHECK(SAME(muon_event_transaction(ev), T.txn));
    bool rollback = muon_event_transaction_rollback(ev);
    CHECK(rollback == (T.stage == 2 || T.stage == 4));
    CHECK(T.stage == 1 || T.stage == 2 || T.stage == 4 || T.stage == 6);
    printf("ok transactions: stage %d: the broker %s the transaction\n", T.stage,
           rollback ? "rolled back" : "committed");
    txn_next();
}

static void txn_failed(void *ud, const muon_event *ev) {
    (void)ud;
    const muon_condition *c = muon_event_condition(ev);
    fprintf(stderr, "stage %d: the transaction failed: %s: %s\n", T.stage,
            c ? muon_condition_name(c) : "?",
            c && muon_condition_description(c) ? muon_condition_description(c) : "");
    exit(1);
}

static void txn_free(void *ud) {
    (void)ud;
    T.frees++;
}

static void txn_declare(void) {
    muon_handler h = MUON_HANDLER_INIT;
    h.on_transaction_declared = txn_declared;
    h.on_transaction_discharged = txn_discharged;
    h.on_transaction_failed = txn_failed;
    h.userdata_free = txn_free;
    OK(muon_connection_declare_transaction(T.conn, &h, NULL, &T.txn));
    T.declares++;
}

static void txn_message(void *ud, const muon_event *ev) {
    (void)ud;
    const muon_message *m = muon_event_message(ev);
    CHECK(T.got < MAX_WANT);
    muon_value_format(muon_message_body(m), T.body[T.got], sizeof T.body[0]);
    T.count[T.got] = muon_message_delivery_count(m);
    T.first[T.got] = muon_message_first_acquirer(m);
    T.dlv[T.got] = muon_event_delivery(ev);
    T.got++;
}

/* The broker took a message sent in the transaction (its disposition
 * carries transactional-state, outcome accepted): once both of the first
 * transaction's are in, a drain must find nothing before the commit. */
static void txn_accepted(void *ud, const muon_event *ev) {
    (void)ud;
    CHECK(!muon_event_is_receiver(ev) && SAME(muon_event_sender(ev), T.s));
    if (T.stage == 1 && ++T.accepted == 2) OK(muon_receiver_drain(T.r, 10));
}

/* The two committed messages, in order, each with `count`. */
static void txn_check_got(uint32_t count) {
    static const char *const want[] = {"t-commit-1", "t-commit-2"};
    if (T.got != 2) {
        fprintf(stderr, "stage %d: %d messages arrived, expected 2:", T.stage, T.got);
        for (int i = 0; i < T.got; i++) fprintf(stderr, " %s", T.body[i]);
        fprintf(stderr, "\n");
        exit(1);
    }
    for (int i = 0; i < 2; i++) {
        CHECK_STR(T.body[i], want[i]);
        if (T.count[i] != count) {
            fprintf(stderr, "stage %d: %s has delivery-count %u, expected %u\n", T.stage,
                    T.body[i], (unsigned)T.count[i], (unsigned)count);
            exit(1);
        }
    }
}

/* A drain is over: what arrived is all the broker had for the receiver. */
static void txn_flow(void *ud, const muon_event *ev) {
    (void)ud;
    if (!muon_event_is_receiver(ev) || muon_receiver_is_draining(T.r)) return;
    switch (T.stage) {
    case 1:
        if (T.got != 0) {
            fprintf(stderr, "stage 1: %s arrived before its transaction was committed\n",
                    T.body[0]);
            exit(1);
        }
        printf("ok transactions: the broker accepted the 2 sends in the transaction, and a "
               "drain before the commit found neither\n");
        OK(muon_transaction_commit(T.txn));
        return;
    case 3:
        txn_check_got(0);
        printf("ok transactions: the 2 committed sends arrived (delivery-count 0, "
               "first-acquirer %s), the 2 rolled-back ones did not (drained)\n",
               T.first[0] ? "true" : "false");
        break;
    case 5:
        txn_check_got(1);
        printf("ok transactions: the 2 acknowledged in a rolled-back transaction came again "
               "(delivery-count %u, first-acquirer %s), nothing more (drained)\n",
               (unsigned)T.count[0], T.first[0] ? "true" : "false");
        break;
    case 7:
        if (T.got != 0) {
            fprintf(stderr, "stage 7: %s came again after its acknowledgement was committed\n",
                    T.body[0]);
            exit(1);
        }
        printf("ok transactions: the 2 acknowledged in a committed transaction did not come "
               "again (drained)\n");
        break;
    default: return;
    }
    txn_next();
}

static void txn_next(void) {
    T.stage++;
    switch (T.stage) {
    case 2: case 4: case 6: txn_declare(); break;
    case 3: case 5: case 7: OK(muon_receiver_drain(T.r, 10)); break;
    case 8: OK(muon_connection_close(T.conn)); break;
    }
}

static void txn_unexpected(void *ud, const muon_event *ev) {
    (void)ud;
    if (T.stage == 8 && muon_event_get_kind(ev) == MUON_EVENT_KIND_LINK_REMOTE_CLOSE) return;
    const muon_condition *c = muon_event_condition(ev);
    fprintf(stderr, "stage %d: unexpected event %d%s%s%s%s\n", T.stage,
            (int)muon_event_get_kind(ev), c ? ": " : "", c ? muon_condition_name(c) : "",
            c && muon_condition_description(c) ? ": " : "",
            c && muon_condition_description(c) ? muon_condition_description(c) : "");
    exit(1);
}

static int transactions(void) {
    char q[128];
    snprintf(q, sizeof q, "txn-%s", NAME);
    memset(&T, 0, sizeof T);
    muon_loop *loop;
    OK(muon_loop_new(&loop));
    muon_handler h = MUON_HANDLER_INIT;
    h.on_message = txn_message;
    h.on_link_flow = txn_flow;
    h.on_accepted = txn_accepted;
    h.on_rejected = txn_unexpected;
    h.on_released = txn_unexpected;
    h.on_modified = txn_unexpected;
    h.on_link_remote_close = txn_unexpected;
    h.on_disconnected = fail_on_disconnect;
    T.conn = connect_to(loop, NULL, &h);
    OK(muon_connection_open_sender(T.conn, q, NULL, &h, NULL, &T.s));
    muon_link_options *lo = receiver_options();
    OK(muon_connection_open_receiver(T.conn, q, lo, &h, NULL, &T.r));
    muon_link_options_free(lo);
    T.stage = 1;
    txn_declare();
    OK(muon_loop_run(loop));
    muon_loop_free(loop);
    CHECK(T.stage == 8);
    CHECK(T.declares == 4 && T.frees == 4 && T.accepted >= 2);

    /* From a new connection, the queue is empty. */
    receive_step empty = {.address = q, .nwant = 0, .drain = true};
    receive(&empty);
    printf("ok transactions: a new consumer then drained an empty queue\n");
    return 0;
}

int main(int argc, char **argv) {
    alarm(60);
    if (argc != 4) {
        fprintf(stderr, "usage: amq_features selector|browse|durable|transactions URL NAME\n");
        return 2;
    }
    URL = argv[2];
    NAME = argv[3];
    if (strcmp(argv[1], "selector") == 0) return selector();
    if (strcmp(argv[1], "browse") == 0) return browse();
    if (strcmp(argv[1], "durable") == 0) return durable();
    if (strcmp(argv[1], "transactions") == 0) return transactions();
    fprintf(stderr, "amq_features: unknown test %s\n", argv[1]);
    return 2;
}
