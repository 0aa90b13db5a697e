/* Reconnect while a receiver holds unsettled deliveries (run by
 * tests/c_api.rs against the example broker, through the fault proxy).
 *
 *   api_reconnect_unsettled HOST:PORT ADDRESS
 *
 * The broker's queue ADDRESS holds 10 messages (message-id 1 to 10, as
 * simple_send sends them). A receiver with the built-in reconnect, no
 * automatic credit and no automatic accept takes 5 of them and holds their
 * deliveries unsettled, then prints "holding 5": the test cuts the
 * connection. After the reconnect:
 *   - the old delivery handles are stale: accepting, releasing or settling
 *     one is refused with MUON_RESULT_STALE_HANDLE (in on_disconnected and
 *     again in on_reconnected), and reading their state gives the defaults;
 *   - the old receiver handle is stale, and the re-attached receiver has a
 *     new one (on_link_remote_open, where credit is granted again);
 *   - the broker redelivers the 5 it never saw settled, in their order,
 *     and the other 5: ids 1 to 10 on the new link, each once, each
 *     accepted (and a second accept of the same delivery is stale).
 * Prints "api_reconnect_unsettled: ok" last. */
#define _POSIX_C_SOURCE 200809L
#include "api_check.h"

#define HELD 5
#define TOTAL 10

struct app {
    muon_loop *loop;
    muon_connection conn;
    muon_receiver first;         /* the receiver as opened */
    muon_receiver current;       /* the one messages arrive on now */
    muon_delivery held[HELD];    /* unsettled, on the first receiver */
    uint64_t ids[2 * TOTAL];     /* every message-id received, in order */
    int received, opens, link_finals, disconnects, reconnects;
    int stale_checked;
    bool closing;
};

static uint64_t message_id(const muon_event *ev) {
    uint64_t id = 0;
    OK(muon_value_get_ulong(muon_message_id(muon_event_message(ev)), &id));
    return id;
}

/* Every call on a delivery held across the cut is refused as stale. */
static void check_held_are_stale(struct app *a, const char *where) {
    for (int i = 0; i < HELD; i++) {
        muon_delivery d = a->held[i];
        CHECK_RC(muon_delivery_accept(d), MUON_RESULT_STALE_HANDLE);
        CHECK_RC(muon_delivery_release(d), MUON_RESULT_STALE_HANDLE);
        CHECK_RC(muon_delivery_settle(d), MUON_RESULT_STALE_HANDLE);
        CHECK(!muon_delivery_is_remote_settled(d));
    }
    CHECK_RC(muon_receiver_flow(a->first, 1), MUON_RESULT_STALE_HANDLE);
    a->stale_checked++;
    fprintf(stderr, "api_reconnect_unsettled: held deliveries stale in %s\n", where);
}

static void on_link_remote_open(void *ud, const muon_event *ev) {
    struct app *a = ud;
    muon_receiver r = muon_event_receiver(ev);
    a->opens++;
    if (a->opens == 1) {
        CHECK(SAME(r, a->first));
        OK(muon_receiver_flow(r, HELD)); /* exactly the 5 to hold */
    } else {
        /* Re-attached by the reconnect: a new handle, credit again. */
        CHECK(a->reconnects >= 1);
        CHECK(!SAME(r, a->first));
        OK(muon_receiver_flow(r, 2 * TOTAL));
    }
    a->current = r;
}

static void on_message(void *ud, const muon_event *ev) {
    struct app *a = ud;
    muon_delivery d = muon_event_delivery(ev);
    CHECK(a->received < 2 * TOTAL);
    a->ids[a->received++] = message_id(ev);
    if (a->opens == 1) {
        /* Before the cut: hold it, unsettled. */
        CHECK(a->received <= HELD);
        a->held[a->received - 1] = d;
        if (a->received == HELD) {
            printf("holding %d\n", HELD);
            fflush(stdout);
        }
        return;
    }
    CHECK(SAME(muon_event_receiver(ev), a->current));
    OK(muon_delivery_accept(d));
    CHECK_RC(muon_delivery_accept(d), MUON_RESULT_STALE_HANDLE);
    if (a->received == HELD + TOTAL) OK(muon_connection_close(a->conn));
}

static void on_link_final(void *ud, const muon_event *ev) {
    struct app *a = ud;
    (void)ev;
    a->link_finals++;
}

static void on_disconnected(void *ud, const muon_event *ev) {
    struct app *a = ud;
    const muon_condition *why = muon_event_condition(ev);
    CHECK(why != NULL);
    fprintf(stderr, "api_reconnect_unsettled: disconnected: %s\n", muon_condition_name(why));
    a->disconnects++;
    if (a->disconnects == 1) {
        /* The first receiver had its final event before this. */
        CHECK(a->link_finals == 1);
        CHECK(a->received == HELD);
        check_held_are_stale(a, "on_disconnected");
    }
}

static void on_reconnected(void *ud, const muon_event *ev) {
    struct app *a = ud;
    CHECK(SAME(muon_event_connection(ev), a->conn));
    a->reconnects++;
    check_held_are_stale(a, "on_reconnected");
}

static void on_connection_final(void *ud, const muon_event *ev) {
    struct app *a = ud;
    (void)ev;
    OK(muon_loop_stop(a->loop));
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s HOST:PORT ADDRESS\n", argv[0]);
        return 2;
    }
    alarm(WATCHDOG_S);
    struct app a = {0};
    OK(muon_loop_new(&a.loop));

    muon_connection_options *co = NULL;
    OK(muon_connection_options_new(&co));
    OK(muon_connection_options_set_reconnect(co, 50, 200, 0));
    muon_handler ch = MUON_HANDLER_INIT;
    ch.on_disconnected = on_disconnected;
    ch.on_reconnected = on_reconnected;
    ch.on_connection_final = on_connection_final;
    OK(muon_loop_connect(a.loop, argv[1], co, &ch, &a, &a.conn));
    muon_connection_options_free(co);

    muon_link_options *lo = NULL;
    OK(muon_link_options_new(&lo));
    OK(muon_link_options_set_credit_window(lo, 0));
    OK(muon_link_options_set_auto_accept(lo, false));
    muon_handler rh = MUON_HANDLER_INIT;
    rh.on_link_remote_open = on_link_remote_open;
    rh.on_message = on_message;
    rh.on_link_final = on_link_final;
    OK(muon_connection_open_receiver(a.conn, argv[2], lo, &rh, &a, &a.first));
    muon_link_options_free(lo);

    OK(muon_loop_run(a.loop));
    muon_loop_free(a.loop);

    CHECK(a.disconnects == 1 && a.reconnects == 1);
    CHECK(a.stale_checked == 2);
    CHECK(a.received == HELD + TOTAL);
    /* The held five, then all ten on the new link, each once: the five
     * redelivered in their order, as the other five. (The broker puts the
     * five back at the head of the queue when it sees the first connection
     * end, which is normally before the new one attaches.) */
    for (int i = 0; i < HELD; i++) CHECK(a.ids[i] == (uint64_t)(i + 1));
    int seen[TOTAL + 1] = {0};
    uint64_t last_held = 0, last_other = 0;
    for (int i = HELD; i < HELD + TOTAL; i++) {
        uint64_t id = a.ids[i];
        CHECK(id >= 1 && id <= TOTAL && seen[id]++ == 0);
        uint64_t *last = id <= HELD ? &last_held : &last_other;
        CHECK(id > *last);
        *last = id;
    }
    printf("api_reconnect_unsettled: ok\n");
    return 0;
}
