/*
 * helloworld.c: send one message to a broker and receive it back.
 *
 * The tutorial's first program. Once the connection is open it attaches a
 * receiver; once the broker has opened the receiver it attaches a sender;
 * when the sender gets credit it sends "Hello World!" and closes; when the
 * message comes back it is printed and the connection closed. Anything
 * else (a refused link, a rejected message, a lost connection) is reported
 * by common.h's handler, and the program exits with status 1.
 *
 *   helloworld [-a URL]      URL defaults to localhost:5672/examples
 *
 * Prints: Hello World!
 */
#include "common.h"

/* The receiver's handler (the tutorial's HelloWorldReceiver). */
static void on_message(void *app, const muon_event *ev) {
    (void)app;
    printf("%s\n", body_of(muon_event_message(ev)));
    finish();
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

/* The receiver is open at the broker: now the sender (the tutorial's HelloWorld). */
static void on_link_remote_open(void *app, const muon_event *ev) {
    (void)app, (void)ev;
    CHECK(muon_connection_open_sender(conn, address, NULL, HANDLER(.on_link_flow = on_link_flow),
                                      NULL, NULL));
}

/* The connection's handler: it is open; the receiver first. */
static void on_connection_remote_open(void *app, const muon_event *ev) {
    (void)app, (void)ev;
    CHECK(muon_connection_open_receiver(conn, address, NULL, HANDLER(.on_message = on_message,
                                        .on_link_remote_open = on_link_remote_open), NULL, NULL));
}

int main(int argc, char **argv) {
    setup("helloworld", argc, argv, "Sends \"Hello World!\" to the URL's address, receives it "
          "back and prints it.", NULL, NULL, NULL);
    connect_to(url_text, HANDLER(.on_connection_remote_open = on_connection_remote_open));
    return run();
}
