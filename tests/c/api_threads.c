/* Threads: a loop and its handles belong to the thread that made the loop;
 * calls from another thread return MUON_RESULT_WRONG_THREAD (getters their
 * default) and change nothing (muon_loop_free does nothing, and
 * muon_loop_try_free says MUON_RESULT_WRONG_THREAD). muon_loop_wake and
 * muon_loop_post work from any thread: posted functions run on the loop's
 * thread, in order, before the on_wake they cause. Another thread may run
 * loops of its own. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <time.h>

#include "api_check.h"

#define POSTS 100

struct app;

struct job {
    struct app *a;
    int i;
};

struct app {
    muon_loop *loop;
    pthread_t main_thread;
    muon_listener lis;
    muon_timer watchdog;
    struct job jobs[POSTS];
    int next;
    int wakes;
    int own_loop_timers;
};

static void sleep_ms(long ms) {
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

static void watchdog(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    CHECK(!"the posted functions did not all run");
}

static void job(void *ctx) {
    struct job *j = ctx;
    struct app *a = j->a;
    CHECK(pthread_equal(pthread_self(), a->main_thread));
    CHECK(j->i == a->next); /* in the order posted */
    a->next++;
    if (a->next == POSTS) {
        /* The last one ends the run: no work is left after this. */
        OK(muon_timer_cancel(a->watchdog));
        OK(muon_listener_close(a->lis));
    }
}

static void on_wake(void *ud, const muon_event *ev) {
    (void)ev;
    struct app *a = ud;
    CHECK(pthread_equal(pthread_self(), a->main_thread));
    a->wakes++;
}

static void own_timer(void *ud, const muon_event *ev) {
    (void)ev;
    struct app *a = ud;
    a->own_loop_timers++;
}

static void *other_thread(void *arg) {
    struct app *a = arg;
    muon_handler h = MUON_HANDLER_INIT;

    /* Everything but wake and post is refused here. */
    CHECK_RC(muon_loop_run(a->loop), MUON_RESULT_WRONG_THREAD);
    CHECK_RC(muon_loop_run_once(a->loop, 0), MUON_RESULT_WRONG_THREAD);
    CHECK_RC(muon_loop_stop(a->loop), MUON_RESULT_WRONG_THREAD);
    CHECK_RC(muon_loop_set_handler(a->loop, &h, NULL), MUON_RESULT_WRONG_THREAD);
    CHECK_RC(muon_loop_set_trace(a->loop, 0), MUON_RESULT_WRONG_THREAD);
    CHECK_RC(muon_loop_schedule(a->loop, 1, &h, NULL, NULL), MUON_RESULT_WRONG_THREAD);
    CHECK_RC(muon_loop_connect(a->loop, "127.0.0.1:1", NULL, NULL, NULL, NULL),
             MUON_RESULT_WRONG_THREAD);
    CHECK_RC(muon_loop_listen(a->loop, "127.0.0.1:0", NULL, NULL, NULL, NULL),
             MUON_RESULT_WRONG_THREAD);
    CHECK_RC(muon_listener_close(a->lis), MUON_RESULT_WRONG_THREAD);
    CHECK(muon_listener_port(a->lis) == 0);
    CHECK_RC(muon_timer_cancel(a->watchdog), MUON_RESULT_WRONG_THREAD);
    /* Freeing from here does nothing (the loop runs on, and takes the
     * posts below); muon_loop_try_free says why. */
    muon_loop_free(a->loop);
    CHECK_RC(muon_loop_try_free(a->loop), MUON_RESULT_WRONG_THREAD);

    /* A loop of this thread's own. */
    muon_loop *own = NULL;
    OK(muon_loop_new(&own));
    CHECK(own != NULL);
    muon_handler th = MUON_HANDLER_INIT;
    th.on_timer = own_timer;
    OK(muon_loop_schedule(own, 1, &th, a, NULL));
    OK(muon_loop_run(own));
    muon_loop_free(own);

    /* Hand work to the loop's thread. */
    for (int i = 0; i < POSTS; i++) {
        a->jobs[i].a = a;
        a->jobs[i].i = i;
        OK(muon_loop_post(a->loop, job, &a->jobs[i]));
        if (i % 10 == 0) {
            OK(muon_loop_wake(a->loop));
            sleep_ms(2);
        }
    }
    return NULL;
}

int main(void) {
    alarm(WATCHDOG_S);
    struct app a;
    memset(&a, 0, sizeof a);
    a.main_thread = pthread_self();
    OK(muon_loop_new(&a.loop));
    muon_handler d = MUON_HANDLER_INIT;
    d.on_wake = on_wake;
    OK(muon_loop_set_handler(a.loop, &d, &a));
    muon_handler w = MUON_HANDLER_INIT;
    w.on_timer = watchdog;
    OK(muon_loop_schedule(a.loop, 10000, &w, &a, &a.watchdog));
    OK(muon_loop_listen(a.loop, "127.0.0.1:0", NULL, NULL, NULL, &a.lis));
    CHECK(muon_listener_port(a.lis) != 0);

    pthread_t t;
    CHECK(pthread_create(&t, NULL, other_thread, &a) == 0);
    OK(muon_loop_run(a.loop));
    CHECK(pthread_join(t, NULL) == 0);

    CHECK(a.next == POSTS);
    CHECK(a.wakes >= 1);
    CHECK(a.own_loop_timers == 1);
    muon_loop_free(a.loop);
    puts("api_threads: ok");
    return 0;
}
