/* api_redirect.c: muon_connection_options_set_follow_redirect, through real
 * sockets.
 *
 *   api_redirect [CA.pem SERVER.pem SERVER.key]
 *
 * One loop listens three times on 127.0.0.1: T, the target, takes messages
 * (built-in credit, accepted when on_message returns); R closes every
 * connection it accepts with amqp:connection:redirect, info {hostname,
 * network-host 127.0.0.1, port: T's}; L redirects every connection to
 * itself. Clients connect to R or L, open a sender and send one message
 * once they are on T.
 *   1. follow on: on_disconnected with the redirect (its info read with
 *      muon_condition_info), on_reconnected, the sender re-attached on T,
 *      the message arrives there and is accepted; no
 *      on_connection_remote_close;
 *   2. follow off (the default): on_connection_remote_close with the
 *      redirect and its info; no reconnect, nothing reaches T;
 *   3. a redirect to itself: followed 10 times, then reported as a close;
 *   5. a link redirect: listener K detaches every link attached to
 *      "old-address" with amqp:link:redirect, info {address:
 *      "new-address"}: followed, the sender is attached again to
 *      "new-address" (the old link ends with on_link_final, no
 *      on_link_remote_close) and its message arrives there; not followed,
 *      on_link_remote_close reports the condition and its info;
 *   4. with the PKI arguments, the same over TLS (amqps://, listeners with
 *      SERVER.pem for localhost and 127.0.0.1, the client trusting CA.pem
 *      only): a redirect naming hostname "localhost" is followed and the
 *      message arrives; one naming "elsewhere.invalid" (network-host
 *      127.0.0.1, the same listener) fails the TLS handshake
 *      (amqp:unauthorized-access: not valid for that name), since the
 *      certificate is not valid for the name the redirect gave.
 * Prints "api_redirect: ok" when every check passed. */
#include "api_check.h"

static muon_loop *L;

/* ---- the servers ---------------------------------------------------------- */

static unsigned target_port;
static int target_messages;
static char target_body[64];

static char target_address[64]; /* of the link a message came on */

static void on_target_message(void *ud, const muon_event *ev) {
    (void)ud;
    target_messages++;
    const char *a = muon_receiver_remote_target_address(muon_event_receiver(ev));
    snprintf(target_address, sizeof target_address, "%s", a ? a : "");
    muon_value_format(muon_message_body(muon_event_message(ev)), target_body,
                      sizeof target_body);
}

struct redirector {
    const char *hostname;
    unsigned port; /* where to send clients */
    int closed;    /* connections closed with a redirect */
};

static void redirect_it(void *ud, const muon_event *ev) {
    struct redirector *r = ud;
    muon_value *info, *k, *v;
    OK(muon_value_map_new(&info));
    OK(muon_value_symbol("hostname", &k));
    OK(muon_value_string(r->hostname, &v));
    OK(muon_value_map_put(info, k, v));
    OK(muon_value_symbol("network-host", &k));
    OK(muon_value_string("127.0.0.1", &v));
    OK(muon_value_map_put(info, k, v));
    OK(muon_value_symbol("port", &k));
    OK(muon_value_ushort((uint16_t)r->port, &v));
    OK(muon_value_map_put(info, k, v));
    OK(muon_connection_close_with_info(muon_event_connection(ev), "amqp:connection:redirect",
                                       "served elsewhere", info));
    muon_value_free(info);
    r->closed++;
}

/* K: links attached to "old-address" are redirected to "new-address". */
static int links_redirected;

static void redirect_link(void *ud, const muon_event *ev) {
    (void)ud;
    if (!muon_event_is_receiver(ev)) return;
    muon_receiver r = muon_event_receiver(ev);
    const char *a = muon_receiver_remote_target_address(r);
    if (a == NULL || strcmp(a, "old-address") != 0) return;
    muon_value *info, *k, *v;
    OK(muon_value_map_new(&info));
    OK(muon_value_symbol("address", &k));
    OK(muon_value_string("new-address", &v));
    OK(muon_value_map_put(info, k, v));
    OK(muon_receiver_close_with_info(r, "amqp:link:redirect", "moved", info));
    muon_value_free(info);
    links_redirected++;
}

