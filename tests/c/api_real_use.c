/* Real uses of functions that other tests only call with NULL or as plain
 * values, each checked by its effect over a real connection:
 *
 * 1. idle time-out: half of it is advertised in the open the peer reads
 *    (frame trace), an idle connection between two muon ends stays up on
 *    heartbeats, and a peer that goes silent is closed with
 *    amqp:resource-limit-exceeded (a raw socket as the peer);
 *    muon_connection_options_set_sasl_enabled(false) lets that raw peer
 *    in without SASL;
 * 2. failover URL: the first URL refuses, the reconnect connects to the
 *    failover URL;
 * 3. hostname and channel-max: what the peer's open carries;
 *    SASL off on the client: the server sees no SASL mechanism;
 * 4. links: muon_sender_connection / muon_receiver_connection name the
 *    connection that opened them, muon_receiver_set_target_address names
 *    a dynamic node, muon_sender_remote_properties reads the properties a
 *    receiver attached with, muon_sender_drained ends a drain at once;
 * 5. muon_terminus_filter and muon_terminus_dynamic_node_properties read
 *    what a peer's source carries (a raw peer: muon's link options cannot
 *    set them);
 * 6. muon_event_timer names the timer that fired. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

#include "api_check.h"

static muon_loop *L;

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the frame trace --------------------------------------------------- */

#define MAX_LINES 4000
static char *lines[MAX_LINES];
static int nlines;

static void on_log(void *ud, const char *line) {
    (void)ud;
    if (nlines < MAX_LINES)
        lines[nlines++] = strdup(line);
}

static void clear_trace(void) {
    for (int i = 0; i < nlines; i++)
        free(lines[i]);
    nlines = 0;
}

/* How many trace lines contain both a and b. */
static int traced(const char *a, const char *b) {
    int n = 0;
    for (int i = 0; i < nlines; i++)
        if (strstr(lines[i], a) && (b == NULL || strstr(lines[i], b)))
            n++;
    return n;
}

static void dump_trace(void) {
    for (int i = 0; i < nlines; i++)
        fprintf(stderr, "%s\n", lines[i]);
}

#define CHECK_TRACED(a, b)                                                    \
    do {                                                                      \
        if (traced(a, b) == 0) {                                              \
            dump_trace();                                                     \
            fprintf(stderr, "no trace line with \"%s\" and \"%s\"\n", a, b); \
        }                                                                     \
        CHECK(traced(a, b) > 0);                                              \
    } while (0)

/* Runs the loop until *flag reaches want (at most 10 s). */
#define run_until(flag, want) run_until_at(flag, want, __LINE__)
static void run_until_at(const int *flag, int want, int line) {
    long long end = now_ms() + 10000;
    while (*flag < want) {
        if (now_ms() >= end) {
            dump_trace();
            fprintf(stderr, "line %d: waited 10 s for %d, got %d\n", line, want, *flag);
            exit(1);
        }
        OK(muon_loop_run_once(L, 20));
    }
}

/* Runs the loop for ms milliseconds. */
static void run_for(long long ms) {
    long long end = now_ms() + ms;
    while (now_ms() < end)
        OK(muon_loop_run_once(L, 10));
}

static bool same_conn(muon_connection a, muon_connection b) { return SAME(a, b); }

/* ---- the state the callbacks share ------------------------------------- */

struct state {
    muon_listener lis;
    uint16_t port;
    muon_connection client, server;
    int accepted, client_open, server_open, finals, disconnects, listener_finals;
    char server_mech[32];
    bool server_had_mech;
    char server_hostname[64];
    char disconnect_cond[64];
    /* Links. */
    muon_sender snd;
    muon_receiver rcv;
    int remote_opens, attaches, flows, drain_done;
    bool drain_requested;
    char props_key_value[32];
    char dyn_address[64];
    uint32_t credit_before, credit_after;
    /* Timers. */
    muon_timer t1, t2;
    int timer1, timer2, wrong_timer;
};

static struct state S;

static void reset(void) {
    memset(&S, 0, sizeof S);
    clear_trace();
}

static void on_accepted(void *ud, const muon_event *ev) {
    (void)ud;
    S.server = muon_event_connection(ev);
    S.accepted++;
}

static void on_conn_open(void *ud, const muon_event *ev) {
    (void)ud;
    muon_connection c = muon_event_connection(ev);
    if (same_conn(c, S.client)) {
        S.client_open++;
        return;
    }
    S.server_open++;
    const char *mech = muon_connection_sasl_mechanism(c);
    S.server_had_mech = mech != NULL;
    if (mech)
        snprintf(S.server_mech, sizeof S.server_mech, "%s", mech);
    const char *host = muon_connection_remote_hostname(c);
    snprintf(S.server_hostname, sizeof S.server_hostname, "%s", host ? host : "(none)");
}

