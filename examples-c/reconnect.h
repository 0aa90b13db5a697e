/*
 * reconnect.h: the tutorial's reconnect, for simple_send and simple_recv.
 *
 * reconnect_to(on_open) connects to -a's URL; `on_open` runs each time the
 * connection is up. When the connection is lost after it had opened (the
 * socket failed or closed without an AMQP close, or the peer went silent),
 * it connects again: at once the first time, then after 0.1 s, doubling up
 * to 10 s, saying so on stdout. Anything else (a refused login, a TLS
 * failure, a protocol error) would only happen again: it ends the program
 * as common.h's handler does.
 */
#ifndef MUON_EXAMPLES_RECONNECT_H
#define MUON_EXAMPLES_RECONNECT_H

#include "common.h"

static muon_callback on_open;
static unsigned delay_ms; /* before the next attempt: 0, then 100 doubling to 10000 */
static bool opened;

static inline void reconnect_to(muon_callback open);

static inline bool lost(const muon_condition *c) {
    return !strcmp(muon_condition_name(c), "amqp:connection:forced") ||
           !strcmp(muon_condition_name(c), "amqp:resource-limit-exceeded");
}

static inline void on_reconnected(void *app, const muon_event *ev) {
    opened = true;
    delay_ms = 0;
    on_open(app, ev);
}

static inline void on_retry(void *app, const muon_event *ev) {
    (void)app, (void)ev;
    printf("Reconnecting...\n");
    fflush(stdout);
    reconnect_to(on_open);
}

static inline void on_lost(void *app, const muon_event *ev) {
    if (!lost(muon_event_condition(ev)) || done || !opened) {
        on_gone(app, ev); /* "cannot connect to ..." or "disconnected from ...", unless done */
        return;
    }
    if (delay_ms == 0) {
        printf("Disconnected, reconnecting...\n");
        reconnect_to(on_open);
    } else {
        printf("Disconnected, will try to reconnect after %g seconds\n", delay_ms / 1000.0);
        CHECK(muon_loop_schedule(loop, delay_ms, HANDLER(.on_timer = on_retry), NULL, &timer));
    }
    delay_ms = delay_ms == 0 ? 100 : delay_ms >= 5000 ? 10000 : 2 * delay_ms;
    fflush(stdout);
}

static inline void reconnect_to(muon_callback open) {
    on_open = open;
    connect_to(url_text, HANDLER(.on_connection_remote_open = on_reconnected,
                                 .on_disconnected = on_lost));
}

#endif