static muon_listener listen_on(muon_connection_options *o, muon_handler *h, void *ud) {
    muon_listener l;
    OK(muon_loop_listen(L, "127.0.0.1:0", o, h, ud, &l));
    CHECK(muon_listener_port(l) != 0);
    return l;
}

/* ---- the client ----------------------------------------------------------- */

static struct client {
    int disconnects, reconnects, remote_closes, accepted, sent, failed;
    int link_remote_closes, link_finals;
    char first_cond[256], last_cond[256];
    unsigned info_port;
    char info_host[64];
} C;

static void remember(const muon_event *ev) {
    const muon_condition *c = muon_event_condition(ev);
    CHECK(c != NULL);
    snprintf(C.last_cond, sizeof C.last_cond, "%s: %s", muon_condition_name(c),
             muon_condition_description(c));
    if (!C.first_cond[0]) snprintf(C.first_cond, sizeof C.first_cond, "%s", C.last_cond);
    const muon_value *info = muon_condition_info(c);
    if (info != NULL && muon_value_map_get_symbol_key(info, "port") != NULL) {
        uint16_t p = 0;
        OK(muon_value_get_ushort(muon_value_map_get_symbol_key(info, "port"), &p));
        C.info_port = p;
        const muon_value *h = muon_value_map_get_symbol_key(info, "hostname");
        CHECK(h != NULL);
        muon_value_format(h, C.info_host, sizeof C.info_host);
    }
}

static void on_disconnected(void *ud, const muon_event *ev) {
    (void)ud;
    C.disconnects++;
    remember(ev);
}

static void on_reconnected(void *ud, const muon_event *ev) {
    (void)ud, (void)ev;
    C.reconnects++;
}

/* The peer's close: with an error (a redirect not followed), or the
 * answer to this side's close (none). */
static void on_remote_close(void *ud, const muon_event *ev) {
    (void)ud;
    if (muon_event_condition(ev) == NULL) return;
    C.remote_closes++;
    remember(ev);
    OK(muon_connection_close(muon_event_connection(ev)));
}

static void on_link_remote_close(void *ud, const muon_event *ev) {
    (void)ud;
    C.link_remote_closes++;
    remember(ev);
    const muon_value *info = muon_condition_info(muon_event_condition(ev));
    CHECK(info != NULL && muon_value_map_get_symbol_key(info, "address") != NULL);
    muon_value_format(muon_value_map_get_symbol_key(info, "address"), C.info_host,
                      sizeof C.info_host);
    OK(muon_connection_close(muon_event_connection(ev)));
}

static void on_link_final(void *ud, const muon_event *ev) {
    (void)ud, (void)ev;
    C.link_finals++;
}

/* The sender's address, and where its message may go: after a connection
 * redirect (want_target NULL: the redirector might grant credit before it
 * closes, and a message sent there would be lost with the connection), or
 * once the peer answered the attach to want_target. */
static const char *sender_address = "redirected", *want_target;

static void on_flow(void *ud, const muon_event *ev) {
    (void)ud;
    muon_sender s = muon_event_sender(ev);
    const char *t = muon_sender_remote_target_address(s);
    bool there = want_target ? t != NULL && strcmp(t, want_target) == 0 : C.reconnects > 0;
    if (C.sent || !there || muon_sender_credit(s) == 0) return;
    muon_message *m;
    OK(muon_message_new(&m));
    OK(muon_message_set_body_string(m, "after the redirect"));
    OK(muon_sender_send(s, m, NULL));
    muon_message_free(m);
    C.sent = 1;
}

static void on_accepted(void *ud, const muon_event *ev) {
    (void)ud;
    C.accepted++;
    OK(muon_connection_close(muon_event_connection(ev)));
}

static int conn_final;

