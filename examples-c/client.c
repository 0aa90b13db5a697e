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

static char *requests[] = {
    "Twas brillig, and the slithy toves",
    "Did gire and gymble in the wabe.",
    "All mimsy were the borogroves,",
    "And the mome raths outgrabe.",
    NULL,
};
static int next; /* the request in flight */
static const char *replies; /* the address responses come to */

/* Sends request `next` (the tutorial's next_request), on the sender to the
 * service's address (opened by the first call, then reused). */
static void next_request(void) {
    muon_message *m;
    muon_sender s;
    CHECK(muon_connection_sender_to(conn, address, &s));
    CHECK(muon_message_new(&m));
    CHECK(muon_message_set_reply_to(m, replies));
    CHECK(muon_message_set_body_string(m, args[next]));
    CHECK(muon_sender_send(s, m, NULL)); /* queued until the sender has credit */
    muon_message_free(m);
}

/* The receiver's handler: the reply address is known (the broker's, or -r's). */
static void on_link_remote_open(void *app, const muon_event *ev) {
    (void)app;
    replies = reply_to ? reply_to : muon_receiver_remote_source_address(muon_event_receiver(ev));
    if (replies == NULL) fail("no reply address from", "a dynamic receiver without an address");
    else next_request();
}

static void on_message(void *app, const muon_event *ev) {
    (void)app;
    printf("%s => %s\n", args[next], body_of(muon_event_message(ev)));
    if (args[++next] == NULL) finish();
    else next_request();
}

int main(int argc, char **argv) {
    muon_link_options *dynamic;
    setup("client", argc, argv, "Sends each ARGUMENT (else the tutorial's four requests) to the "
          "URL's address and prints it with its response.", NULL,
          "receive responses at this fixed address, not a dynamic one", requests);
    connect_to(url_text, NULL);
    CHECK(muon_link_options_new(&dynamic));
    CHECK(muon_link_options_set_dynamic(dynamic, reply_to == NULL));
    CHECK(muon_connection_open_receiver(conn, reply_to, dynamic, HANDLER(.on_message = on_message,
        .on_link_remote_open = on_link_remote_open), NULL, NULL));
    muon_link_options_free(dynamic);
    return run();
}
