/* Many loops on many threads in one process (run by tests/threads.rs, under
 * ThreadSanitizer too): LOOPS loops, each made, run and freed on a thread
 * of its own, each with CONNS connections to the example broker at
 * 127.0.0.1:PORT; on each connection a sender and a receiver on a queue of
 * that connection's own, MESSAGES messages in all spread over the
 * connections. Every message is counted: each arrives once, in order
 * (body: its sequence number), and each is accepted. Meanwhile STORMS other
 * threads post functions to every loop and wake them, as fast as they can;
 * some posted functions carry a message made on the posting thread, which
 * the loop's thread reads and frees (messages may move between threads).
 * Every posted function runs once, on its loop's thread.
 *
 *   threads_broker PORT LOOPS CONNS MESSAGES STORMS SECONDS
 *
 * SECONDS bounds the run (alarm). Prints a summary line, then
 * "threads_broker: ok". */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "api_check.h"

#define MAX_LOOPS 64
#define MAX_CONNS 16
#define MAX_STORMS 16

struct lp;

struct conn {
    struct lp *l;
    int id;
    char queue[64];
    muon_connection c;
    muon_message *msg;
    long to_send, sent, accepted, received;
    int done;
};

struct lp {
    int index;
    pthread_t thread;
    muon_loop *loop;
    muon_timer keepalive;
    struct conn conns[MAX_CONNS];
    int conns_done;
    /* Touched on the loop's thread only (read by main after the join). */
    long posts_run, messages_handed, wakes, finished;
};

/* A posted function's context that carries a message across threads. */
struct handoff {
    struct lp *l;
    muon_message *m;
    long n;
};

struct storm {
    pthread_t thread;
    int index;
    long posts[MAX_LOOPS], handoffs[MAX_LOOPS];
};

static char url[64];
static int n_loops, n_conns, n_storms;
static long n_messages;
static struct lp loops[MAX_LOOPS];
static struct storm storms[MAX_STORMS];
static pthread_barrier_t made, posted;
static atomic_int loops_done;
static atomic_int storms_stop;

static void sleep_us(long us) {
    struct timespec ts = {us / 1000000L, (us % 1000000L) * 1000L};
    nanosleep(&ts, NULL);
}

static void fail(void *ud, const muon_event *ev) {
    const muon_condition *c = muon_event_condition(ev);
    (void)ud;
    fprintf(stderr, "threads_broker: event %d: %s: %s\n", (int)muon_event_get_kind(ev),
            c ? muon_condition_name(c) : "-", c ? muon_condition_description(c) : "");
    exit(1);
}

/* The broker closing a connection: with an error, or before its messages
 * are all through, is a failure; else it answers our close. */
static void on_connection_remote_close(void *ud, const muon_event *ev) {
    struct conn *k = ud;
    if (muon_event_condition(ev) != NULL || !k->done) fail(NULL, ev);
}

static void check_done(struct conn *k) {
    if (k->done || k->received < k->to_send || k->accepted < k->to_send) return;
    k->done = 1;
    OK(muon_connection_close(k->c));
    if (++k->l->conns_done == n_conns) atomic_fetch_add(&loops_done, 1);
}

static void on_link_flow(void *ud, const muon_event *ev) {
    struct conn *k = ud;
    if (muon_event_is_receiver(ev)) return;
    muon_sender s = muon_event_sender(ev);
    while (k->sent < k->to_send && muon_sender_credit(s) > 0) {
        muon_value *v = NULL;
        OK(muon_value_long(++k->sent, &v));
        OK(muon_message_set_body(k->msg, v));
        OK(muon_sender_send(s, k->msg, NULL));
    }
}

static void on_message(void *ud, const muon_event *ev) {
    struct conn *k = ud;
    int64_t n = 0;
    OK(muon_value_get_long(muon_message_body(muon_event_message(ev)), &n));
    if (n != k->received + 1) {
        fprintf(stderr, "threads_broker: loop %d connection %d: message %lld after %ld\n",
                k->l->index, k->id, (long long)n, k->received);
        exit(1);
    }
    k->received++;
    check_done(k);
}

