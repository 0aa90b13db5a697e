/*
 * broker_probe.c: a test client for examples-c/broker.c (tests/c_examples.rs).
 * It does what the tutorial's programs do not: holds, releases, modifies or
 * rejects deliveries, sends and receives pre-settled, uses the anonymous
 * relay, and runs many connections at once.
 *
 *   broker_probe -a URL -m N MODE [CONNECTIONS], MODE one of
 *     recv      grant N credit at once, receive N and accept each, then close
 *     hold      receive N without settling, then exit abruptly
 *     release   receive N and release each, then close
 *     modify    receive N and modify each, then close
 *     reject    receive N and reject each, then close
 *     presend   send N pre-settled, then close
 *     prerecv   receive N on a pre-settled link, then close
 *     anon      send N through the anonymous relay (to: the URL's address)
 *     load      CONNECTIONS connections (default 200), each sending N to its
 *               own queue (address.i) and receiving them back
 *
 * Bodies are {'sequence': n}, printed one per line as received.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "muon.h"

static void check(muon_result rc, const char *what) {
    if (rc != MUON_RESULT_OK) {
        fprintf(stderr, "broker_probe: %s: %s\n", what, muon_result_message(rc));
        exit(1);
    }
}

static void usage_exit(void) {
    fprintf(stderr, "usage: broker_probe [-a URL] [-m N] MODE [CONNECTIONS]\n");
    exit(2);
}

enum mode { RECV, HOLD, RELEASE, MODIFY, REJECT, PRESEND, PRERECV, ANON, LOAD };

struct probe;

struct conn {               /* one connection (LOAD has many) */
    struct probe *p;
    muon_connection handle;
    char address[300];
    long sent, confirmed, received;
};

struct probe {
    enum mode mode;
    const char *host, *address;
    long n;
    int n_conns, finished;
    struct conn *conns;
    int exit_code;
};

static void fail(struct conn *c, const char *what, const muon_event *ev) {
    const muon_condition *why = muon_event_condition(ev);
    fprintf(stderr, "broker_probe: %s: %s %s\n", what, why ? muon_condition_name(why) : "",
            why ? muon_condition_description(why) : "no reason given");
    c->p->exit_code = 1;
    (void)muon_connection_close(c->handle);
}

static void finish(struct conn *c) {
    c->p->finished++;
    check(muon_connection_close(c->handle), "muon_connection_close");
}

static void on_link_flow(void *app, const muon_event *ev) {
    struct conn *c = app;
    muon_sender s = muon_event_sender(ev);
    while (muon_sender_credit(s) > 0 && c->sent < c->p->n) {
        muon_message *m = NULL;
        check(muon_message_new(&m), "muon_message_new");
        muon_value *body, *key, *seq;
        check(muon_value_map_new(&body), "muon_value_map_new");
        check(muon_value_string("sequence", &key), "muon_value_string");
        check(muon_value_long(++c->sent, &seq), "muon_value_long");
        check(muon_value_map_put(body, key, seq), "muon_value_map_put");
        check(muon_message_set_body(m, body), "muon_message_set_body");
        if (c->p->mode == ANON) check(muon_message_set_to(m, c->address), "muon_message_set_to");
        check(muon_sender_send(s, m, NULL), "muon_sender_send");
        muon_message_free(m);
    }
    if (c->p->mode == PRESEND && c->sent == c->p->n && c->confirmed == 0) {
        c->confirmed = c->sent; /* (nothing to confirm: marks it done) */
        printf("sent %ld pre-settled\n", c->sent);
        finish(c);
    }
}

static void on_accepted(void *app, const muon_event *ev) {
    struct conn *c = app;
    (void)ev;
    if (++c->confirmed < c->p->n) return;
    if (c->p->mode == ANON) {
        printf("all messages confirmed\n");
        finish(c);
    } else if (c->received == c->p->n) {
        finish(c);
    }
}

static void on_message(void *app, const muon_event *ev) {
    struct conn *c = app;
    muon_delivery d = muon_event_delivery(ev);
    if (c->p->mode != LOAD) {
        char text[256];
        muon_value_format(muon_message_body(muon_event_message(ev)), text, sizeof text);
        printf("%s\n", text);
        fflush(stdout);
    }
    c->received++;
    switch (c->p->mode) {
    case HOLD:
        if (c->received == c->p->n) exit(0); /* unsettled, no close: like a crash */
        return;
    case RELEASE: check(muon_delivery_release(d), "muon_delivery_release"); break;
    case MODIFY: check(muon_delivery_modify(d, true, false), "muon_delivery_modify"); break;
    case REJECT: check(muon_delivery_reject(d, "amqp:internal-error", "probe"), "muon_delivery_reject"); break;
    default: break;
    }
    if (c->received == c->p->n && (c->p->mode != LOAD || c->confirmed == c->p->n)) finish(c);
}