static void on_conn_final(void *ud, const muon_event *ev) {
    (void)ud, (void)ev;
    conn_final = 1;
}

/* Connects to `url` and runs until the connection's final event. */
static void run_client(const char *url, muon_connection_options *o) {
    memset(&C, 0, sizeof C);
    conn_final = 0;
    muon_handler h = MUON_HANDLER_INIT;
    h.on_disconnected = on_disconnected;
    h.on_reconnected = on_reconnected;
    h.on_connection_remote_close = on_remote_close;
    h.on_link_flow = on_flow;
    h.on_accepted = on_accepted;
    h.on_connection_final = on_conn_final;
    h.on_link_remote_close = on_link_remote_close;
    h.on_link_final = on_link_final;
    muon_connection conn;
    OK(muon_loop_connect(L, url, o, &h, NULL, &conn));
    muon_sender s;
    OK(muon_connection_open_sender(conn, sender_address, NULL, NULL, NULL, &s));
    for (int i = 0; i < 1000 && !conn_final; i++) OK(muon_loop_run_once(L, 10));
    CHECK(conn_final);
}

static muon_connection_options *client_options(bool follow, const char *ca) {
    muon_connection_options *o;
    OK(muon_connection_options_new(&o));
    OK(muon_connection_options_set_follow_redirect(o, follow));
    if (ca != NULL) {
        OK(muon_connection_options_set_tls_system_trust(o, false));
        OK(muon_connection_options_add_tls_ca_file(o, ca));
    }
    return o;
}

/* Cases 1 to 3 (plain) or 1 and 4 (TLS: `ca` set), against listeners
 * made with `lo`. */
