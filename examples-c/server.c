/*
 * server.c: the service side of request/response.
 *
 * Receives requests from an address and answers each with its body in
 * upper case, sent to the request's reply-to address with the request's
 * message-id as correlation-id. It keeps one sender per reply-to address
 * and reuses it for later requests with the same reply-to. A reply waits
 * in that sender's list until the sender has credit. Runs until SIGINT or
 * SIGTERM (or until the broker closes the connection).
 *
 *   server [-a URL]     URL defaults to localhost:5672/examples
 *
 * Prints nothing unless something goes wrong.
 */
#include "common.h" /* first: it sets _POSIX_C_SOURCE */

#include <ctype.h>

struct server {
    muon_loop *loop;
    muon_connection conn;
    const char *host;
    const char *peer; /* host without credentials, for messages */
    struct reply *replies; /* one per reply-to address */
    int exit_code;
};

struct reply {             /* a cached sender: userdata of its handler */
    struct server *srv;
    char *address;
    muon_sender sender;
    muon_message **waiting; /* replies waiting for credit */
    size_t n_waiting, cap_waiting;
    struct reply *next;
};

static void free_reply(struct reply *r) {
    for (size_t i = 0; i < r->n_waiting; i++) muon_message_free(r->waiting[i]);
    free(r->waiting);
    free(r->address);
    free(r);
}

/* Sends what waits, as far as credit goes. */
static void flush(struct reply *r) {
    size_t sent = 0;
    while (sent < r->n_waiting && muon_sender_credit(r->sender) > 0) {
        check(muon_sender_send(r->sender, r->waiting[sent], NULL), "muon_sender_send");
        muon_message_free(r->waiting[sent++]);
    }
    memmove(r->waiting, r->waiting + sent, (r->n_waiting - sent) * sizeof *r->waiting);
    r->n_waiting -= sent;
}

/* A reply sender's handler. */
static void on_link_flow(void *app, const muon_event *ev) {
    (void)ev;
    flush(app);
}

/* A reply sender closed by the broker. amqp:resource-deleted is how a
 * client's temporary address ends when the client leaves; any other error
 * (a reply-to the broker refuses) is reported, and the service goes on
 * serving other clients. Either way on_link_final frees the sender. */
static void on_reply_remote_close(void *app, const muon_event *ev) {
    struct reply *r = app;
    const muon_condition *c = muon_event_condition(ev);
    char buf[512];
    if (c != NULL && strcmp(muon_condition_name(c), "amqp:resource-deleted") != 0) {
        fprintf(stderr, "server: cannot reply to %s: %s\n", r->address,
                condition_text(c, buf, sizeof buf, ""));
    }
}

/* The sender is gone (e.g. the client left and its queue was deleted). */
static void on_link_final(void *app, const muon_event *ev) {
    struct reply *r = app;
    (void)ev;
    for (struct reply **p = &r->srv->replies; *p != NULL; p = &(*p)->next) {
        if (*p == r) {
            *p = r->next;
            break;
        }
    }
    free_reply(r);
}

static struct reply *sender_for(struct server *srv, const char *address) {
    for (struct reply *r = srv->replies; r != NULL; r = r->next) {
        if (strcmp(r->address, address) == 0) return r;
    }
    struct reply *r = calloc(1, sizeof *r);
    if (r == NULL || (r->address = malloc(strlen(address) + 1)) == NULL) exit(1);
    strcpy(r->address, address);
    r->srv = srv;
    muon_handler h = MUON_HANDLER_INIT;
    h.on_link_flow = on_link_flow;
    h.on_link_remote_close = on_reply_remote_close;
    h.on_link_final = on_link_final;
    check(muon_connection_open_sender(srv->conn, address, NULL, &h, r, &r->sender),
          "muon_connection_open_sender");
    r->next = srv->replies;
    srv->replies = r;
    return r;
}

