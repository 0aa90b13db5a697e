/*
 * helloworld.c: send one message to a broker and receive it back.
 *
 * The tutorial's first program. Once the connection is open it attaches a
 * receiver; once the broker has opened the receiver it attaches a sender;
 * when the sender gets credit it sends "Hello World!" and closes; when the
 * message comes back it is printed and the connection closed.
 *
 *   helloworld [-a URL]      URL defaults to localhost:5672/examples
 *
 * Prints: Hello World!
 */
#include "common.h"

struct hello {
    muon_connection conn;
    const char *host, *address;
    const char *peer; /* host without credentials, for messages */
    bool opened;
    int exit_code;
};

/* Reports the first failure, and closes the connection if it is still there. */
static void fail(struct hello *h, const char *what, const muon_event *ev) {
    char buf[512];
    if (h->exit_code == 0) {
        fprintf(stderr, "helloworld: %s %s: %s\n", h->opened ? what : "cannot connect to",
                h->peer, condition_text(muon_event_condition(ev), buf, sizeof buf, "closed"));
    }
    h->exit_code = 1;
    (void)muon_connection_close(h->conn); /* stale once disconnected: no matter */
}

/* The receiver's handler (the tutorial's HelloWorldReceiver). */
static void on_message(void *app, const muon_event *ev) {
    (void)app;
    char text[1024];
    muon_value_format(muon_message_body(muon_event_message(ev)), text, sizeof text);
    printf("%s\n", text);
    check(muon_connection_close(muon_event_connection(ev)), "muon_connection_close");
}

/* The sender's handler (the tutorial's HelloWorldSender). */
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

/* The connection's handler (the tutorial's HelloWorld). */
static void on_connection_remote_open(void *app, const muon_event *ev) {
    struct hello *h = app;
    (void)ev;
    h->opened = true;
    muon_handler r = MUON_HANDLER_INIT;
    r.on_message = on_message;
    check(muon_connection_open_receiver(h->conn, h->address, NULL, &r, h, NULL),
          "muon_connection_open_receiver");
}

static void on_link_remote_open(void *app, const muon_event *ev) {
    struct hello *h = app;
    if (muon_event_is_receiver(ev)) {
        muon_handler s = MUON_HANDLER_INIT;
        s.on_link_flow = on_link_flow;
        check(muon_connection_open_sender(h->conn, h->address, NULL, &s, h, NULL),
              "muon_connection_open_sender");
    }
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

int main(int argc, char **argv) {
    struct options opts;
    parse_options(argc, argv, "[-a URL]", 0, &opts);
    if (opts.argc > 0) usage_exit(argv[0], "[-a URL]");
    struct hello h = {.host = opts.host, .peer = opts.peer, .address = opts.address};

    muon_loop *loop = NULL;
    if (muon_loop_new(&loop) != MUON_RESULT_OK) {
        fprintf(stderr, "helloworld: cannot make an event loop\n");
        return 1;
    }
    muon_handler hh = MUON_HANDLER_INIT;
    hh.on_connection_remote_open = on_connection_remote_open;
    hh.on_link_remote_open = on_link_remote_open;
    hh.on_link_remote_close = on_link_remote_close;
    hh.on_connection_remote_close = on_connection_remote_close;
    hh.on_disconnected = on_disconnected;
    check(connect_to(loop, opts.host, &hh, &h, &h.conn), "muon_loop_connect");

    muon_result rc = muon_loop_run(loop);
    muon_loop_free(loop);
    if (rc != MUON_RESULT_OK) {
        fprintf(stderr, "helloworld: %s\n", muon_result_message(rc));
        return 1;
    }
    return h.exit_code;
}
