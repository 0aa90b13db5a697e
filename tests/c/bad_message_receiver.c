/* bad_message_receiver.c: what a receiver is told about messages that
 * cannot be decoded (run by tests/c_api.rs, which sends them).
 *
 * Listens on 127.0.0.1:0 (prints "listening on PORT") and waits for a
 * sender that sends, in order, an undecodable unsettled message, an
 * undecodable pre-settled one and a good one. Prints one line per event:
 *   error: <condition name>: <description>
 *   message: <body>
 * and, after the good message, "bad_message_receiver: ok" if both errors
 * came first, on the receiver's own handler, with amqp:decode-error. */
#include "api_check.h"

struct state {
    muon_listener listener;
    int errors, rejected, lost, messages;
};

static void on_message_error(void *ud, const muon_event *ev) {
    struct state *s = ud;
    const muon_condition *c = muon_event_condition(ev);
    CHECK(c != NULL);
    CHECK(muon_event_is_receiver(ev));
    CHECK(muon_event_message(ev) == NULL);
    printf("error: %s: %s\n", muon_condition_name(c), muon_condition_description(c));
    CHECK_STR(muon_condition_name(c), "amqp:decode-error");
    const char *d = muon_condition_description(c);
    if (strstr(d, "rejected") != NULL) s->rejected++;
    if (strstr(d, "lost") != NULL) s->lost++;
    s->errors++;
}

static void on_message(void *ud, const muon_event *ev) {
    struct state *s = ud;
    char body[128];
    muon_value_format(muon_message_body(muon_event_message(ev)), body, sizeof body);
    printf("message: %s\n", body);
    s->messages++;
    CHECK(s->errors == 2 && s->rejected == 1 && s->lost == 1);
    OK(muon_connection_close(muon_event_connection(ev)));
    OK(muon_listener_close(s->listener));
}

int main(void) {
    alarm(WATCHDOG_S);
    struct state s = {0};
    muon_loop *loop = NULL;
    OK(muon_loop_new(&loop));
    CHECK(loop != NULL);
    muon_handler h = MUON_HANDLER_INIT;
    h.on_message = on_message;
    h.on_message_error = on_message_error;
    OK(muon_loop_set_handler(loop, &h, &s));
    OK(muon_loop_listen(loop, "127.0.0.1:0", NULL, NULL, NULL, &s.listener));
    printf("listening on %u\n", (unsigned)muon_listener_port(s.listener));
    fflush(stdout);
    OK(muon_loop_run(loop));
    muon_loop_free(loop);
    CHECK(s.messages == 1);
    printf("bad_message_receiver: ok\n");
    return 0;
}
