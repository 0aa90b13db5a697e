/*
 * simple_recv.c: reliable receiving, with reconnect.
 *
 * Receives messages from an address and prints each body, one per line
 * ({'sequence': 1} for simple_send's messages). Each message is accepted
 * when on_message returns. If the connection is lost it reconnects as the
 * tutorial does: at once the first time, then after 0.1 s, doubling up to
 * 10 s (reconnect.h). It stops after COUNT messages; -m 0 receives until
 * interrupted (SIGINT or SIGTERM).
 *
 *   simple_recv [-a URL[,URL]...] [-m COUNT]   URL defaults to localhost:5672/examples,
 *                                              COUNT to 100; several URLs: failover
 *                                              (reconnect.h)
 *
 * Prints: each message body, one per line (and a line for each reconnect)
 */
#include "reconnect.h"

static long received;

/* The receiver's handler. */
static void on_message(void *app, const muon_event *ev) {
    (void)app;
    if (done) { /* over the count, in flight before the close: give it back */
        CHECK(muon_delivery_release(muon_event_delivery(ev)));
        return;
    }
    printf("%s\n", body_of(muon_event_message(ev)));
    fflush(stdout); /* one line at a time, even into a pipe */
    if (++received == count) finish();
}

/* The connection is up (again): open the receiver. */
static void open_receiver(void *app, const muon_event *ev) {
    (void)app, (void)ev;
    CHECK(muon_connection_open_receiver(conn, address, NULL, HANDLER(.on_message = on_message),
                                        NULL, NULL));
}

int main(int argc, char **argv) {
    count_text = "100";
    failover_urls("simple_recv", argc, argv); /* -a URL,URL,...: reconnect.h */
    setup("simple_recv", argc, argv, "Receives messages from the URL's address and prints "
          "their bodies.", "how many to receive (default 100; 0: until interrupted)", NULL, NULL);
    reconnect_to(open_receiver);
    return run();
}
