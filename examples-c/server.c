/*
 * server.c: the service side of request/response.
 *
 * Receives requests from an address and answers each with its body in
 * upper case. muon_connection_send_reply sends the answer to the request's
 * reply-to address with the request's correlation-id (its message-id when
 * it has none) as correlation-id, as Qpid Proton's servers do, on a sender
 * per reply-to address that it opens once and then reuses (the tutorial's
 * dictionary of senders), queued until that sender has credit. A request
 * without reply-to is rejected; a reply the broker does not take is
 * reported on stderr and the service goes on. Runs until SIGINT or SIGTERM
 * (exit 0), or until the broker ends the connection or the request link
 * (exit 1).
 *
 *   server [-a URL]     URL defaults to localhost:5672/examples
 *
 * Prints nothing unless something goes wrong.
 */
#include "common.h"

#include <ctype.h>

/* The connection's handler, for the reply senders: a reply not taken, or a
 * sender closed with an error (amqp:resource-deleted is how a client's
 * temporary address ends when the client leaves: not news). */
static void on_reply_trouble(void *app, const muon_event *ev) {
    const muon_condition *c = muon_event_condition(ev);
    const char *to = muon_sender_remote_target_address(muon_event_sender(ev));
    (void)app;
    if (c ? strcmp(muon_condition_name(c), "amqp:resource-deleted") != 0
          : muon_event_get_kind(ev) != MUON_EVENT_KIND_LINK_REMOTE_CLOSE) {
        fprintf(stderr, "%s: cannot reply to %s: %s\n", program, to ? to : "?",
                c ? describe(c) : "not delivered");
    }
}

/* The request receiver's handler (the tutorial's Server.on_message). */
static void on_message(void *app, const muon_event *ev) {
    const muon_message *request = muon_event_message(ev);
    char *text = body_of(request);
    muon_message *reply;
    (void)app;
    for (char *c = text; *c; c++) *c = (char)toupper((unsigned char)*c);
    CHECK(muon_message_new(&reply));
    CHECK(muon_message_set_body_string(reply, text));
    muon_result rc = muon_connection_send_reply(conn, request, reply, NULL);
    muon_message_free(reply);
    if (rc == MUON_RESULT_NOT_FOUND) /* the request has no reply-to: refuse it */
        rc = muon_delivery_reject(muon_event_delivery(ev), "amqp:precondition-failed", "no reply");
    check(rc, "muon_connection_send_reply");
}

int main(int argc, char **argv) {
    setup("server", argc, argv, "Answers each request from the URL's address with its body in "
          "upper case, until interrupted.", NULL, NULL, NULL);
    connect_to(url_text, HANDLER(.on_link_remote_close = on_reply_trouble,
        .on_rejected = on_reply_trouble, .on_released = on_reply_trouble,
        .on_modified = on_reply_trouble));
    CHECK(muon_connection_open_receiver(conn, address, NULL, HANDLER(.on_message = on_message,
        .on_link_remote_close = on_closed_by_peer), NULL, NULL));
    return run();
}
