/*
 * simple_send.c: reliable sending, with reconnect.
 *
 * Sends COUNT messages whose body is the map {"sequence": n} (n from 1) and
 * whose message-id is n, only as fast as the receiver's credit allows, and
 * counts the deliveries the peer accepts. If the connection is lost it
 * resumes from the last confirmed message, reconnecting as the tutorial
 * does: at once the first time, then after 0.1 s, 0.2 s, ... up to 10 s
 * (reconnect.h). Messages sent but not confirmed before a disconnect are sent
 * again, so the receiver may see duplicates. A message the peer rejects,
 * releases or modifies ends the program with status 1 (common.h).
 *
 *   simple_send [-a URL[,URL]...] [-m COUNT]   URL defaults to localhost:5672/examples,
 *                                              COUNT to 100; several URLs: failover
 *                                              (reconnect.h)
 *
 * Prints: all messages confirmed  (and a line for each reconnect)
 */
#include "reconnect.h"

static long sent, confirmed;

/* The sender's handler: {"sequence": n}, message-id n, while there is credit. */
static void on_link_flow(void *app, const muon_event *ev) {
    (void)app;
    muon_sender s = muon_event_sender(ev);
    while (muon_sender_credit(s) > 0 && sent < count) {
        muon_message *m;
        muon_value *id, *body, *key, *seq;
        CHECK(muon_message_new(&m));
        CHECK(muon_value_ulong((uint64_t)++sent, &id));
        CHECK(muon_message_set_id(m, id)); /* id moves in */
        CHECK(muon_value_map_new(&body));
        CHECK(muon_value_string("sequence", &key));
        CHECK(muon_value_long(sent, &seq));
        CHECK(muon_value_map_put(body, key, seq));
        CHECK(muon_message_set_body(m, body));
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

/* The connection is up (again): open the sender, resuming from the last
 * confirmed message. */
static void open_sender(void *app, const muon_event *ev) {
    muon_sender s;
    (void)app, (void)ev;
    sent = confirmed;
    CHECK(muon_connection_open_sender(conn, address, NULL, HANDLER(.on_link_flow = on_link_flow,
                                      .on_accepted = on_accepted), NULL, &s));
    CHECK(muon_sender_offered(s, (uint32_t)(count - confirmed)));
}

int main(int argc, char **argv) {
    count_text = "100";
    failover_urls("simple_send", argc, argv); /* -a URL,URL,...: reconnect.h */
    setup("simple_send", argc, argv, "Sends COUNT messages {'sequence': n} to the URL's address "
          "and waits until the peer has accepted each.", "how many to send (default 100)", NULL,
          NULL);
    if (count > 0) reconnect_to(open_sender);
    else printf("all messages confirmed\n");
    return run();
}