static void on_disconnected(void *ud, const muon_event *ev) {
    (void)ud;
    S.disconnects++;
    const char *name = muon_condition_name(muon_event_condition(ev));
    snprintf(S.disconnect_cond, sizeof S.disconnect_cond, "%s", name ? name : "(none)");
}

static void on_conn_final(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    S.finals++;
}

static void on_listener_final(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    S.listener_finals++;
}

static muon_handler base_handler(void) {
    muon_handler h = MUON_HANDLER_INIT;
    h.on_connection_accepted = on_accepted;
    h.on_connection_remote_open = on_conn_open;
    h.on_disconnected = on_disconnected;
    h.on_connection_final = on_conn_final;
    h.on_listener_final = on_listener_final;
    return h;
}

static void listen_with(muon_connection_options *so) {
    muon_handler h = base_handler();
    OK(muon_loop_listen(L, "127.0.0.1:0", so, &h, NULL, &S.lis));
    S.port = muon_listener_port(S.lis);
    CHECK(S.port != 0);
}

static void url_of(uint16_t port, char *buf, size_t cap) {
    snprintf(buf, cap, "127.0.0.1:%u", (unsigned)port);
}

/* Closes the client (if any), waits for the connections' final events,
 * then closes the listener. (In that order: once the listener's final
 * event has been dispatched, its accepted connections' events go to the
 * loop's default handler, of which this program has none.) */
static void finish(int conns) {
    if (!IS_NULL_HANDLE(S.client))
        OK(muon_connection_close(S.client));
    run_until(&S.finals, conns);
    OK(muon_listener_close(S.lis));
    run_until(&S.listener_finals, 1);
}

/* ---- 1. idle time-out ---------------------------------------------------- */

static void idle_between_muon_ends(void) {
    reset();
    muon_connection_options *so = NULL, *co = NULL;
    OK(muon_connection_options_new(&so));
    OK(muon_connection_options_set_idle_timeout(so, 400));
    listen_with(so);
    muon_connection_options_free(so);
    OK(muon_connection_options_new(&co));
    OK(muon_connection_options_set_idle_timeout(co, 600));
    char url[64];
    url_of(S.port, url, sizeof url);
    muon_handler h = base_handler();
    OK(muon_loop_connect(L, url, co, &h, NULL, &S.client));
    muon_connection_options_free(co);
    run_until(&S.client_open, 1);
    run_until(&S.server_open, 1);
    /* Each side read half of the other's time-out in its open. */
    CHECK_TRACED("<- @open(16) [", "idle-time-out=300");
    CHECK_TRACED("<- @open(16) [", "idle-time-out=200");
    /* Idle for three times the shorter time-out: heartbeats keep both up. */
    int before = traced("(empty frame)", NULL);
    run_for(1200);
    CHECK(traced("<- (empty frame)", NULL) - before >= 4);
    CHECK(S.disconnects == 0);
    CHECK(muon_connection_is_open(S.client));
    CHECK(muon_connection_is_open(S.server));
    finish(2);
    CHECK(S.disconnects == 0);
}

/* A raw peer: a socket to 127.0.0.1:port that has sent the AMQP header
 * (no SASL) and an open (container "raw", no idle-time-out of its own). */
static int raw_connect(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    static const unsigned char hello[] = {
        'A', 'M', 'Q', 'P', 0, 1, 0, 0,
        0, 0, 0, 19, 2, 0, 0, 0, 0x00, 0x53, 0x10, 0xc0, 0x06, 0x01, 0xa1, 0x03, 'r', 'a', 'w',
    };
    CHECK(send(fd, hello, sizeof hello, 0) == (ssize_t)sizeof hello);
    return fd;
}

