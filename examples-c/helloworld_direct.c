/*
 * helloworld_direct.c: hello world without a broker.
 *
 * The program listens and connects to itself. The receiving side has no
 * code of its own beyond on_message: it is the loop's default handler, and
 * the loop's built-ins answer the peer's open and attach and grant credit
 * (the tutorial's Handshaker and FlowController). The sending side opens a
 * sender once the connection is open and sends on credit. When the message
 * has arrived, the connection and the listener are closed and the loop ends.
 * With -m COUNT it keeps listening until COUNT messages have arrived, its
 * own hello and COUNT - 1 from other programs sending to it (a Proton
 * simple_send.py, say), then closes everything.
 *
 *   helloworld_direct [-a URL] [-m COUNT]   URL defaults to
 *                                  localhost:5672/examples; port 0 picks a
 *                                  free port; COUNT defaults to 1
 *   helloworld_direct -a amqps://localhost:0/examples --cert C --key K --ca CA
 *                                  the same over TLS: the listener serves
 *                                  certificate C, the client trusts CA
 *
 * Prints: Hello World!   (after "listening on PORT" when port 0 was asked for),
 *         and the body of each other message that arrives, one per line
 */
#include "common.h"

struct hello {
    muon_loop *loop;
    muon_listener listener;
    muon_connection conn;
    const char *address;
    long expected, received; /* -m COUNT, and how many have arrived */
    int exit_code;
};

/* Closes the client connection and the listener: nothing is left to do.
 * A failure (`what`) is reported unless every message has arrived. */
static void closed(struct hello *h, const char *what, const muon_event *ev) {
    char buf[512];
    if (what != NULL && h->exit_code == 0 && h->received < h->expected) {
        fprintf(stderr, "helloworld_direct: %s: %s\n", what,
                condition_text(muon_event_condition(ev), buf, sizeof buf, "closed"));
        h->exit_code = 1;
    }
    (void)muon_connection_close(h->conn);   /* may be closed already */
    (void)muon_listener_close(h->listener); /* likewise */
}

/* The loop's handler: receives on the accepted connections. */
static void on_message(void *app, const muon_event *ev) {
    struct hello *h = app;
    char text[1024];
    muon_value_format(muon_message_body(muon_event_message(ev)), text, sizeof text);
    printf("%s\n", text);
    fflush(stdout);
    if (++h->received == h->expected) {
        check(muon_connection_close(muon_event_connection(ev)), "muon_connection_close");
        closed(h, NULL, ev);
    }
}

/* The sender's handler. */
static void on_link_flow(void *app, const muon_event *ev) {
    (void)app;
    muon_sender s = muon_event_sender(ev);
    muon_message *m = NULL;
    check(muon_message_new(&m), "muon_message_new");
    check(muon_message_set_body_string(m, "Hello World!"), "muon_message_set_body_string");
    check(muon_sender_send(s, m, NULL), "muon_sender_send");
    muon_message_free(m);
    check(muon_sender_close(s), "muon_sender_close");
}

/* The sending connection's handler. */
static void on_connection_remote_open(void *app, const muon_event *ev) {
    struct hello *h = app;
    (void)ev;
    muon_handler s = MUON_HANDLER_INIT;
    s.on_link_flow = on_link_flow;
    check(muon_connection_open_sender(h->conn, h->address, NULL, &s, h, NULL),
          "muon_connection_open_sender");
}

static void on_link_remote_close(void *app, const muon_event *ev) {
    if (muon_event_condition(ev) != NULL) closed(app, "link closed", ev);
}

static void on_connection_remote_close(void *app, const muon_event *ev) {
    closed(app, muon_event_condition(ev) != NULL ? "connection closed" : NULL, ev);
}

/* The loop's handler: an accepted connection closed by its peer. The
 * built-in handshake answers; only an error is ours to report. */
static void on_accepted_remote_close(void *app, const muon_event *ev) {
    if (muon_event_condition(ev) != NULL) closed(app, "connection closed", ev);
}

static void on_disconnected(void *app, const muon_event *ev) {
    closed(app, "disconnected", ev);
}

int main(int argc, char **argv) {
    struct options opts;
    parse_options(argc, argv, "[-a URL] [-m COUNT]", 1, &opts);
    if (opts.argc > 0 || opts.count == 0) usage_exit(argv[0], "[-a URL] [-m COUNT]");
    struct hello h = {.address = opts.address, .expected = opts.count};

    if (muon_loop_new(&h.loop) != MUON_RESULT_OK) {
        fprintf(stderr, "helloworld_direct: cannot make an event loop\n");
        return 1;
    }
    /* EventLoop(HelloWorldReceiver(), Handshaker(), FlowController(1)) */
    muon_handler receiver = MUON_HANDLER_INIT;
    receiver.on_message = on_message;
    receiver.on_link_remote_close = on_link_remote_close;
    receiver.on_connection_remote_close = on_accepted_remote_close;
    check(muon_loop_set_handler(h.loop, &receiver, &h), "muon_loop_set_handler");

    /* amqps://: the listener serves TLS with --cert/--key, and the client
     * trusts it through --ca (or SSL_CERT_FILE). */
    bool tls = strncmp(opts.url, "amqps://", 8) == 0;
    muon_connection_options *lo = NULL;
    if (tls) {
        if (tls_cert_file == NULL) usage_exit(argv[0], "-a amqps://... needs --cert FILE --key FILE");
        check(muon_connection_options_new(&lo), "muon_connection_options_new");
        check_tls(lo, muon_connection_options_set_tls_cert_file(lo, tls_cert_file, tls_key_file),
                  "--cert/--key");
    }
    muon_result rc = muon_loop_listen(h.loop, listen_address(&opts), lo, NULL, NULL, &h.listener);
    muon_connection_options_free(lo);
    if (rc != MUON_RESULT_OK) {
        fprintf(stderr, "helloworld_direct: cannot listen on %s: %s\n", listen_address(&opts),
                muon_result_message(rc));
        muon_loop_free(h.loop);
        return 1;
    }
    /* Connect to the port actually bound (port 0 picks one). */
    char url[600];
    const char *host = listen_address(&opts);
    const char *colon = strrchr(host, ':');
    int host_len = colon ? (int)(colon - host) : (int)strlen(host);
    unsigned port = muon_listener_port(h.listener);
    snprintf(url, sizeof url, "%s%.*s:%u", tls ? "amqps://" : "", host_len, host, port);
    if (colon != NULL && strcmp(colon, ":0") == 0) {
        printf("listening on %u\n", port);
        fflush(stdout);
    }

    muon_handler hh = MUON_HANDLER_INIT;
    hh.on_connection_remote_open = on_connection_remote_open;
    hh.on_link_remote_close = on_link_remote_close;
    hh.on_connection_remote_close = on_connection_remote_close;
    hh.on_disconnected = on_disconnected;
    check(connect_to(h.loop, url, &hh, &h, &h.conn), "muon_loop_connect");

    rc = muon_loop_run(h.loop);
    muon_loop_free(h.loop);
    if (rc != MUON_RESULT_OK) {
        fprintf(stderr, "helloworld_direct: %s\n", muon_result_message(rc));
        return 1;
    }
    return h.exit_code;
}
