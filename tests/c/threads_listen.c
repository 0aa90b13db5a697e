/* A listener shared by several loops (run by tests/threads.rs, under
 * ThreadSanitizer too): LOOPS loops, each on a thread of its own, listen on
 * the same port with muon_connection_options_set_reuse_port (the first on
 * port 0, the others on the port it got); without the option, a second
 * listener on that port is refused with MUON_RESULT_ADDRESS_IN_USE. A
 * client loop on the main thread then opens CONNECTIONS connections to the
 * port, each sending one message; every connection is accepted by exactly
 * one of the loops, its events (accept, open, message, final) all come on
 * that loop's thread, and the kernel spreads them: at least two loops get
 * some.
 *
 *   threads_listen LOOPS CONNECTIONS
 *
 * Prints how many connections each loop accepted, then
 * "threads_listen: ok". */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>

#include "api_check.h"

#define MAX_LOOPS 32

struct server {
    int index;
    pthread_t thread;
    muon_loop *loop;
    muon_listener listener;
    /* Touched on the loop's thread only (read by main after the join). */
    int accepted, opened, messages, finals;
};

static struct server servers[MAX_LOOPS];
static int n_loops, n_conns;
static atomic_uint port;
static pthread_barrier_t listening, posted;

/* The client's side. */
static int client_opened, client_accepted, client_finals;
static muon_connection *client_conns;

static void on_server_event(void *ud, const muon_event *ev) {
    struct server *s = ud;
    CHECK(pthread_equal(pthread_self(), s->thread));
    CHECK(muon_event_connection(ev).owner == s->loop);
    switch (muon_event_get_kind(ev)) {
    case MUON_EVENT_KIND_CONNECTION_ACCEPTED:
        CHECK(SAME(muon_event_listener(ev), s->listener));
        s->accepted++;
        break;
    case MUON_EVENT_KIND_CONNECTION_REMOTE_OPEN: s->opened++; break;
    case MUON_EVENT_KIND_MESSAGE: s->messages++; break;
    case MUON_EVENT_KIND_CONNECTION_FINAL: s->finals++; break;
    default: break;
    }
}

/* Posted by main once the client is done: the loop may end. */
static void stop(void *context) {
    struct server *s = context;
    CHECK(pthread_equal(pthread_self(), s->thread));
    OK(muon_listener_close(s->listener));
}

static void *server_thread(void *arg) {
    struct server *s = arg;
    muon_connection_options *o;
    char at[64];
    OK(muon_loop_new(&s->loop));
    OK(muon_connection_options_new(&o));
    OK(muon_connection_options_set_reuse_port(o, true));
    muon_handler h = MUON_HANDLER_INIT;
    h.on_connection_accepted = on_server_event;
    h.on_connection_remote_open = on_server_event;
    h.on_message = on_server_event;
    h.on_connection_final = on_server_event;
    if (s->index == 0) {
        OK(muon_loop_listen(s->loop, "127.0.0.1:0", o, &h, s, &s->listener));
        atomic_store(&port, muon_listener_port(s->listener));
        CHECK(atomic_load(&port) != 0);
    }
    pthread_barrier_wait(&listening); /* the first one has its port */
    snprintf(at, sizeof at, "127.0.0.1:%u", atomic_load(&port));
    if (s->index == 1) {
        /* Without the option, the port is taken. */
        muon_listener refused = {0};
        CHECK_RC(muon_loop_listen(s->loop, at, NULL, &h, s, &refused), MUON_RESULT_ADDRESS_IN_USE);
        CHECK(IS_NULL_HANDLE(refused));
    }
    if (s->index != 0) {
        OK(muon_loop_listen(s->loop, at, o, &h, s, &s->listener));
        CHECK(muon_listener_port(s->listener) == atomic_load(&port));
    }
    muon_connection_options_free(o);
    pthread_barrier_wait(&listening); /* every loop listens */
    OK(muon_loop_run(s->loop));
    /* The stop function can run, and the loop end, before main's
     * muon_loop_post that carried it has returned: no loop is freed while
     * another thread may still be in a post or wake for it. */
    pthread_barrier_wait(&posted);
    muon_loop_free(s->loop);
    return NULL;
}

