/*
 * colour_send.c: sends messages with a "colour" application property, for
 * selected_recv to choose from (Qpid Proton's Python example of the same
 * name).
 *
 * Sends COUNT messages, alternately green and red: message n (from 1) has
 * message-id n, the application property colour = 'green' or 'red', and
 * the body "green n" or "red n"; only as fast as the receiver's credit
 * allows. Waits until the peer has accepted each.
 *
 *   colour_send [-a URL] [-m COUNT]   URL defaults to localhost:5672/examples,
 *                                     COUNT to 100
 *
 * Prints: all messages confirmed
 */
#include "common.h"

static long sent, confirmed;

static void on_link_flow(void *app, const muon_event *ev) {
    (void)app;
    muon_sender s = muon_event_sender(ev);
    while (muon_sender_credit(s) > 0 && sent < count) {
        const char *colour = sent % 2 ? "red" : "green";
        char body[64];
        muon_message *m;
        muon_value *id;
        snprintf(body, sizeof body, "%s %ld", colour, ++sent);
        CHECK(muon_message_new(&m));
        CHECK(muon_value_ulong((uint64_t)sent, &id));
        CHECK(muon_message_set_id(m, id)); /* id moves in */
        CHECK(muon_message_set_property_string(m, "colour", colour));
        CHECK(muon_message_set_body_string(m, body));
        CHECK(muon_sender_send(s, m, NULL));
        muon_message_free(m);
    }
}

static void on_accepted(void *app, const muon_event *ev) {
    (void)app, (void)ev;
    if (++confirmed == count) {
        printf("all messages confirmed\n");
        finish();
    }
}

int main(int argc, char **argv) {
    count_text = "100";
    setup("colour_send", argc, argv, "Sends COUNT messages, alternately with colour = 'green' "
          "and 'red', to the URL's address.", "how many to send (default 100)", NULL, NULL);
    if (count == 0) {
        printf("all messages confirmed\n");
        return 0;
    }
    connect_to(url_text, NULL);
    CHECK(muon_connection_open_sender(conn, address, NULL, HANDLER(.on_link_flow = on_link_flow,
                                      .on_accepted = on_accepted), NULL, NULL));
    return run();
}
