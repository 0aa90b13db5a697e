/*
 * pn_tls_direct.c: the listening receiver of the TLS rows, on Qpid Proton's
 * C API (proactor). Our program, using Proton's library: Proton ships a TLS
 * sender (examples/c/send-ssl.c) but no TLS receiver.
 *
 * Listens on HOST:PORT ("listening on N" is printed) and does what Proton's
 * direct.c does as a receiver, over TLS: on each incoming link it grants
 * COUNT credits at once (direct.c's choice), decodes every message, prints its
 * body, accepts and settles it, and after COUNT messages closes the
 * connection and the listener. With --tls-cert FILE --tls-key FILE every
 * accepted connection is TLS with that certificate (pn_ssl_domain in server
 * mode); without them, plain TCP. SASL: ANONYMOUS, no authentication
 * required, as direct.c.
 *
 * With --connections K it also counts connections: once K have ended it
 * closes the listener and exits (the listener side of the handshake
 * benchmark, pn_tls_handshake, with COUNT 0).
 *
 * usage: pn_tls_direct HOST PORT ADDRESS COUNT [--connections K]
 *                      [--tls-cert FILE --tls-key FILE]
 *
 * Bodies are printed without a flush per message (direct.c flushes each
 * one; muon's receivers do not): in Proton's favour.
 */
#include <proton/condition.h>
#include <proton/connection.h>
#include <proton/delivery.h>
#include <proton/link.h>
#include <proton/listener.h>
#include <proton/message.h>
#include <proton/netaddr.h>
#include <proton/proactor.h>
#include <proton/sasl.h>
#include <proton/session.h>
#include <proton/ssl.h>
#include <proton/transport.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rx {
    pn_proactor_t *proactor;
    pn_listener_t *listener;
    pn_ssl_domain_t *tls; /* NULL: plain TCP */
    pn_message_t *msg;
    pn_string_t *text;
    char *buf;
    size_t cap;
    int count, received;
    int connections, ended;
    int status;
};

static const char *opt(int argc, char **argv, const char *name) {
    for (int i = 5; i + 1 < argc; ++i)
        if (strncmp(argv[i], "--", 2) == 0 && strcmp(argv[i] + 2, name) == 0) return argv[i + 1];
    return NULL;
}

/* A condition that is set means failure: report it and stop. */
static void check(struct rx *r, pn_event_t *e, pn_condition_t *c) {
    if (!pn_condition_is_set(c)) return;
    fprintf(stderr, "pn_tls_direct: %s: %s: %s\n", pn_event_type_name(pn_event_type(e)),
            pn_condition_get_name(c), pn_condition_get_description(c));
    r->status = 1;
    pn_connection_t *conn = pn_event_connection(e);
    if (conn) pn_connection_close(conn);
    if (r->listener) pn_listener_close(r->listener);
}

static void on_delivery(struct rx *r, pn_event_t *e) {
    pn_delivery_t *d = pn_event_delivery(e);
    pn_link_t *l = pn_delivery_link(d);
    if (!pn_delivery_readable(d) || pn_delivery_partial(d)) return; /* wait for all of it */
    size_t size = pn_delivery_pending(d);
    if (size > r->cap) {
        r->cap = size;
        r->buf = realloc(r->buf, size);
        if (!r->buf) exit(1);
    }
    ssize_t got = pn_link_recv(l, r->buf, size);
    pn_link_advance(l);
    pn_message_clear(r->msg);
    if (got < 0 || pn_message_decode(r->msg, r->buf, (size_t)got) != 0) {
        fprintf(stderr, "pn_tls_direct: a message could not be read\n");
        exit(1);
    }
    pn_string_clear(r->text);
    pn_inspect(pn_message_body(r->msg), r->text);
    puts(pn_string_get(r->text));
    pn_delivery_update(d, PN_ACCEPTED);
    pn_delivery_settle(d);
    if (++r->received == r->count) {
        printf("%d messages received\n", r->received);
        pn_connection_close(pn_event_connection(e));
        pn_listener_close(r->listener);
    }
}

