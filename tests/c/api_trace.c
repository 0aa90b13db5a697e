/* The frame trace: with MUON_TRACE_FRAMES and a log callback, every
 * protocol header and frame each connection writes and reads comes to the
 * callback as one readable line. (The disposition shows that the message
 * is accepted before the close that on_message asks for.) With the argument "env" the program sets
 * neither: tests/c_api.rs runs it with MUON_TRACE=frm and finds the trace
 * on standard error. */
#define _POSIX_C_SOURCE 200809L
#include "api_check.h"

struct app {
    muon_loop *loop;
    muon_listener lis;
    muon_connection conn;
    int lines;
    int seen[10];
};

static const char *const wanted[10] = {
    "[c1] -> SASL header",        "[c2] <- SASL header",    "[c1] -> AMQP header",
    "[c1] 0 -> @open(16) [container-id=", "[c2] 0 <- @open(16) [", "[c1] 0 -> @attach(18) [name=",
    "@transfer(20) [handle=0",   "(payload ",              "[c2] 0 -> @disposition(21) [role=receiver",
    "[c2] 0 -> @close(24) [",
};

static void on_log(void *ud, const char *line) {
    struct app *a = ud;
    a->lines++;
    for (int i = 0; i < 10; i++)
        if (strstr(line, wanted[i]) != NULL)
            a->seen[i]++;
}

static void on_flow(void *ud, const muon_event *ev) {
    (void)ud;
    muon_message *m = NULL;
    OK(muon_message_new(&m));
    OK(muon_message_set_body_string(m, "traced"));
    OK(muon_sender_send(muon_event_sender(ev), m, NULL));
    muon_message_free(m);
    OK(muon_sender_close(muon_event_sender(ev)));
}

static void on_message(void *ud, const muon_event *ev) {
    struct app *a = ud;
    OK(muon_connection_close(muon_event_connection(ev)));
    OK(muon_listener_close(a->lis));
}

int main(int argc, char **argv) {
    alarm(WATCHDOG_S);
    bool env = argc > 1 && strcmp(argv[1], "env") == 0;
    struct app a;
    memset(&a, 0, sizeof a);
    OK(muon_loop_new(&a.loop));
    if (!env) {
        OK(muon_loop_set_trace(a.loop, MUON_TRACE_FRAMES));
        OK(muon_loop_set_log(a.loop, on_log, &a));
    }
    muon_handler d = MUON_HANDLER_INIT;
    d.on_message = on_message;
    OK(muon_loop_set_handler(a.loop, &d, &a));
    OK(muon_loop_listen(a.loop, "127.0.0.1:0", NULL, NULL, NULL, &a.lis));
    char url[64];
    snprintf(url, sizeof url, "127.0.0.1:%u", (unsigned)muon_listener_port(a.lis));
    OK(muon_loop_connect(a.loop, url, NULL, NULL, NULL, &a.conn));
    muon_handler sh = MUON_HANDLER_INIT;
    sh.on_link_flow = on_flow;
    OK(muon_connection_open_sender(a.conn, "q", NULL, &sh, &a, NULL));
    OK(muon_loop_run(a.loop));
    if (!env) {
        for (int i = 0; i < 10; i++) {
            if (a.seen[i] == 0) {
                fprintf(stderr, "no trace line with \"%s\"\n", wanted[i]);
                return 1;
            }
        }
        CHECK(a.lines > 20);
    } else {
        CHECK(a.lines == 0);
    }
    muon_loop_free(a.loop);
    puts("api_trace: ok");
    return 0;
}