static void on_accepted(void *ud, const muon_event *ev) {
    struct conn *k = ud;
    (void)ev;
    k->accepted++;
    check_done(k);
}

static void on_wake(void *ud, const muon_event *ev) {
    struct lp *l = ud;
    (void)ev;
    CHECK(pthread_equal(pthread_self(), l->thread));
    l->wakes++;
}

static void keepalive(void *ud, const muon_event *ev) {
    (void)ud, (void)ev;
    CHECK(!"the run did not end in time");
}

/* Posted by the storms. */
static void storm_job(void *context) {
    struct lp *l = context;
    CHECK(pthread_equal(pthread_self(), l->thread));
    l->posts_run++;
}

static void handoff_job(void *context) {
    struct handoff *h = context;
    int64_t n = 0;
    CHECK(pthread_equal(pthread_self(), h->l->thread));
    OK(muon_value_get_long(muon_message_body(h->m), &n));
    CHECK(n == h->n);
    CHECK_STR(muon_message_subject(h->m), "handed over");
    muon_message_free(h->m);
    h->l->messages_handed++;
    free(h);
}

/* Posted by main once the storms have ended: every storm post ran before
 * it (posts run in order), and the loop may end. */
static void finish_job(void *context) {
    struct lp *l = context;
    l->finished = 1;
    OK(muon_timer_cancel(l->keepalive));
}

static void *loop_thread(void *arg) {
    struct lp *l = arg;
    muon_link_options *window;
    OK(muon_loop_new(&l->loop));
    muon_handler d = MUON_HANDLER_INIT;
    d.on_wake = on_wake;
    d.on_disconnected = fail;
    d.on_link_remote_close = fail;
    d.on_rejected = fail;
    d.on_released = fail;
    d.on_modified = fail;
    d.on_message_error = fail;
    OK(muon_loop_set_handler(l->loop, &d, l));
    muon_handler t = MUON_HANDLER_INIT;
    t.on_timer = keepalive;
    OK(muon_loop_schedule(l->loop, 3600u * 1000u, &t, l, &l->keepalive));
    OK(muon_link_options_new(&window));
    OK(muon_link_options_set_credit_window(window, 500));
    muon_handler h = MUON_HANDLER_INIT;
    h.on_link_flow = on_link_flow;
    h.on_message = on_message;
    h.on_accepted = on_accepted;
    h.on_connection_remote_close = on_connection_remote_close;
    long all = (long)n_loops * n_conns;
    for (int i = 0; i < n_conns; i++) {
        struct conn *k = &l->conns[i];
        long nth = (long)l->index * n_conns + i;
        k->l = l;
        k->id = i;
        k->to_send = n_messages / all + (nth < n_messages % all ? 1 : 0);
        snprintf(k->queue, sizeof k->queue, "threads-%d-%d", l->index, i);
        OK(muon_message_new(&k->msg));
        OK(muon_loop_connect(l->loop, url, NULL, &h, k, &k->c));
        OK(muon_connection_open_receiver(k->c, k->queue, window, NULL, NULL, NULL));
        OK(muon_connection_open_sender(k->c, k->queue, NULL, NULL, NULL, NULL));
        if (k->to_send == 0) {
            k->done = 1;
            OK(muon_connection_close(k->c));
            if (++l->conns_done == n_conns) atomic_fetch_add(&loops_done, 1);
        }
    }
    muon_link_options_free(window);
    pthread_barrier_wait(&made);
    OK(muon_loop_run(l->loop));
    CHECK(l->finished);
    /* finish_job can run, and the loop end, before main's muon_loop_post
     * that carried it has returned: no loop is freed while another thread
     * may still be in a post or wake for it. */
    pthread_barrier_wait(&posted);
    for (int i = 0; i < n_conns; i++) muon_message_free(l->conns[i].msg);
    muon_loop_free(l->loop);
    return NULL;
}