/* A peer that opens and then says nothing. */
static void idle_drops_a_silent_peer(void) {
    reset();
    muon_connection_options *so = NULL;
    OK(muon_connection_options_new(&so));
    OK(muon_connection_options_set_idle_timeout(so, 300));
    OK(muon_connection_options_set_sasl_enabled(so, false));
    listen_with(so);
    muon_connection_options_free(so);

    int fd = raw_connect(S.port);
    long long start = now_ms();
    run_until(&S.server_open, 1);
    CHECK(!S.server_had_mech); /* no SASL layer */

    /* Read what the server writes until it closes: its header, its open
     * (advertising 150 ms), empty frames, then a close. */
    unsigned char in[4096];
    size_t got = 0;
    long long closed_at = 0;
    while (closed_at == 0) {
        CHECK(now_ms() - start < 5000);
        OK(muon_loop_run_once(L, 10));
        ssize_t n = recv(fd, in + got, sizeof in - got, MSG_DONTWAIT);
        if (n > 0) {
            got += (size_t)n;
            CHECK(got < sizeof in);
            for (size_t i = 0; i + 3 <= got; i++)
                if (in[i] == 0x00 && in[i + 1] == 0x53 && in[i + 2] == 0x18)
                    closed_at = now_ms();
        } else {
            CHECK(n == 0 || errno == EAGAIN || errno == EWOULDBLOCK);
            CHECK(n != 0); /* no EOF before the close frame */
        }
    }
    /* Not before the time-out, and with the condition the spec names. */
    CHECK(closed_at - start >= 250);
    static const char want[] = "amqp:resource-limit-exceeded";
    bool found = false;
    for (size_t i = 0; i + sizeof want - 1 <= got; i++)
        if (memcmp(in + i, want, sizeof want - 1) == 0)
            found = true;
    CHECK(found);
    CHECK_TRACED("<- @open(16) [", "container-id=\"raw\"");
    CHECK_TRACED("-> @close(24) [", "condition=:amqp:resource-limit-exceeded");
    close(fd);
    finish(1);
}

/* ---- 2. failover URL ------------------------------------------------------ */

static void failover_url_is_used(void) {
    reset();
    /* A port nothing listens on any more. */
    muon_listener gone;
    muon_handler h = base_handler();
    OK(muon_loop_listen(L, "127.0.0.1:0", NULL, &h, NULL, &gone));
    uint16_t dead = muon_listener_port(gone);
    OK(muon_listener_close(gone));
    run_until(&S.listener_finals, 1);
    S.listener_finals = 0;

    listen_with(NULL);
    char first[64], second[64];
    url_of(dead, first, sizeof first);
    url_of(S.port, second, sizeof second);
    muon_connection_options *co = NULL;
    OK(muon_connection_options_new(&co));
    OK(muon_connection_options_add_failover_url(co, second));
    OK(muon_connection_options_set_reconnect(co, 10, 50, 5));
    OK(muon_loop_connect(L, first, co, &h, NULL, &S.client));
    muon_connection_options_free(co);
    run_until(&S.client_open, 1);
    /* The first URL refused; the failover URL's listener took it. */
    CHECK(S.disconnects >= 1);
    CHECK_STR(S.disconnect_cond, "amqp:connection:forced");
    CHECK(S.accepted == 1);
    CHECK(muon_connection_is_connected(S.client));
    finish(2);
}

/* ---- 3. hostname, channel-max, SASL off --------------------------------- */

static void open_fields_reach_the_peer(void) {
    reset();
    listen_with(NULL);
    char url[64];
    url_of(S.port, url, sizeof url);
    muon_connection_options *co = NULL;
    OK(muon_connection_options_new(&co));
    OK(muon_connection_options_set_hostname(co, "vhost.example"));
    OK(muon_connection_options_set_channel_max(co, 7));
    OK(muon_connection_options_set_sasl_enabled(co, false));
    muon_handler h = base_handler();
    OK(muon_loop_connect(L, url, co, &h, NULL, &S.client));
    muon_connection_options_free(co);
    run_until(&S.server_open, 1);
    run_until(&S.client_open, 1);
    CHECK_STR(S.server_hostname, "vhost.example");
    CHECK_TRACED("<- @open(16) [", "channel-max=7");
    /* Without SASL on the client, the server ran no SASL exchange. */
    CHECK(!S.server_had_mech);
    CHECK(traced("SASL header", NULL) == 0);
    finish(2);

    /* With SASL (the default) the same server sees ANONYMOUS. */
    reset();
    listen_with(NULL);
    url_of(S.port, url, sizeof url);
    OK(muon_loop_connect(L, url, NULL, &h, NULL, &S.client));
    run_until(&S.server_open, 1);
    CHECK(S.server_had_mech);
    CHECK_STR(S.server_mech, "ANONYMOUS");
    finish(2);
}

/* ---- 4. links ------------------------------------------------------------ */

static void server_attach(void *ud, const muon_event *ev) {
    (void)ud;
    S.attaches++;
    if (muon_event_is_receiver(ev)) {
        /* The client's sender asked for a dynamic target: name it. */
        OK(muon_receiver_set_target_address(muon_event_receiver(ev), "dyn-42"));
    } else {
        /* The client's receiver attached with properties. */
        muon_sender s = muon_event_sender(ev);
        const muon_value *p = muon_sender_remote_properties(s);
        CHECK(p != NULL);
        CHECK(muon_value_len(p) == 1);
        muon_value_format(muon_value_map_get_symbol_key(p, "colour"), S.props_key_value,
                          sizeof S.props_key_value);
        S.snd = s;
    }
}

