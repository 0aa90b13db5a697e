/*
 * pn_tls_handshake.c: connection set-up and tear-down, one connection at a
 * time, on Qpid Proton's C API (proactor): the counterpart of muon's
 * benches/c/mu_handshake.c. Our program, using Proton's library.
 *
 * Connects to HOST:PORT COUNT times in sequence. Each time: a new transport
 * and TCP connection, the TLS handshake (with --tls-ca FILE: pn_ssl_domain in
 * client mode trusting that CA, PN_SSL_VERIFY_PEER_NAME with HOST as the peer
 * name: the same verification muon does by default), SASL (ANONYMOUS), the
 * AMQP open; once the peer's open arrives it closes and waits for
 * PN_TRANSPORT_CLOSED before starting the next one. Without --tls-ca, plain
 * TCP. Then it prints
 *
 *     COUNT handshakes in S seconds: R per second
 *
 * The listener is pn_tls_direct with --connections COUNT. Every connection
 * makes a full handshake (no TLS session resumption), as mu_handshake's do.
 *
 * usage: pn_tls_handshake HOST PORT COUNT [--tls-ca FILE]
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <proton/condition.h>
#include <proton/connection.h>
#include <proton/proactor.h>
#include <proton/sasl.h>
#include <proton/ssl.h>
#include <proton/transport.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct hs {
    pn_proactor_t *proactor;
    pn_ssl_domain_t *tls; /* NULL: plain TCP */
    const char *host;
    char addr[PN_MAX_ADDR];
    int count, started, opened;
};

static void fail(pn_event_t *e, pn_condition_t *c) {
    fprintf(stderr, "pn_tls_handshake: %s: %s: %s\n", pn_event_type_name(pn_event_type(e)),
            pn_condition_get_name(c), pn_condition_get_description(c));
    exit(1);
}

static void connect_next(struct hs *h) {
    pn_transport_t *t = pn_transport();
    if (h->tls) {
        pn_ssl_t *ssl = pn_ssl(t);
        if (pn_ssl_init(ssl, h->tls, NULL) != 0 || pn_ssl_set_peer_hostname(ssl, h->host) != 0) {
            fprintf(stderr, "pn_tls_handshake: cannot set up TLS on a connection\n");
            exit(1);
        }
    }
    pn_sasl_allowed_mechs(pn_sasl(t), "ANONYMOUS");
    ++h->started;
    pn_proactor_connect2(h->proactor, NULL, t, h->addr);
}

/* Returns false once the proactor has nothing left to do. */
static bool handle(struct hs *h, pn_event_t *e) {
    switch (pn_event_type(e)) {
    case PN_CONNECTION_INIT: {
        pn_connection_t *c = pn_event_connection(e);
        pn_connection_set_container(c, "pn_tls_handshake");
        pn_connection_set_hostname(c, h->host);
        pn_connection_open(c);
        break;
    }
    case PN_CONNECTION_REMOTE_OPEN:
        ++h->opened;
        pn_connection_close(pn_event_connection(e));
        break;
    case PN_CONNECTION_REMOTE_CLOSE: {
        pn_condition_t *c = pn_connection_remote_condition(pn_event_connection(e));
        if (pn_condition_is_set(c)) fail(e, c);
        break;
    }
    case PN_TRANSPORT_CLOSED: {
        pn_condition_t *c = pn_transport_condition(pn_event_transport(e));
        if (pn_condition_is_set(c)) fail(e, c);
        if (h->opened != h->started) {
            fprintf(stderr, "pn_tls_handshake: connection %d ended before it opened\n",
                    h->started);
            exit(1);
        }
        if (h->started < h->count) connect_next(h);
        break;
    }
    case PN_PROACTOR_INACTIVE:
        return false;
    default:
        break;
    }
    return true;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s HOST PORT COUNT [--tls-ca FILE]\n", argv[0]);
        return 2;
    }
    struct hs h = {0};
    h.host = argv[1];
    h.count = atoi(argv[3]);
    const char *ca = NULL;
    for (int i = 4; i + 1 < argc; ++i)
        if (strcmp(argv[i], "--tls-ca") == 0) ca = argv[i + 1];
    if (ca) {
        h.tls = pn_ssl_domain(PN_SSL_MODE_CLIENT);
        if (!h.tls || pn_ssl_domain_set_trusted_ca_db(h.tls, ca) != 0 ||
            pn_ssl_domain_set_peer_authentication(h.tls, PN_SSL_VERIFY_PEER_NAME, NULL) != 0) {
            fprintf(stderr, "pn_tls_handshake: cannot use the CA %s\n", ca);
            return 1;
        }
    }
    if (h.count <= 0) return 1;
    h.proactor = pn_proactor();
    pn_proactor_addr(h.addr, sizeof h.addr, argv[1], argv[2]);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    connect_next(&h);
    bool more = true;
    while (more) {
        pn_event_batch_t *batch = pn_proactor_wait(h.proactor);
        pn_event_t *e;
        while (more && (e = pn_event_batch_next(batch)) != NULL) more = handle(&h, e);
        pn_proactor_done(h.proactor, batch);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pn_proactor_free(h.proactor);
    if (h.tls) pn_ssl_domain_free(h.tls);
    if (h.opened != h.count) {
        fprintf(stderr, "pn_tls_handshake: %d of %d connections opened\n", h.opened, h.count);
        return 1;
    }
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%d handshakes in %.6f seconds: %.1f per second\n", h.count, secs, h.count / secs);
    return 0;
}
