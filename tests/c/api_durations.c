/* Durations: every wait the API takes is a uint64_t of milliseconds, and
 * any value is safe, up to UINT64_MAX ("practically never"): a timer that
 * far out is scheduled and cancelled, a connection with idle and handshake
 * time-outs that long opens, and the built-in reconnect with such a backoff
 * waits instead of failing the loop. Also the terminus time-out, in
 * milliseconds. */
#define _POSIX_C_SOURCE 200809L
#include "api_check.h"

struct app {
    muon_loop *loop;
    muon_listener listener;
    int opened;
    int disconnected;
    int finals;
};

static void never(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    CHECK(!"a timer due in more than 100 years fired");
}

static void on_link_open(void *ud, const muon_event *ev) {
    struct app *a = ud;
    const muon_terminus *t = muon_sender_remote_target(muon_event_sender(ev));
    CHECK(t != NULL);
    CHECK(muon_terminus_timeout_ms(t) == 0); /* the AMQP default */
    CHECK(muon_terminus_expiry_policy(t) == MUON_EXPIRY_POLICY_SESSION_END);
    a->opened++;
    OK(muon_connection_close(muon_event_connection(ev)));
}

static void on_open(void *ud, const muon_event *ev) {
    (void)ud;
    OK(muon_connection_open_sender(muon_event_connection(ev), "q", NULL, NULL, NULL, NULL));
}

/* The reconnecting client: its first attempt is refused; the next would be
 * in more than 100 years. */
static void on_disconnected(void *ud, const muon_event *ev) {
    struct app *a = ud;
    a->disconnected++;
    CHECK(!muon_connection_is_connected(muon_event_connection(ev)));
    OK(muon_connection_close(muon_event_connection(ev)));
}

static void on_final(void *ud, const muon_event *ev) {
    (void)ev;
    struct app *a = ud;
    if (++a->finals == 1)
        OK(muon_listener_close(a->listener));
}

int main(void) {
    alarm(WATCHDOG_S);
    struct app a;
    memset(&a, 0, sizeof a);
    OK(muon_loop_new(&a.loop));

    muon_handler th = MUON_HANDLER_INIT;
    th.on_timer = never;
    muon_timer t;
    OK(muon_loop_schedule(a.loop, UINT64_MAX, &th, NULL, &t));
    OK(muon_loop_run_once(a.loop, 0));
    OK(muon_timer_cancel(t));

    /* Time-outs of UINT64_MAX milliseconds on both sides. */
    muon_connection_options *o = NULL;
    OK(muon_connection_options_new(&o));
    OK(muon_connection_options_set_idle_timeout(o, UINT64_MAX));
    OK(muon_connection_options_set_handshake_timeout(o, UINT64_MAX));
    OK(muon_loop_listen(a.loop, "127.0.0.1:0", o, NULL, NULL, &a.listener));
    char url[64];
    snprintf(url, sizeof url, "127.0.0.1:%u", (unsigned)muon_listener_port(a.listener));
    muon_handler h = MUON_HANDLER_INIT;
    h.on_connection_remote_open = on_open;
    h.on_link_remote_open = on_link_open;
    h.on_connection_final = on_final;
    OK(muon_loop_connect(a.loop, url, o, &h, &a, NULL));
    muon_connection_options_free(o);
    OK(muon_loop_run(a.loop));
    CHECK(a.opened == 1);

    /* A port nobody listens on (the listener above is closed), and a
     * reconnect backoff of UINT64_MAX milliseconds. */
    OK(muon_connection_options_new(&o));
    OK(muon_connection_options_set_reconnect(o, UINT64_MAX, UINT64_MAX, 0));
    muon_handler rh = MUON_HANDLER_INIT;
    rh.on_disconnected = on_disconnected;
    OK(muon_loop_connect(a.loop, url, o, &rh, &a, NULL));
    muon_connection_options_free(o);
    OK(muon_loop_run(a.loop));
    CHECK(a.disconnected == 1);

    OK(muon_loop_try_free(a.loop));
    puts("api_durations: ok");
    return 0;
}