/* The request receiver's handler. */
static void on_message(void *app, const muon_event *ev) {
    struct server *srv = app;
    const muon_message *req = muon_event_message(ev);
    const char *reply_to = muon_message_reply_to(req);
    if (reply_to == NULL) {
        check(muon_delivery_reject(muon_event_delivery(ev), "amqp:precondition-failed",
                                   "the request has no reply-to address"),
              "muon_delivery_reject");
        return;
    }
    char text[4096];
    muon_bytes b;
    const muon_value *body = muon_message_body(req);
    if (muon_value_get_string(body, &b) == MUON_RESULT_OK && b.len < sizeof text) {
        memcpy(text, b.ptr, b.len);
        text[b.len] = '\0';
    } else {
        muon_value_format(body, text, sizeof text);
    }
    for (char *c = text; *c; c++) *c = (char)toupper((unsigned char)*c);

    muon_message *resp = NULL;
    check(muon_message_new(&resp), "muon_message_new");
    check(muon_message_set_body_string(resp, text), "muon_message_set_body_string");
    if (muon_message_id(req) != NULL) {
        muon_value *id;
        check(muon_value_clone(muon_message_id(req), &id), "muon_value_clone");
        check(muon_message_set_correlation_id(resp, id), "muon_message_set_correlation_id");
    }
    struct reply *r = sender_for(srv, reply_to);
    if (r->n_waiting == r->cap_waiting) {
        r->cap_waiting = r->cap_waiting ? 2 * r->cap_waiting : 8;
        r->waiting = realloc(r->waiting, r->cap_waiting * sizeof *r->waiting);
        if (r->waiting == NULL) exit(1);
    }
    r->waiting[r->n_waiting++] = resp;
    flush(r);
}

/* The connection's handler; the request receiver's close comes here. */
static void on_link_remote_close(void *app, const muon_event *ev) {
    struct server *srv = app;
    char buf[512];
    if (muon_event_condition(ev) != NULL) {
        fprintf(stderr, "server: the request link was closed: %s\n",
                condition_text(muon_event_condition(ev), buf, sizeof buf, ""));
        srv->exit_code = 1;
        (void)muon_connection_close(srv->conn); /* may be closing already */
    }
}

static void on_connection_remote_close(void *app, const muon_event *ev) {
    struct server *srv = app;
    char buf[512];
    if (muon_event_condition(ev) != NULL) {
        printf("Closed due to %s\n", condition_text(muon_event_condition(ev), buf, sizeof buf, ""));
        fprintf(stderr, "server: connection closed by %s: %s\n", srv->peer, buf);
        srv->exit_code = 1;
    }
    (void)muon_connection_close(srv->conn);
}

static void on_disconnected(void *app, const muon_event *ev) {
    struct server *srv = app;
    char buf[512];
    if (srv->exit_code == 0) { /* else on_connection_remote_close has said why */
        fprintf(stderr, "server: disconnected from %s: %s\n", srv->peer,
                condition_text(muon_event_condition(ev), buf, sizeof buf, "no reason given"));
    }
    srv->exit_code = 1;
}

/* The loop's handler: SIGINT or SIGTERM arrived. */
static void on_wake(void *app, const muon_event *ev) {
    struct server *srv = app;
    (void)ev;
    (void)muon_connection_close(srv->conn);
}

int main(int argc, char **argv) {
    struct options opts;
    parse_options(argc, argv, "[-a URL]", 0, &opts);
    if (opts.argc > 0) usage_exit(argv[0], "[-a URL]");
    struct server srv = {.host = opts.host, .peer = opts.peer};
    if (muon_loop_new(&srv.loop) != MUON_RESULT_OK) {
        fprintf(stderr, "server: cannot make an event loop\n");
        return 1;
    }
    struct signals sig;
    signals_start(&sig, srv.loop);
    muon_handler lh = MUON_HANDLER_INIT;
    lh.on_wake = on_wake;
    check(muon_loop_set_handler(srv.loop, &lh, &srv), "muon_loop_set_handler");

    muon_handler ch = MUON_HANDLER_INIT;
    ch.on_link_remote_close = on_link_remote_close;
    ch.on_connection_remote_close = on_connection_remote_close;
    ch.on_disconnected = on_disconnected;
    check(connect_to(srv.loop, opts.host, &ch, &srv, &srv.conn), "muon_loop_connect");
    muon_handler rh = MUON_HANDLER_INIT;
    rh.on_message = on_message;
    check(muon_connection_open_receiver(srv.conn, opts.address, NULL, &rh, &srv, NULL),
          "muon_connection_open_receiver");

    muon_result rc = muon_loop_run(srv.loop);
    signals_stop(&sig);
    muon_loop_free(srv.loop);
    while (srv.replies != NULL) { /* the loop is gone: no API calls here */
        struct reply *r = srv.replies;
        srv.replies = r->next;
        free_reply(r);
    }
    if (rc != MUON_RESULT_OK) {
        fprintf(stderr, "server: %s\n", muon_result_message(rc));
        return 1;
    }
    return srv.exit_code;
}