static void on_connection_remote_open(void *app, const muon_event *ev) {
    struct conn *c = app;
    struct probe *p = c->p;
    muon_link_options *lo;
    check(muon_link_options_new(&lo), "muon_link_options_new");
    muon_handler h = MUON_HANDLER_INIT;
    h.on_link_flow = on_link_flow;
    h.on_accepted = on_accepted;
    h.on_message = on_message;
    if (p->mode == PRESEND || p->mode == PRERECV) {
        check(muon_link_options_set_presettled(lo, true), "muon_link_options_set_presettled");
    }
    if (p->mode == ANON) {
        if (!muon_connection_remote_offers_capability(c->handle, "ANONYMOUS-RELAY")) {
            fail(c, "the broker does not offer ANONYMOUS-RELAY", ev);
        }
        check(muon_connection_open_sender(c->handle, NULL, lo, &h, c, NULL), "open_sender");
    }
    if (p->mode == PRESEND || p->mode == LOAD) {
        check(muon_connection_open_sender(c->handle, c->address, lo, &h, c, NULL), "open_sender");
    }
    if (p->mode != PRESEND && p->mode != ANON) {
        muon_receiver r;
        bool exact = p->mode == RECV || p->mode == HOLD || p->mode == RELEASE || p->mode == MODIFY || p->mode == REJECT;
        if (exact) { /* exactly N deliveries: no automatic credit */
            check(muon_link_options_set_credit_window(lo, 0), "set_credit_window");
            check(muon_link_options_set_auto_accept(lo, p->mode != HOLD), "set_auto_accept");
        }
        check(muon_connection_open_receiver(c->handle, c->address, lo, &h, c, &r), "open_receiver");
        if (exact) check(muon_receiver_flow(r, (uint32_t)p->n), "muon_receiver_flow");
    }
    muon_link_options_free(lo);
}

static void on_link_remote_close(void *app, const muon_event *ev) {
    if (muon_event_condition(ev) != NULL) fail(app, "link closed", ev);
}

static void on_connection_remote_close(void *app, const muon_event *ev) {
    if (muon_event_condition(ev) != NULL) fail(app, "connection closed", ev);
}

static void on_disconnected(void *app, const muon_event *ev) {
    fail(app, "disconnected", ev);
}

int main(int argc, char **argv) {
    static const char *modes[] = {"recv", "hold", "release", "modify", "reject",
                                  "presend", "prerecv", "anon", "load"};
    const char *url_text = "localhost:5672/examples", *rest[2] = {NULL, NULL};
    long n = 100;
    int n_rest = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-a") == 0 && i + 1 < argc) {
            url_text = argv[++i];
        } else if (strcmp(argv[i], "-m") == 0 && i + 1 < argc) {
            n = atol(argv[++i]);
        } else if (argv[i][0] != '-' && n_rest < 2) {
            rest[n_rest++] = argv[i];
        } else {
            usage_exit();
        }
    }
    muon_url *url = NULL;
    if (n_rest < 1 || muon_url_parse(url_text, &url) != MUON_RESULT_OK) usage_exit();
    struct probe p = {.mode = LOAD + 1, .host = url_text, .address = muon_url_address(url),
                      .n = n, .n_conns = 1};
    for (int i = 0; i <= LOAD; i++) {
        if (strcmp(rest[0], modes[i]) == 0) p.mode = (enum mode)i;
    }
    if (p.mode > LOAD) usage_exit();
    if (p.mode == LOAD) p.n_conns = n_rest > 1 ? atoi(rest[1]) : 200;
    if (p.n_conns < 1) usage_exit();

    muon_loop *loop = NULL;
    check(muon_loop_new(&loop), "muon_loop_new");
    p.conns = calloc((size_t)p.n_conns, sizeof *p.conns);
    if (loop == NULL || p.conns == NULL) return 1;
    muon_handler ch = MUON_HANDLER_INIT;
    ch.on_connection_remote_open = on_connection_remote_open;
    ch.on_link_remote_close = on_link_remote_close;
    ch.on_connection_remote_close = on_connection_remote_close;
    ch.on_disconnected = on_disconnected;
    for (int i = 0; i < p.n_conns; i++) {
        struct conn *c = &p.conns[i];
        c->p = &p;
        if (p.mode == LOAD) {
            snprintf(c->address, sizeof c->address, "%s.%d", p.address, i);
        } else {
            snprintf(c->address, sizeof c->address, "%s", p.address);
        }
        check(muon_loop_connect(loop, p.host, NULL, &ch, c, &c->handle), "muon_loop_connect");
    }
    muon_result rc = muon_loop_run(loop);
    muon_loop_free(loop);
    muon_url_free(url);
    free(p.conns);
    if (rc != MUON_RESULT_OK) {
        fprintf(stderr, "broker_probe: %s\n", muon_result_message(rc));
        return 1;
    }
    if (p.exit_code == 0 && p.finished < p.n_conns) {
        fprintf(stderr, "broker_probe: %d of %d connections finished\n", p.finished, p.n_conns);
        return 1;
    }
    if (p.mode == LOAD && p.exit_code == 0) {
        printf("%d connections each sent and received %ld messages\n", p.n_conns, p.n);
    }
    return p.exit_code;
}
