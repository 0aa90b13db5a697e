/*
 * client.c: the requesting side of request/response.
 *
 * Opens a sender to the service's address and a dynamic receiver, for
 * which the broker makes a temporary address. Once the broker has assigned
 * that address, the client sends each request with reply-to set to it, one
 * at a time, and prints each request with its response. With -r, it
 * receives from the fixed address REPLY_TO instead, for brokers without
 * dynamic nodes (RabbitMQ's AMQP 1.0 plugin, Qpid Proton's C broker).
 *
 *   client [-a URL] [-r REPLY_TO] [REQUEST ...]
 *                                   URL defaults to localhost:5672/examples;
 *                                   without requests, sends the tutorial's four
 *
 * Prints: REQUEST => RESPONSE, one line per request
 */
#include "common.h"

static const char *default_requests[] = {
    "Twas brillig, and the slithy toves",
    "Did gire and gymble in the wabe.",
    "All mimsy were the borogroves,",
    "And the mome raths outgrabe.",
};

struct client {
    muon_connection conn;
    muon_sender sender;
    muon_receiver receiver;
    const char *host;
    const char *peer; /* host without credentials, for messages */
    const char *fixed_reply_to; /* -r, or NULL for a dynamic receiver */
    char *reply_to;       /* the receiver's address, once the broker gave it */
    char **requests;
    int n_requests, next; /* next: the request in flight, or to send */
    bool in_flight, opened;
    int exit_code;
};

static void fail(struct client *c, const char *what, const muon_event *ev) {
    char buf[512];
    if (c->exit_code == 0) {
        fprintf(stderr, "client: %s %s: %s\n", c->opened ? what : "cannot connect to", c->peer,
                condition_text(muon_event_condition(ev), buf, sizeof buf, "closed"));
    }
    c->exit_code = 1;
    (void)muon_connection_close(c->conn); /* stale once disconnected: no matter */
}

/* Sends the next request, if there is one, the address is known and there is credit. */
static void next_request(struct client *c) {
    if (c->reply_to == NULL || c->in_flight || c->next == c->n_requests ||
        muon_sender_credit(c->sender) == 0) {
        return;
    }
    muon_message *m = NULL;
    check(muon_message_new(&m), "muon_message_new");
    check(muon_message_set_reply_to(m, c->reply_to), "muon_message_set_reply_to");
    check(muon_message_set_body_string(m, c->requests[c->next]), "muon_message_set_body_string");
    check(muon_sender_send(c->sender, m, NULL), "muon_sender_send");
    muon_message_free(m);
    c->in_flight = true;
}

/* The sender's handler. */
static void on_link_flow(void *app, const muon_event *ev) {
    (void)ev;
    next_request(app);
}

/* The receiver's handler. */
static void on_link_remote_open(void *app, const muon_event *ev) {
    struct client *c = app;
    const char *address = c->fixed_reply_to != NULL
                              ? c->fixed_reply_to
                              : muon_receiver_remote_source_address(muon_event_receiver(ev));
    if (address == NULL) {
        fail(c, "no reply address from", ev);
        return;
    }
    c->reply_to = malloc(strlen(address) + 1);
    if (c->reply_to == NULL) exit(1);
    strcpy(c->reply_to, address);
    next_request(c);
}

static void on_message(void *app, const muon_event *ev) {
    struct client *c = app;
    char text[4096];
    muon_value_format(muon_message_body(muon_event_message(ev)), text, sizeof text);
    printf("%s => %s\n", c->requests[c->next], text);
    c->in_flight = false;
    if (++c->next == c->n_requests) {
        check(muon_connection_close(c->conn), "muon_connection_close");
    } else {
        next_request(c);
    }
}

/* The connection's handler. */
static void on_connection_remote_open(void *app, const muon_event *ev) {
    struct client *c = app;
    (void)ev;
    c->opened = true;
}

static void on_link_remote_close(void *app, const muon_event *ev) {
    if (muon_event_condition(ev) != NULL) fail(app, "link closed by", ev);
}

static void on_connection_remote_close(void *app, const muon_event *ev) {
    if (muon_event_condition(ev) != NULL) fail(app, "connection closed by", ev);
}

static void on_disconnected(void *app, const muon_event *ev) {
    fail(app, "disconnected from", ev);
}

#define USAGE "[-a URL] [-r REPLY_TO] [REQUEST ...]"

int main(int argc, char **argv) {
    /* -r REPLY_TO is this program's own option: take it out before the
     * common ones are parsed. */
    const char *fixed_reply_to = NULL;
    int n = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-r") == 0) {
            if (i + 1 == argc) usage_exit(argv[0], USAGE);
            fixed_reply_to = argv[++i];
        } else {
            argv[n++] = argv[i];
        }
    }
    argv[n] = NULL;
    struct options opts;
    parse_options(n, argv, USAGE, 0, &opts);
    struct client c = {.host = opts.host, .peer = opts.peer, .fixed_reply_to = fixed_reply_to};
    if (opts.argc > 0) {
        c.requests = opts.argv;
        c.n_requests = opts.argc;
    } else {
        c.requests = (char **)default_requests;
        c.n_requests = (int)(sizeof default_requests / sizeof *default_requests);
    }
    muon_loop *loop = NULL;
    if (muon_loop_new(&loop) != MUON_RESULT_OK) {
        fprintf(stderr, "client: cannot make an event loop\n");
        return 1;
    }
    muon_handler ch = MUON_HANDLER_INIT;
    ch.on_connection_remote_open = on_connection_remote_open;
    ch.on_link_remote_close = on_link_remote_close;
    ch.on_connection_remote_close = on_connection_remote_close;
    ch.on_disconnected = on_disconnected;
    check(connect_to(loop, opts.host, &ch, &c, &c.conn), "muon_loop_connect");

    muon_handler sh = MUON_HANDLER_INIT;
    sh.on_link_flow = on_link_flow;
    check(muon_connection_open_sender(c.conn, opts.address, NULL, &sh, &c, &c.sender),
          "muon_connection_open_sender");
    muon_link_options *dynamic = NULL;
    if (fixed_reply_to == NULL) {
        check(muon_link_options_new(&dynamic), "muon_link_options_new");
        check(muon_link_options_set_dynamic(dynamic, true), "muon_link_options_set_dynamic");
    }
    muon_handler rh = MUON_HANDLER_INIT;
    rh.on_link_remote_open = on_link_remote_open;
    rh.on_message = on_message;
    check(muon_connection_open_receiver(c.conn, fixed_reply_to, dynamic, &rh, &c, &c.receiver),
          "muon_connection_open_receiver");
    muon_link_options_free(dynamic);

    muon_result rc = muon_loop_run(loop);
    muon_loop_free(loop);
    free(c.reply_to);
    if (rc != MUON_RESULT_OK) {
        fprintf(stderr, "client: %s\n", muon_result_message(rc));
        return 1;
    }
    if (c.exit_code == 0 && c.next < c.n_requests) {
        fprintf(stderr, "client: closed after %d of %d responses\n", c.next, c.n_requests);
        return 1;
    }
    return c.exit_code;
}
