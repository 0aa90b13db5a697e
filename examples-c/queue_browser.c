/*
 * queue_browser.c: shows what a queue holds without taking it (Qpid
 * Proton's Python example of the same name): the receiver's source asks
 * for distribution mode "copy", so the broker sends a copy of each message
 * and keeps the original.
 *
 * Prints each body, one per line, and stops when the queue has shown
 * everything: it asks for messages with a drain (1000 at a time), and a
 * drain answered with fewer than that means there are no more.
 *
 *   queue_browser [-a URL]   URL defaults to localhost:5672/examples
 */
#include "common.h"

#define BATCH 1000

static long in_batch;

static void on_message(void *app, const muon_event *ev) {
    (void)app;
    printf("%s\n", body_of(muon_event_message(ev)));
    fflush(stdout);
    in_batch++;
}

/* The broker answered a drain: ask again while batches come full. */
static void on_link_flow(void *app, const muon_event *ev) {
    (void)app;
    muon_receiver r = muon_event_receiver(ev);
    if (muon_receiver_is_draining(r) || done) return;
    if (in_batch < BATCH) {
        finish();
        return;
    }
    in_batch = 0;
    CHECK(muon_receiver_drain(r, BATCH));
}

static void on_link_remote_open(void *app, const muon_event *ev) {
    (void)app;
    CHECK(muon_receiver_drain(muon_event_receiver(ev), BATCH));
}

int main(int argc, char **argv) {
    setup("queue_browser", argc, argv, "Prints the bodies of the messages on the URL's address "
          "without taking them.", NULL, NULL, NULL);
    connect_to(url_text, NULL);
    muon_link_options *o;
    CHECK(muon_link_options_new(&o));
    CHECK(muon_link_options_set_distribution_mode(o, "copy"));
    CHECK(muon_link_options_set_credit_window(o, 0)); /* only the drains give credit */
    CHECK(muon_connection_open_receiver(conn, address, o, HANDLER(.on_message = on_message,
                                        .on_link_flow = on_link_flow,
                                        .on_link_remote_open = on_link_remote_open), NULL, NULL));
    muon_link_options_free(o);
    return run();
}