static void server_flow(void *ud, const muon_event *ev) {
    (void)ud;
    if (muon_event_is_receiver(ev))
        return;
    muon_sender s = muon_event_sender(ev);
    S.flows++;
    if (S.flows == 1) {
        /* The receiver asked to drain 5: nothing to send here, say so. */
        S.credit_before = muon_sender_credit(s);
        OK(muon_sender_drained(s));
        S.credit_after = muon_sender_credit(s);
    }
}

static void client_remote_open(void *ud, const muon_event *ev) {
    (void)ud;
    S.remote_opens++;
    if (muon_event_is_receiver(ev)) {
        muon_receiver r = muon_event_receiver(ev);
        CHECK(SAME(r, S.rcv));
        OK(muon_receiver_drain(r, 5));
        S.drain_requested = true;
    } else {
        const char *a = muon_sender_remote_target_address(muon_event_sender(ev));
        snprintf(S.dyn_address, sizeof S.dyn_address, "%s", a ? a : "(none)");
    }
}

static void client_flow(void *ud, const muon_event *ev) {
    (void)ud;
    if (!muon_event_is_receiver(ev))
        return;
    muon_receiver r = muon_event_receiver(ev);
    if (S.drain_requested && !muon_receiver_is_draining(r) && muon_receiver_credit(r) == 0)
        S.drain_done++;
}

static void links(void) {
    reset();
    muon_handler sh = base_handler();
    sh.on_link_remote_attach = server_attach;
    sh.on_link_flow = server_flow;
    OK(muon_loop_listen(L, "127.0.0.1:0", NULL, &sh, NULL, &S.lis));
    S.port = muon_listener_port(S.lis);
    char url[64];
    url_of(S.port, url, sizeof url);
    muon_handler ch = base_handler();
    ch.on_link_remote_open = client_remote_open;
    ch.on_link_flow = client_flow;
    OK(muon_loop_connect(L, url, NULL, &ch, NULL, &S.client));

    /* A sender to a dynamic node the server names. */
    muon_link_options *so = NULL;
    OK(muon_link_options_new(&so));
    OK(muon_link_options_set_dynamic(so, true));
    muon_sender snd;
    OK(muon_connection_open_sender(S.client, NULL, so, NULL, NULL, &snd));
    muon_link_options_free(so);
    CHECK(SAME(muon_sender_connection(snd), S.client));

    /* A receiver with properties, granting no credit by itself. */
    muon_link_options *ro = NULL;
    OK(muon_link_options_new(&ro));
    OK(muon_link_options_set_credit_window(ro, 0));
    muon_value *props = NULL, *k = NULL, *v = NULL;
    OK(muon_value_map_new(&props));
    OK(muon_value_symbol("colour", &k));
    OK(muon_value_string("blue", &v));
    OK(muon_value_map_put(props, k, v));
    OK(muon_link_options_set_properties(ro, props));
    muon_value_free(props);
    OK(muon_connection_open_receiver(S.client, "q", ro, NULL, NULL, &S.rcv));
    muon_link_options_free(ro);
    CHECK(SAME(muon_receiver_connection(S.rcv), S.client));

    run_until(&S.remote_opens, 2);
    CHECK_STR(S.dyn_address, "dyn-42");
    CHECK_STR(S.props_key_value, "blue");
    run_until(&S.drain_done, 1);
    /* muon_sender_drained used the rest of the credit at once. */
    CHECK(S.credit_before == 5);
    CHECK(S.credit_after == 0);
    CHECK(muon_receiver_credit(S.rcv) == 0);
    finish(2);
}

/* ---- 5. a source with a filter and dynamic-node-properties ---------------- */

/* What no muon link options can set yet, from a raw peer: it attaches a
 * receiver whose source is dynamic, with dynamic-node-properties
 * {:x: 7} and the filter {:f: @:"apache.org:selector-filter:string"
 * 'a = 1'}. */