static void on_client_open(void *ud, const muon_event *ev) {
    (void)ud;
    muon_connection c = muon_event_connection(ev);
    muon_sender snd;
    muon_message *m;
    client_opened++;
    OK(muon_connection_open_sender(c, "spread", NULL, NULL, NULL, &snd));
    OK(muon_message_new(&m));
    OK(muon_message_set_body_string(m, "which loop?"));
    OK(muon_sender_send(snd, m, NULL)); /* queued until credit */
    muon_message_free(m);
}

static void on_client_accepted(void *ud, const muon_event *ev) {
    (void)ud, (void)ev;
    /* Each connection closes once its message is accepted. */
    OK(muon_connection_close(muon_sender_connection(muon_event_sender(ev))));
    client_accepted++;
}

static void on_client_final(void *ud, const muon_event *ev) {
    (void)ud, (void)ev;
    client_finals++;
}

static void client_fail(void *ud, const muon_event *ev) {
    const muon_condition *c = muon_event_condition(ev);
    (void)ud;
    fprintf(stderr, "threads_listen: client: %s: %s\n", c ? muon_condition_name(c) : "-",
            c ? muon_condition_description(c) : "");
    exit(1);
}

int main(int argc, char **argv) {
    alarm(60);
    if (argc != 3) {
        fprintf(stderr, "usage: threads_listen LOOPS CONNECTIONS\n");
        return 2;
    }
    n_loops = atoi(argv[1]);
    n_conns = atoi(argv[2]);
    CHECK(n_loops >= 2 && n_loops <= MAX_LOOPS && n_conns >= 1);
    CHECK(pthread_barrier_init(&listening, NULL, (unsigned)n_loops + 1) == 0);
    CHECK(pthread_barrier_init(&posted, NULL, (unsigned)n_loops + 1) == 0);
    for (int i = 0; i < n_loops; i++) {
        servers[i].index = i;
        CHECK(pthread_create(&servers[i].thread, NULL, server_thread, &servers[i]) == 0);
    }
    pthread_barrier_wait(&listening);
    pthread_barrier_wait(&listening);

    muon_loop *client;
    char at[64];
    snprintf(at, sizeof at, "127.0.0.1:%u", atomic_load(&port));
    OK(muon_loop_new(&client));
    muon_handler h = MUON_HANDLER_INIT;
    h.on_connection_remote_open = on_client_open;
    h.on_accepted = on_client_accepted;
    h.on_connection_final = on_client_final;
    h.on_disconnected = client_fail;
    h.on_rejected = client_fail;
    h.on_released = client_fail;
    client_conns = calloc((size_t)n_conns, sizeof *client_conns);
    CHECK(client_conns != NULL);
    for (int i = 0; i < n_conns; i++)
        OK(muon_loop_connect(client, at, NULL, &h, NULL, &client_conns[i]));
    OK(muon_loop_run(client));
    CHECK(client_opened == n_conns && client_accepted == n_conns && client_finals == n_conns);
    muon_loop_free(client);
    free(client_conns);

    for (int i = 0; i < n_loops; i++) OK(muon_loop_post(servers[i].loop, stop, &servers[i]));
    pthread_barrier_wait(&posted);
    int accepted = 0, used = 0;
    printf("threads_listen: connections per loop:");
    for (int i = 0; i < n_loops; i++) {
        struct server *s = &servers[i];
        CHECK(pthread_join(s->thread, NULL) == 0);
        CHECK(s->opened == s->accepted && s->messages == s->accepted && s->finals == s->accepted);
        accepted += s->accepted;
        used += s->accepted > 0;
        printf(" %d", s->accepted);
    }
    printf("\n");
    CHECK(accepted == n_conns);
    CHECK(used >= 2);
    puts("threads_listen: ok");
    return 0;
}
