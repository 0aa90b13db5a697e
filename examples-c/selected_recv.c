/*
 * selected_recv.c: receives only the messages a JMS selector matches (Qpid
 * Proton's Python example of the same name): the receiver's source asks
 * for `colour = 'green'` (muon_link_options_set_selector); a broker that
 * supports selectors (muon's example broker, ActiveMQ, Artemis) sends only
 * those and keeps the others for other consumers.
 *
 * Prints each body, one per line, and stops after COUNT messages (0:
 * until interrupted). Says on stderr when the broker's answer carries no
 * selector (it would send every message).
 *
 *   selected_recv [-a URL] [-m COUNT]   URL defaults to localhost:5672/examples,
 *                                       COUNT to 0
 */
#include "common.h"

static long received;

static void on_link_remote_open(void *app, const muon_event *ev) {
    (void)app;
    muon_receiver r = muon_event_receiver(ev);
    if (muon_terminus_filter(muon_receiver_remote_source(r)) == NULL) {
        fprintf(stderr, "selected_recv: the peer applies no selector\n");
    }
}

static void on_message(void *app, const muon_event *ev) {
    (void)app;
    if (done) { /* in flight before the close: give it back */
        CHECK(muon_delivery_release(muon_event_delivery(ev)));
        return;
    }
    printf("%s\n", body_of(muon_event_message(ev)));
    fflush(stdout);
    if (++received == count) finish();
}

int main(int argc, char **argv) {
    count_text = "0";
    setup("selected_recv", argc, argv, "Receives the messages with colour = 'green' from the "
          "URL's address and prints their bodies.",
          "how many to receive (default 0: until interrupted)", NULL, NULL);
    connect_to(url_text, NULL);
    muon_link_options *o;
    CHECK(muon_link_options_new(&o));
    CHECK(muon_link_options_set_selector(o, "colour = 'green'"));
    CHECK(muon_connection_open_receiver(conn, address, o, HANDLER(.on_message = on_message,
                                        .on_link_remote_open = on_link_remote_open), NULL, NULL));
    muon_link_options_free(o);
    return run();
}
