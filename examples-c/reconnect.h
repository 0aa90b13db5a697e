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
 *
 * Failover: -a may list several URLs separated by commas (the nodes of a
 * cluster: `-a host1:5672/queue,host2:5672,host3:5672`). The address is the
 * first URL's; each attempt to reconnect goes to the next URL in the list,
 * round and round. At the start each URL is tried once, in order, before
 * the program gives up.
 */
#ifndef MUON_EXAMPLES_RECONNECT_H
#define MUON_EXAMPLES_RECONNECT_H

#define EXAMPLES_FAILOVER 1 /* common.h: -a takes a comma-separated list */
#include "common.h"

static muon_callback on_open;
static unsigned delay_ms; /* before the next attempt: 0, then 100 doubling to 10000 */
static bool opened;
static int tried; /* URLs that could not be reached before the first open */

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

/* The next URL of the list (the same one when there is only one). */
static inline void next_url(void) {
    url_index = (url_index + 1) % n_urls;
    peer = peer_of(url_index);
}

static inline void on_lost(void *app, const muon_event *ev) {
    bool first_round = !opened && ++tried < n_urls; /* another URL is left to try */
    if (!lost(muon_event_condition(ev)) || done || (!opened && !first_round)) {
        on_gone(app, ev); /* "cannot connect to ..." or "disconnected from ...", unless done */
        return;
    }
    next_url();
    if (first_round) {
        reconnect_to(on_open);
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
    connect_to(urls[url_index], HANDLER(.on_connection_remote_open = on_reconnected,
                                        .on_disconnected = on_lost));
}

#endif
