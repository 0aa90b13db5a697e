/* A muon loop inside libuv (run by tests/embed.rs): a uv_poll_t on
 * muon_loop_fd and a uv_timer_t set from muon_loop_timeout after every
 * run. On the muon loop: a listener and a client over TCP, 10,000
 * messages sent from on_link_flow (past the receiver's credit window),
 * received in order; a muon timer; a post from another thread; then the
 * close. libuv's loop ends when muon has no work left and the handles are
 * closed. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdbool.h>
#include <uv.h>

#include "api_check.h"

#define N 10000

struct app {
    muon_loop *lp;
    uv_poll_t poll;
    uv_timer_t timer;
    int sent, received, finals, timers, posted, runs, timer_runs;
    muon_listener listener;
    bool done;
};

static void posted(void *ctx) { ((struct app *)ctx)->posted++; }

static void *poster(void *p) {
    struct app *a = p;
    OK(muon_loop_post(a->lp, posted, a));
    return NULL;
}

static void on_timer(void *ud, const muon_event *ev) {
    (void)ev;
    ((struct app *)ud)->timers++;
}

static void on_link_flow(void *ud, const muon_event *ev) {
    struct app *a = ud;
    muon_sender s = muon_event_sender(ev);
    if (IS_NULL_HANDLE(s))
        return;
    while (a->sent < N && muon_sender_credit(s) > 0) {
        muon_message *m;
        OK(muon_message_new(&m));
        muon_value *v;
        OK(muon_value_long(a->sent, &v));
        OK(muon_message_set_body(m, v));
        OK(muon_sender_send(s, m, NULL));
        muon_message_free(m);
        a->sent++;
    }
}

static void on_message(void *ud, const muon_event *ev) {
    struct app *a = ud;
    int64_t n = -1;
    OK(muon_value_get_long(muon_message_body(muon_event_message(ev)), &n));
    CHECK(n == a->received);
    a->received++;
    if (a->received == N) {
        OK(muon_connection_close(muon_event_connection(ev)));
        OK(muon_listener_close(a->listener));
    }
}

static void on_final(void *ud, const muon_event *ev) {
    (void)ev;
    ((struct app *)ud)->finals++;
}

static void after_run(struct app *a);

static void on_uv_readable(uv_poll_t *p, int status, int events) {
    struct app *a = p->data;
    CHECK(status == 0 && (events & UV_READABLE));
    a->runs++;
    OK(muon_loop_run_once(a->lp, 0));
    after_run(a);
}

static void on_uv_timer(uv_timer_t *t) {
    struct app *a = t->data;
    a->timer_runs++;
    OK(muon_loop_run_once(a->lp, 0));
    after_run(a);
}

/* After each run: set libuv's timer from muon's next deadline, or end. */
static void after_run(struct app *a) {
    if (a->done)
        return;
    if (a->finals == 2 && a->received == N && a->timers == 1 && a->posted == 1) {
        a->done = true;
        uv_poll_stop(&a->poll);
        uv_timer_stop(&a->timer);
        uv_close((uv_handle_t *)&a->poll, NULL);
        uv_close((uv_handle_t *)&a->timer, NULL);
        return;
    }
    int64_t ms;
    OK(muon_loop_timeout(a->lp, &ms));
    if (ms < 0)
        uv_timer_stop(&a->timer);
    else
        CHECK(uv_timer_start(&a->timer, on_uv_timer, (uint64_t)ms, 0) == 0);
}

int main(void) {
    alarm(WATCHDOG_S);
    struct app a = {0};
    OK(muon_loop_new(&a.lp));
    muon_handler h = MUON_HANDLER_INIT;
    h.on_timer = on_timer;
    h.on_link_flow = on_link_flow;
    h.on_message = on_message;
    h.on_connection_final = on_final;
    OK(muon_loop_set_handler(a.lp, &h, &a));

    uv_loop_t *uv = uv_default_loop();
    int fd;
    OK(muon_loop_fd(a.lp, &fd));
    CHECK(uv_poll_init(uv, &a.poll, fd) == 0);
    a.poll.data = &a;
    CHECK(uv_timer_init(uv, &a.timer) == 0);
    a.timer.data = &a;
    CHECK(uv_poll_start(&a.poll, UV_READABLE, on_uv_readable) == 0);

    OK(muon_loop_listen(a.lp, "127.0.0.1:0", NULL, NULL, NULL, &a.listener));
    char url[64];
    snprintf(url, sizeof url, "127.0.0.1:%u", (unsigned)muon_listener_port(a.listener));
    muon_connection c;
    OK(muon_loop_connect(a.lp, url, NULL, NULL, NULL, &c));
    OK(muon_connection_open_sender(c, "q", NULL, NULL, NULL, NULL));
    OK(muon_loop_schedule(a.lp, 50, NULL, &a, NULL));
    pthread_t th;
    CHECK(pthread_create(&th, NULL, poster, &a) == 0);
    after_run(&a);

    CHECK(uv_run(uv, UV_RUN_DEFAULT) == 0);
    CHECK(pthread_join(th, NULL) == 0);
    CHECK(a.done);
    CHECK(a.sent == N && a.received == N && a.timers == 1 && a.posted == 1);
    CHECK(a.runs > 0);
    CHECK(uv_loop_close(uv) == 0);
    muon_loop_free(a.lp);
    printf("embed_uv: ok (%d runs from the descriptor, %d from the timer)\n", a.runs,
           a.timer_runs);
    return 0;
}
