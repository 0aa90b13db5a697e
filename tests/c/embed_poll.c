/* A muon loop inside the application's own poll() loop, through
 * muon_loop_fd and muon_loop_timeout (run by tests/embed.rs):
 *
 *   1. an idle loop: its descriptor is not readable, no deadline (-1);
 *   2. a timer: the descriptor becomes readable when it is due, not
 *      before; muon_loop_run_once(lp, 0) fires it and does not wait;
 *   3. a function posted from another thread to a loop with no work: the
 *      descriptor becomes readable and run_once(lp, 0) runs it;
 *   4. a listener and a client on the loop, over TCP: 2,000 messages sent
 *      from the application's own code (outside any callback), each send
 *      making the descriptor readable at once so that it goes out; all
 *      arrive in order; the close completes. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "api_check.h"

#define N 2000

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* True if `fd` is readable within `ms` milliseconds. */
static bool readable(int fd, int ms) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r;
    do {
        r = poll(&p, 1, ms);
    } while (r < 0 && errno == EINTR);
    CHECK(r >= 0);
    return r == 1 && (p.revents & POLLIN);
}

struct app {
    int timers, posted, received, finals, listener_finals;
    muon_sender sender;
    bool flow;
    muon_listener listener;
};

static void on_timer(void *ud, const muon_event *ev) {
    (void)ev;
    ((struct app *)ud)->timers++;
}

static void posted(void *ctx) { ((struct app *)ctx)->posted++; }

struct post_arg {
    muon_loop *lp;
    struct app *a;
};

static void *poster(void *p) {
    struct post_arg *arg = p;
    struct timespec ts = {0, 100 * 1000000L};
    nanosleep(&ts, NULL);
    OK(muon_loop_post(arg->lp, posted, arg->a));
    return NULL;
}

static void on_link_flow(void *ud, const muon_event *ev) {
    struct app *a = ud;
    muon_sender s = muon_event_sender(ev);
    if (!IS_NULL_HANDLE(s))
        a->flow = true;
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

static void on_listener_final(void *ud, const muon_event *ev) {
    (void)ev;
    ((struct app *)ud)->listener_finals++;
}

int main(void) {
    alarm(WATCHDOG_S);
    struct app a = {0};
    muon_loop *lp;
    OK(muon_loop_new(&lp));
    muon_handler h = MUON_HANDLER_INIT;
    h.on_timer = on_timer;
    h.on_link_flow = on_link_flow;
    h.on_message = on_message;
    h.on_connection_final = on_final;
    h.on_listener_final = on_listener_final;
    OK(muon_loop_set_handler(lp, &h, &a));

    /* 1. Idle. */
    int fd = -1;
    int64_t t = 0;
    CHECK_RC(muon_loop_fd(lp, NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_loop_timeout(lp, NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_loop_fd(NULL, &fd), MUON_RESULT_NULL_ARGUMENT);
    OK(muon_loop_fd(lp, &fd));
    CHECK(fd >= 0);
    OK(muon_loop_timeout(lp, &t));
    CHECK(t == -1);
    CHECK(!readable(fd, 0));
    OK(muon_loop_run_once(lp, 0));
    CHECK(!readable(fd, 0));

    /* 2. A timer. */
    long long start = now_ms();
    OK(muon_loop_schedule(lp, 150, NULL, &a, NULL));
    OK(muon_loop_timeout(lp, &t));
    CHECK(t > 100 && t <= 150);
    CHECK(!readable(fd, 50));
    OK(muon_loop_run_once(lp, 0)); /* not due: returns at once */
    CHECK(a.timers == 0 && now_ms() - start < 120);
    CHECK(readable(fd, 1000));
    CHECK(now_ms() - start >= 145);
    OK(muon_loop_run_once(lp, 0));
    CHECK(a.timers == 1);
    CHECK(!readable(fd, 0));
    OK(muon_loop_timeout(lp, &t));
    CHECK(t == -1);

    /* 3. A post from another thread, with no work in the loop. */
    pthread_t th;
    struct post_arg arg = {lp, &a};
    CHECK(pthread_create(&th, NULL, poster, &arg) == 0);
    CHECK(readable(fd, 2000));
    OK(muon_loop_run_once(lp, 0));
    CHECK(a.posted == 1);
    CHECK(pthread_join(th, NULL) == 0);
    CHECK(!readable(fd, 0));

    /* 4. A listener and a client, sends from the application's code. */
    OK(muon_loop_listen(lp, "127.0.0.1:0", NULL, NULL, NULL, &a.listener));
    char url[64];
    snprintf(url, sizeof url, "127.0.0.1:%u", (unsigned)muon_listener_port(a.listener));
    muon_connection c;
    OK(muon_loop_connect(lp, url, NULL, NULL, NULL, &c));
    /* The connect left work: the descriptor says so at once. */
    CHECK(readable(fd, 0));
    OK(muon_connection_open_sender(c, "q", NULL, NULL, NULL, &a.sender));
    int sent = 0;
    long long deadline = now_ms() + 15000;
    while (a.finals < 2 || a.listener_finals < 1) {
        CHECK(now_ms() < deadline);
        /* The application's own work: send one message when it can. */
        if (sent < N && a.flow && muon_sender_credit(a.sender) > 0) {
            muon_message *m;
            OK(muon_message_new(&m));
            muon_value *v;
            OK(muon_value_long(sent, &v));
            OK(muon_message_set_body(m, v));
            OK(muon_sender_send(a.sender, m, NULL));
            muon_message_free(m);
            sent++;
            CHECK(readable(fd, 0)); /* the send left output to write */
        }
        OK(muon_loop_timeout(lp, &t));
        int wait = (sent < N && a.flow && muon_sender_credit(a.sender) > 0) ? 0
                   : t < 0 ? 1000 : (int)(t > 1000 ? 1000 : t);
        if (readable(fd, wait) || t == 0)
            OK(muon_loop_run_once(lp, 0));
    }
    CHECK(a.received == N && sent == N);
    OK(muon_loop_timeout(lp, &t));
    CHECK(t == -1);
    CHECK(!readable(fd, 0));
    muon_loop_free(lp);
    printf("embed_poll: ok\n");
    return 0;
}