static void terminus_attach(void *ud, const muon_event *ev) {
    (void)ud;
    S.attaches++;
    CHECK(!muon_event_is_receiver(ev));
    const muon_terminus *src = muon_sender_remote_source(muon_event_sender(ev));
    CHECK(src != NULL);
    CHECK(muon_terminus_is_dynamic(src));
    const muon_value *dnp = muon_terminus_dynamic_node_properties(src);
    CHECK(dnp != NULL);
    int32_t x = 0;
    OK(muon_value_get_int(muon_value_map_get_symbol_key(dnp, "x"), &x));
    CHECK(x == 7);
    const muon_value *filter = muon_terminus_filter(src);
    CHECK(filter != NULL);
    CHECK(muon_value_len(filter) == 1);
    const muon_value *f = muon_value_map_get_symbol_key(filter, "f");
    CHECK(muon_value_type(f) == MUON_TYPE_DESCRIBED);
    struct muon_bytes sym;
    OK(muon_value_described_descriptor_symbol(f, &sym));
    CHECK(sym.len == 33 && memcmp(sym.ptr, "apache.org:selector-filter:string", 33) == 0);
    char text[32];
    muon_value_format(muon_value_described_value(f), text, sizeof text);
    CHECK_STR(text, "a = 1");
}

static void terminus_from_a_raw_peer(void) {
    reset();
    muon_connection_options *so = NULL;
    OK(muon_connection_options_new(&so));
    OK(muon_connection_options_set_sasl_enabled(so, false));
    muon_handler h = base_handler();
    h.on_link_remote_attach = terminus_attach;
    OK(muon_loop_listen(L, "127.0.0.1:0", so, &h, NULL, &S.lis));
    muon_connection_options_free(so);
    S.port = muon_listener_port(S.lis);
    int fd = raw_connect(S.port);
    static const unsigned char frames[] = {
        /* begin: remote-channel null, next-outgoing-id 0, windows 8 */
        0, 0, 0, 20, 2, 0, 0, 0, 0x00, 0x53, 0x11, 0xc0, 0x07, 0x04, 0x40, 0x43, 0x52, 0x08,
        0x52, 0x08,
        /* attach: name "r", handle 0, role receiver, settle modes null */
        0, 0, 0, 94, 2, 0, 0, 0, 0x00, 0x53, 0x12, 0xc0, 0x51, 0x07, 0xa1, 0x01, 'r', 0x43,
        0x41, 0x40, 0x40,
        /* source: address, durable, expiry-policy, timeout null; dynamic */
        0x00, 0x53, 0x28, 0xc0, 0x40, 0x08, 0x40, 0x40, 0x40, 0x40, 0x41,
        /* dynamic-node-properties {:x: 7} */
        0xc1, 0x06, 0x02, 0xa3, 0x01, 'x', 0x54, 0x07,
        /* distribution-mode null; filter {:f: described} */
        0x40, 0xc1, 0x2f, 0x02, 0xa3, 0x01, 'f', 0x00, 0xa3, 0x21, 'a', 'p', 'a', 'c', 'h', 'e',
        '.', 'o', 'r', 'g', ':', 's', 'e', 'l', 'e', 'c', 't', 'o', 'r', '-', 'f', 'i', 'l',
        't', 'e', 'r', ':', 's', 't', 'r', 'i', 'n', 'g', 0xa1, 0x05, 'a', ' ', '=', ' ', '1',
        /* target: no fields */
        0x00, 0x53, 0x29, 0x45,
    };
    CHECK(send(fd, frames, sizeof frames, 0) == (ssize_t)sizeof frames);
    run_until(&S.attaches, 1);
    close(fd);
    run_until(&S.finals, 1);
    OK(muon_listener_close(S.lis));
    run_until(&S.listener_finals, 1);
}

/* ---- 6. timers ----------------------------------------------------------- */

static void on_timer(void *ud, const muon_event *ev) {
    (void)ud;
    muon_timer t = muon_event_timer(ev);
    if (SAME(t, S.t1))
        S.timer1++;
    else if (SAME(t, S.t2))
        S.timer2++;
    else
        S.wrong_timer++;
}

static void timers(void) {
    reset();
    muon_handler h = MUON_HANDLER_INIT;
    h.on_timer = on_timer;
    OK(muon_loop_schedule(L, 30, &h, NULL, &S.t1));
    OK(muon_loop_schedule(L, 10, &h, NULL, &S.t2));
    run_until(&S.timer1, 1);
    CHECK(S.timer2 == 1);
    CHECK(S.wrong_timer == 0);
}

int main(void) {
    alarm(WATCHDOG_S);
    OK(muon_loop_new(&L));
    OK(muon_loop_set_trace(L, MUON_TRACE_FRAMES));
    OK(muon_loop_set_log(L, on_log, NULL));
    idle_between_muon_ends();
    idle_drops_a_silent_peer();
    failover_url_is_used();
    open_fields_reach_the_peer();
    links();
    terminus_from_a_raw_peer();
    timers();
    clear_trace();
    muon_loop_free(L);
    puts("api_real_use: ok");
    return 0;
}