/* Returns false once the proactor has nothing left to do. */
static bool handle(struct rx *r, pn_event_t *e) {
    switch (pn_event_type(e)) {
    case PN_LISTENER_OPEN: {
        char port[32];
        pn_netaddr_host_port(pn_listener_addr(pn_event_listener(e)), NULL, 0, port, sizeof port);
        printf("listening on %s\n", port);
        fflush(stdout);
        break;
    }
    case PN_LISTENER_ACCEPT: {
        pn_transport_t *t = pn_transport();
        if (r->tls && pn_ssl_init(pn_ssl(t), r->tls, NULL) != 0) {
            fprintf(stderr, "pn_tls_direct: cannot set up TLS on a connection\n");
            exit(1);
        }
        pn_listener_accept2(pn_event_listener(e), NULL, t);
        break;
    }
    case PN_CONNECTION_BOUND: {
        pn_transport_t *t = pn_event_transport(e);
        pn_transport_require_auth(t, false);
        pn_sasl_allowed_mechs(pn_sasl(t), "ANONYMOUS");
        break;
    }
    case PN_CONNECTION_REMOTE_OPEN:
        pn_connection_open(pn_event_connection(e));
        break;
    case PN_SESSION_REMOTE_OPEN:
        pn_session_open(pn_event_session(e));
        break;
    case PN_LINK_REMOTE_OPEN: {
        pn_link_t *l = pn_event_link(e);
        pn_link_open(l);
        if (pn_link_is_receiver(l) && r->count > 0) pn_link_flow(l, r->count);
        break;
    }
    case PN_DELIVERY:
        if (pn_link_is_receiver(pn_event_link(e))) on_delivery(r, e);
        break;
    case PN_LINK_REMOTE_CLOSE:
    case PN_LINK_REMOTE_DETACH:
        check(r, e, pn_link_remote_condition(pn_event_link(e)));
        pn_link_close(pn_event_link(e));
        break;
    case PN_SESSION_REMOTE_CLOSE:
        check(r, e, pn_session_remote_condition(pn_event_session(e)));
        pn_session_close(pn_event_session(e));
        break;
    case PN_CONNECTION_REMOTE_CLOSE:
        check(r, e, pn_connection_remote_condition(pn_event_connection(e)));
        pn_connection_close(pn_event_connection(e));
        break;
    case PN_TRANSPORT_CLOSED:
        check(r, e, pn_transport_condition(pn_event_transport(e)));
        if (r->connections && ++r->ended == r->connections) {
            printf("%d connections ended\n", r->ended);
            if (r->listener) pn_listener_close(r->listener);
        }
        break;
    case PN_LISTENER_CLOSE:
        check(r, e, pn_listener_condition(pn_event_listener(e)));
        r->listener = NULL;
        break;
    case PN_PROACTOR_INACTIVE:
        return false;
    default:
        break;
    }
    return true;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr,
                "usage: %s HOST PORT ADDRESS COUNT [--connections K] "
                "[--tls-cert FILE --tls-key FILE]\n",
                argv[0]);
        return 2;
    }
    struct rx r = {0};
    r.count = atoi(argv[4]);
    const char *k = opt(argc, argv, "connections");
    r.connections = k ? atoi(k) : 0;
    const char *cert = opt(argc, argv, "tls-cert"), *key = opt(argc, argv, "tls-key");
    if (!cert != !key) {
        fprintf(stderr, "--tls-cert and --tls-key go together\n");
        return 2;
    }
    if (cert) {
        r.tls = pn_ssl_domain(PN_SSL_MODE_SERVER);
        if (!r.tls || pn_ssl_domain_set_credentials(r.tls, cert, key, NULL) != 0) {
            fprintf(stderr, "pn_tls_direct: cannot use %s and %s\n", cert, key);
            return 1;
        }
    }
    r.msg = pn_message();
    r.text = pn_string(NULL);
    r.proactor = pn_proactor();
    r.listener = pn_listener();
    char addr[PN_MAX_ADDR];
    pn_proactor_addr(addr, sizeof addr, argv[1], argv[2]);
    pn_proactor_listen(r.proactor, r.listener, addr, 16);

    bool more = true;
    while (more) {
        pn_event_batch_t *batch = pn_proactor_wait(r.proactor);
        pn_event_t *e;
        while (more && (e = pn_event_batch_next(batch)) != NULL) more = handle(&r, e);
        pn_proactor_done(r.proactor, batch);
    }
    pn_proactor_free(r.proactor);
    if (r.tls) pn_ssl_domain_free(r.tls);
    pn_message_free(r.msg);
    pn_free(r.text);
    free(r.buf);
    if (r.count > 0 && r.received < r.count) {
        fprintf(stderr, "pn_tls_direct: %d of %d messages received\n", r.received, r.count);
        return 1;
    }
    return r.status;
}
