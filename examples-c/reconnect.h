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
 * cluster: `-a host1:5672/queue,host2:5672,host3:5672`); call
 * failover_urls(program_name, argc, argv) before setup(). The address is the first URL's;
 * each attempt to reconnect goes to the next URL in the list, round and
 * round. At the start each URL is tried once, in order, before the program
 * gives up.
 */
#ifndef MUON_EXAMPLES_RECONNECT_H
#define MUON_EXAMPLES_RECONNECT_H

#include "common.h"

#define MAX_URLS 16
static char *urls[MAX_URLS] = {"localhost:5672/examples"}; /* -a's list */
static char peers[MAX_URLS][256];                         /* each as messages show it */
static int n_urls = 1, url_index;                          /* url_index: the one in use */

static muon_callback on_open;
static unsigned delay_ms; /* before the next attempt: 0, then 100 doubling to 10000 */
static bool opened;
static int tried; /* URLs that could not be reached before the first open */

/* Splits -a's value at its commas (setup() then sees the first URL only)
 * and checks each URL of a list. */
static inline void failover_urls(const char *name, int argc, char **argv) {
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "-a")) continue;
        urls[0] = argv[++i];
        n_urls = 0;
        for (char *s = strtok(argv[i], ","); s && n_urls < MAX_URLS; s = strtok(NULL, ","))
            urls[n_urls++] = s;
        n_urls += n_urls == 0; /* "" or ",": setup() says what is wrong */
        argv[i] = urls[0];
    }
    for (int i = 0; i < n_urls && n_urls > 1; i++) {
        muon_url *u;
        if (muon_url_parse(urls[i], &u) != MUON_RESULT_OK) {
            fprintf(stderr, "%s: -a: %s\n", name, muon_last_error());
            exit(2);
        }
        snprintf(peers[i], sizeof peers[i], "%s", muon_url_origin(u) +
                 (strstr(urls[i], "://") ? 0 : strlen(muon_url_scheme(u)) + 3));
        muon_url_free(u);
    }
}

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
    bool first_round = !opened && ++tried < n_urls; /* another URL is left to try */
    if (!lost(muon_event_condition(ev)) || done || (!opened && !first_round)) {
        on_gone(app, ev); /* "cannot connect to ..." or "disconnected from ...", unless done */
        return;
    }
    url_index = (url_index + 1) % n_urls; /* the next URL (the same one when there is one) */
    if (n_urls > 1) peer = peers[url_index];
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
    connect_to(n_urls > 1 ? urls[url_index] : url_text,
               HANDLER(.on_connection_remote_open = on_reconnected, .on_disconnected = on_lost));
}

#endif
