/* Re-entrancy: from inside any callback (an event handler, a posted
 * function, a userdata_free hook, the log callback) muon_loop_run,
 * muon_loop_run_once and muon_loop_try_free refuse with
 * MUON_RESULT_REENTRANT and change nothing, and muon_loop_free does nothing;
 * muon_loop_stop makes the run return after the callback; every other call
 * works. While muon_loop_free calls the userdata_free hooks, every call on
 * the loop is refused. */
#define _POSIX_C_SOURCE 200809L
#include "api_check.h"

struct app {
    muon_loop *loop;
    int refusals;
    int timers_fired;
    int runs;
    int frees;
    int posted;
    int log_lines;
    int opens;
};

static void refuse_all(struct app *a) {
    CHECK_RC(muon_loop_run(a->loop), MUON_RESULT_REENTRANT);
    CHECK_RC(muon_loop_run_once(a->loop, 0), MUON_RESULT_REENTRANT);
    CHECK_RC(muon_loop_run_once(a->loop, -1), MUON_RESULT_REENTRANT);
    muon_loop_free(a->loop); /* does nothing here: the loop carries on */
    CHECK_RC(muon_loop_try_free(a->loop), MUON_RESULT_REENTRANT);
    a->refusals++;
}

static void freed(void *ud) {
    struct app *a = ud;
    refuse_all(a);
    a->frees++;
}

/* Called by muon_loop_try_free itself: the loop is being freed. */
static void freed_by_free(void *ud) {
    struct app *a = ud;
    refuse_all(a);
    CHECK_RC(muon_loop_set_handler(a->loop, NULL, NULL), MUON_RESULT_REENTRANT);
    CHECK_RC(muon_loop_schedule(a->loop, 1, NULL, NULL, NULL), MUON_RESULT_REENTRANT);
    CHECK_RC(muon_loop_stop(a->loop), MUON_RESULT_REENTRANT);
    a->frees++;
}

static void posted(void *ctx) {
    struct app *a = ctx;
    refuse_all(a);
    a->posted++;
}

static void on_log(void *ud, const char *line) {
    struct app *a = ud;
    /* 2026-12-06T05:26:53.397645Z [c1] ...: a timestamp, then the connection */
    CHECK(line != NULL && strlen(line) > 29 && line[10] == 'T' && line[26] == 'Z' &&
          line[28] == '[');
    if (a->log_lines++ == 0)
        refuse_all(a);
}

static void stopper(void *ud, const muon_event *ev) {
    (void)ev;
    struct app *a = ud;
    refuse_all(a);
    a->timers_fired++;
    /* The run returns once this callback returns. */
    OK(muon_loop_stop(a->loop));
}

static void later(void *ud, const muon_event *ev) {
    (void)ev;
    struct app *a = ud;
    refuse_all(a);
    a->timers_fired++;
    CHECK(a->runs == 1); /* only in the second run */
    /* Calls other than run and free work from a callback. */
    OK(muon_loop_post(a->loop, posted, a));
    OK(muon_loop_wake(a->loop));
}

static void on_wake(void *ud, const muon_event *ev) {
    struct app *a = ud;
    CHECK(muon_event_get_kind(ev) == MUON_EVENT_KIND_WAKE);
    CHECK(muon_event_loop(ev) == a->loop);
    CHECK(a->posted == 1); /* posted functions run before on_wake */
    refuse_all(a);
}

/* A connection over loopback, traced to the log callback. */
static void on_remote_open(void *ud, const muon_event *ev) {
    struct app *a = ud;
    refuse_all(a);
    a->opens++;
    muon_connection c = muon_event_connection(ev);
    if (muon_connection_remote_container_id(c) != NULL)
        OK(muon_connection_close(c));
}

static void on_connection_final(void *ud, const muon_event *ev) {
    (void)ev;
    struct app *a = ud;
    refuse_all(a);
}

int main(void) {
    alarm(WATCHDOG_S);
    struct app a;
    memset(&a, 0, sizeof a);
    OK(muon_loop_new(&a.loop));
    OK(muon_loop_set_trace(a.loop, MUON_TRACE_FRAMES));
    OK(muon_loop_set_log(a.loop, on_log, &a));

    muon_handler d = MUON_HANDLER_INIT;
    d.on_wake = on_wake;
    d.on_connection_remote_open = on_remote_open;
    d.on_connection_final = on_connection_final;
    d.userdata_free = freed;
    OK(muon_loop_set_handler(a.loop, &d, &a));

    muon_handler t1 = MUON_HANDLER_INIT;
    t1.on_timer = stopper;
    t1.userdata_free = freed;
    OK(muon_loop_schedule(a.loop, 1, &t1, &a, NULL));
    muon_handler t2 = MUON_HANDLER_INIT;
    t2.on_timer = later;
    OK(muon_loop_schedule(a.loop, 30, &t2, &a, NULL));

    /* The first run stops after the first timer. */
    OK(muon_loop_run(a.loop));
    a.runs++;
    CHECK(a.timers_fired == 1);
    CHECK(a.frees == 1); /* the first timer's userdata_free ran in the run */

    /* The second runs the rest: the second timer, the post, the wake, and a
     * connection whose frames go to the log callback. */
    muon_listener l;
    OK(muon_loop_listen(a.loop, "127.0.0.1:0", NULL, NULL, NULL, &l));
    char url[64];
    snprintf(url, sizeof url, "127.0.0.1:%u", (unsigned)muon_listener_port(l));
    muon_connection c;
    OK(muon_loop_connect(a.loop, url, NULL, NULL, NULL, &c));
    while (a.timers_fired < 2 || a.posted < 1 || a.opens < 2)
        OK(muon_loop_run_once(a.loop, 10));
    OK(muon_listener_close(l));
    OK(muon_loop_run(a.loop));
    CHECK(a.timers_fired == 2);
    CHECK(a.posted == 1);
    CHECK(a.log_lines > 10);
    CHECK(a.refusals >= 7);

    /* Replacing the default handler frees its userdata, in the next run. */
    OK(muon_loop_set_handler(a.loop, NULL, NULL));
    CHECK(a.frees == 1);
    OK(muon_loop_run_once(a.loop, 0));
    CHECK(a.frees == 2);

    /* The loop's free calls the userdata_free hooks last: a call on the
     * loop from one is refused, and a free from one does nothing. */
    muon_handler last = MUON_HANDLER_INIT;
    last.userdata_free = freed_by_free;
    OK(muon_loop_set_handler(a.loop, &last, &a));
    OK(muon_loop_try_free(a.loop));
    CHECK(a.frees == 3);
    puts("api_reentrant: ok");
    return 0;
}