static void *storm_thread(void *arg) {
    struct storm *s = arg;
    long round = 0;
    while (!atomic_load(&storms_stop)) {
        for (int i = 0; i < n_loops; i++) {
            for (int j = 0; j < 20; j++) {
                OK(muon_loop_post(loops[i].loop, storm_job, &loops[i]));
                s->posts[i]++;
            }
            OK(muon_loop_wake(loops[i].loop));
            if (round % 8 == 0) {
                struct handoff *h = malloc(sizeof *h);
                CHECK(h != NULL);
                h->l = &loops[i];
                h->n = round;
                OK(muon_message_new(&h->m));
                OK(muon_message_set_subject(h->m, "handed over"));
                muon_value *v = NULL;
                OK(muon_value_long(round, &v));
                OK(muon_message_set_body(h->m, v));
                OK(muon_loop_post(loops[i].loop, handoff_job, h));
                s->handoffs[i]++;
            }
        }
        round++;
        sleep_us(200);
    }
    return NULL;
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: threads_broker PORT LOOPS CONNS MESSAGES STORMS SECONDS\n");
        return 2;
    }
    snprintf(url, sizeof url, "127.0.0.1:%s", argv[1]);
    n_loops = atoi(argv[2]);
    n_conns = atoi(argv[3]);
    n_messages = atol(argv[4]);
    n_storms = atoi(argv[5]);
    alarm((unsigned)atoi(argv[6]));
    CHECK(n_loops >= 1 && n_loops <= MAX_LOOPS && n_conns >= 1 && n_conns <= MAX_CONNS);
    CHECK(n_storms >= 0 && n_storms <= MAX_STORMS && n_messages >= 0);
    double t0 = now_s();

    CHECK(pthread_barrier_init(&made, NULL, (unsigned)n_loops + 1) == 0);
    CHECK(pthread_barrier_init(&posted, NULL, (unsigned)n_loops + 1) == 0);
    for (int i = 0; i < n_loops; i++) {
        loops[i].index = i;
        CHECK(pthread_create(&loops[i].thread, NULL, loop_thread, &loops[i]) == 0);
    }
    /* Every loop is made (the storms need their pointers). */
    pthread_barrier_wait(&made);
    for (int i = 0; i < n_storms; i++) {
        storms[i].index = i;
        CHECK(pthread_create(&storms[i].thread, NULL, storm_thread, &storms[i]) == 0);
    }
    while (atomic_load(&loops_done) < n_loops) sleep_us(2000);
    double t1 = now_s();
    atomic_store(&storms_stop, 1);
    for (int i = 0; i < n_storms; i++) CHECK(pthread_join(storms[i].thread, NULL) == 0);
    for (int i = 0; i < n_loops; i++) OK(muon_loop_post(loops[i].loop, finish_job, &loops[i]));
    pthread_barrier_wait(&posted);
    for (int i = 0; i < n_loops; i++) CHECK(pthread_join(loops[i].thread, NULL) == 0);

    long received = 0, accepted = 0, posts = 0, handoffs = 0;
    for (int i = 0; i < n_loops; i++) {
        long want_posts = 0, want_handoffs = 0;
        for (int j = 0; j < n_storms; j++) {
            want_posts += storms[j].posts[i];
            want_handoffs += storms[j].handoffs[i];
        }
        CHECK(loops[i].posts_run == want_posts);
        CHECK(loops[i].messages_handed == want_handoffs);
        CHECK(n_storms == 0 || loops[i].wakes >= 1);
        for (int k = 0; k < n_conns; k++) {
            struct conn *c = &loops[i].conns[k];
            CHECK(c->received == c->to_send && c->accepted == c->to_send && c->sent == c->to_send);
            received += c->received;
            accepted += c->accepted;
        }
        posts += loops[i].posts_run;
        handoffs += loops[i].messages_handed;
    }
    CHECK(received == n_messages && accepted == n_messages);
    printf("threads_broker: %d loops x %d connections: %ld messages received and accepted in "
           "%.1f s (%.0f/s); %ld posts and %ld messages handed over by %d storm threads\n",
           n_loops, n_conns, received, t1 - t0, (double)received / (t1 - t0), posts, handoffs,
           n_storms);
    puts("threads_broker: ok");
    return 0;
}