static void cases(muon_connection_options *lo, const char *ca) {
    const char *scheme = ca ? "amqps" : "amqp";
    char url[128];
    muon_handler th = MUON_HANDLER_INIT;
    th.on_message = on_target_message;
    muon_listener t = listen_on(lo, &th, NULL);
    target_port = muon_listener_port(t);
    struct redirector r = {"localhost", target_port, 0};
    muon_handler rh = MUON_HANDLER_INIT;
    rh.on_connection_remote_open = redirect_it;
    muon_listener rl = listen_on(lo, &rh, &r);
    snprintf(url, sizeof url, "%s://localhost:%u", scheme, muon_listener_port(rl));

    /* 1. Followed. */
    target_messages = 0;
    muon_connection_options *o = client_options(true, ca);
    run_client(url, o);
    if (C.accepted != 1) fprintf(stderr, "%s follow: %s / %s\n", scheme, C.first_cond, C.last_cond);
    CHECK(r.closed == 1);
    CHECK(C.disconnects == 1 && C.reconnects == 1 && C.remote_closes == 0);
    CHECK(strncmp(C.first_cond, "amqp:connection:redirect: served elsewhere", 42) == 0);
    CHECK(C.info_port == target_port);
    CHECK_STR(C.info_host, "localhost");
    CHECK(C.accepted == 1 && target_messages == 1);
    CHECK_STR(target_body, "after the redirect");
    muon_connection_options_free(o);

    if (ca == NULL) {
        /* 2. Not followed (the default). */
        target_messages = 0;
        OK(muon_connection_options_new(&o));
        run_client(url, o);
        CHECK(r.closed == 2);
        CHECK(C.remote_closes == 1 && C.disconnects == 0 && C.reconnects == 0);
        CHECK(strncmp(C.last_cond, "amqp:connection:redirect", 24) == 0);
        CHECK(C.info_port == target_port);
        CHECK(C.accepted == 0 && target_messages == 0);
        muon_connection_options_free(o);

        /* 3. A loop: 10 followed, the 11th reported as a close. */
        struct redirector self = {"localhost", 0, 0};
        muon_listener sl = listen_on(lo, &rh, &self);
        self.port = muon_listener_port(sl);
        snprintf(url, sizeof url, "amqp://127.0.0.1:%u", self.port);
        o = client_options(true, NULL);
        run_client(url, o);
        CHECK(self.closed == 11);
        CHECK(C.disconnects == 10 && C.reconnects == 10 && C.remote_closes == 1);
        CHECK(strncmp(C.last_cond, "amqp:connection:redirect", 24) == 0);
        CHECK(C.accepted == 0);
        muon_connection_options_free(o);
        OK(muon_listener_close(sl));

        /* 5. A link redirect, followed. */
        muon_handler kh = MUON_HANDLER_INIT;
        kh.on_link_remote_open = redirect_link;
        kh.on_message = on_target_message;
        muon_listener kl = listen_on(lo, &kh, NULL);
        snprintf(url, sizeof url, "amqp://127.0.0.1:%u", muon_listener_port(kl));
        sender_address = "old-address";
        want_target = "new-address";
        target_messages = 0;
        o = client_options(true, NULL);
        run_client(url, o);
        CHECK(links_redirected == 1);
        CHECK(C.link_remote_closes == 0 && C.link_finals == 2); /* the old link, then the new */
        CHECK(C.disconnects == 0 && C.remote_closes == 0);
        CHECK(C.accepted == 1 && target_messages == 1);
        CHECK_STR(target_address, "new-address");
        muon_connection_options_free(o);

        /* Not followed (the default): reported with its info. */
        target_messages = 0;
        OK(muon_connection_options_new(&o));
        run_client(url, o);
        CHECK(links_redirected == 2);
        CHECK(C.link_remote_closes == 1 && C.accepted == 0 && target_messages == 0);
        CHECK(strncmp(C.last_cond, "amqp:link:redirect: moved", 25) == 0);
        CHECK_STR(C.info_host, "new-address");
        muon_connection_options_free(o);
        sender_address = "redirected";
        want_target = NULL;
        OK(muon_listener_close(kl));
    } else {
        /* 4. A redirect to a name the certificate is not valid for. */
        struct redirector bad = {"elsewhere.invalid", target_port, 0};
        muon_listener bl = listen_on(lo, &rh, &bad);
        snprintf(url, sizeof url, "amqps://localhost:%u", muon_listener_port(bl));
        target_messages = 0;
        o = client_options(true, ca);
        run_client(url, o);
        CHECK(bad.closed == 1);
        /* on_reconnected comes with the TCP connection; then the TLS
         * handshake fails. */
        CHECK(C.disconnects == 2 && C.reconnects == 1 && C.remote_closes == 0);
        CHECK(strncmp(C.first_cond, "amqp:connection:redirect", 24) == 0);
        if (strstr(C.last_cond, "not valid for the name \"elsewhere.invalid\"") == NULL)
            fprintf(stderr, "bad name: %s\n", C.last_cond);
        CHECK(strncmp(C.last_cond, "amqp:unauthorized-access", 24) == 0);
        CHECK(strstr(C.last_cond, "not valid for the name \"elsewhere.invalid\"") != NULL);
        CHECK(C.accepted == 0 && target_messages == 0);
        muon_connection_options_free(o);
        OK(muon_listener_close(bl));
    }
    OK(muon_listener_close(rl));
    OK(muon_listener_close(t));
    for (int i = 0; i < 20; i++) OK(muon_loop_run_once(L, 5));
}

int main(int argc, char **argv) {
    alarm(WATCHDOG_S);
    CHECK(argc == 1 || argc == 4);
    CHECK_RC(muon_connection_options_set_follow_redirect(NULL, true), MUON_RESULT_NULL_ARGUMENT);
    OK(muon_loop_new(&L));
    cases(NULL, NULL);
    if (argc == 4) {
        muon_connection_options *lo;
        OK(muon_connection_options_new(&lo));
        OK(muon_connection_options_set_tls_cert_file(lo, argv[2], argv[3]));
        cases(lo, argv[1]);
        muon_connection_options_free(lo);
    }
    OK(muon_loop_run(L));
    muon_loop_free(L);
    printf("api_redirect: ok\n");
    return 0;
}
