/*
 * helloworld_direct.c: hello world without a broker.
 *
 * The program listens and connects to itself. The receiving side has no
 * code of its own beyond on_message, the listener's handler: muon's
 * built-ins answer the peer's open and attach and grant credit (the
 * tutorial's Handshaker and FlowController). The sending side opens a
 * sender once the connection is open and sends on credit. When the message
 * has arrived, the connection and the listener are closed and the loop ends.
 * With -m COUNT it keeps listening until COUNT messages have arrived, its
 * own hello and COUNT - 1 from other programs sending to it (a Proton
 * simple_send.py, say), then closes everything; -m 0 listens until
 * interrupted.
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

static long received;

/* The listener's handler: messages on the accepted connections (the
 * tutorial's HelloWorldReceiver, given to the event loop). */
static void on_message(void *app, const muon_event *ev) {
    (void)app;
    printf("%s\n", body_of(muon_event_message(ev)));
    fflush(stdout);
    if (++received == count) finish();
}

/* The listener's handler too: an accepted connection opening, closing or
 * ending is the peer's affair (the built-ins answer it), not a failure of
 * this program's own connection. */
static void on_accepted_connection(void *app, const muon_event *ev) {
    const muon_condition *c = muon_event_condition(ev);
    (void)app;
    if (c != NULL && !done) fprintf(stderr, "%s: a peer's connection: %s\n", program, describe(c));
}

/* The sender's handler (the tutorial's HelloWorldSender). */
static void on_link_flow(void *app, const muon_event *ev) {
    (void)app;
    muon_message *m;
    CHECK(muon_message_new(&m));
    CHECK(muon_message_set_body_string(m, "Hello World!"));
    CHECK(muon_sender_send(muon_event_sender(ev), m, NULL));
    muon_message_free(m);
    CHECK(muon_sender_close(muon_event_sender(ev)));
}

/* The sending connection's handler: it is open. */
static void on_connection_remote_open(void *app, const muon_event *ev) {
    (void)app, (void)ev;
    CHECK(muon_connection_open_sender(conn, address, NULL, HANDLER(.on_link_flow = on_link_flow),
                                      NULL, NULL));
}

int main(int argc, char **argv) {
    char to[300];
    const char *host;
    muon_connection_options *o;
    count_text = "1";
    setup("helloworld_direct", argc, argv, "Listens at the URL, sends itself \"Hello World!\" "
          "and prints what arrives. Port 0 picks a free port.\nOver amqps://, the listener serves "
          "--cert and --key, and the client trusts --ca.",
          "how many messages to receive (default 1; 0: until interrupted)", NULL, NULL);
    if (!strcmp(muon_url_scheme(url), "amqps") && cert_file == NULL) {
        fprintf(stderr, "%s: -a amqps://... needs --cert FILE --key FILE\n", program);
        exit(2);
    }
    o = connection_options();
    CHECK(muon_loop_listen(loop, url_text, o, HANDLER(.on_message = on_message,
        .on_connection_remote_open = on_accepted_connection,
        .on_connection_remote_close = on_accepted_connection,
        .on_disconnected = on_accepted_connection), NULL, &listener));
    muon_connection_options_free(o);
    if (muon_url_port(url) == 0) printf("listening on %d\n", muon_listener_port(listener));
    fflush(stdout);
    /* Connect to the port actually bound (port 0 picks one). */
    host = muon_url_host(url);
    snprintf(to, sizeof to, strchr(host, ':') ? "%s://[%s]:%u" : "%s://%s:%u",
             muon_url_scheme(url), host, (unsigned)muon_listener_port(listener));
    connect_to(to, HANDLER(.on_connection_remote_open = on_connection_remote_open));
    return run();
}
