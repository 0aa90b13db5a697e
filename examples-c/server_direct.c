/*
 * server_direct.c: request/response without a broker, on every core.
 *
 * Listens at the URL and answers each request with its body in upper case,
 * as server.c does through a broker: the clients connect here, send their
 * requests to any address, and receive the responses on a dynamic receiver,
 * whose node this program names (as Qpid Proton's server_direct does). A
 * response carries the request's correlation-id (its message-id when it
 * has none); a request without reply-to, or with one that names no node of
 * its connection, is rejected.
 *
 * With -t THREADS, THREADS loops, each on a thread of its own, listen on
 * the same port (muon_connection_options_set_reuse_port): the kernel
 * spreads the connections among them, and each connection is served, from
 * accept to end, by the loop that accepted it, so nothing is shared
 * between the threads but the signals' route to them. Runs until SIGINT or
 * SIGTERM (exit 0).
 *
 *   server_direct [-a URL] [-t THREADS]   URL defaults to localhost:5672;
 *                                         port 0 picks a free port;
 *                                         THREADS defaults to 1
 *
 * Prints "listening on PORT" when port 0 was asked for, else nothing
 * unless something goes wrong.
 */
#define _POSIX_C_SOURCE 200809L
#include "common.h"

#include <ctype.h>
#include <pthread.h>

#define MAX_THREADS 256

/* One loop and what it serves: the reply nodes it named, each the source
 * of a sender to one client, and its accepted connections. */
struct node {
    char name[32];
    muon_sender sender;
};
struct server {
    muon_loop *loop;
    muon_listener listener;
    pthread_t thread;
    int index;
    unsigned long next_node;
    struct node *nodes;
    size_t n_nodes, cap_nodes;
    muon_connection *conns;
    size_t n_conns, cap_conns;
    muon_result rc;
};

static struct server servers[MAX_THREADS];
static long threads = 1;

#define SAME(a, b) ((a).owner == (b).owner && (a).index == (b).index && \
                    (a).generation == (b).generation)
#define PUSH(arr, n, cap, v) do { \
    if ((n) == (cap)) { \
        (cap) = (cap) ? 2 * (cap) : 16; \
        (arr) = realloc((arr), (cap) * sizeof *(arr)); \
        if ((arr) == NULL) { fprintf(stderr, "%s: out of memory\n", program); exit(1); } \
    } \
    (arr)[(n)++] = (v); \
} while (0)

/* A client's dynamic receiver asks for a node: name it, and remember which
 * sender serves it. */
static void on_link_remote_attach(void *app, const muon_event *ev) {
    struct server *s = app;
    struct node n = {.sender = muon_event_sender(ev)};
    if (muon_event_is_receiver(ev) || !muon_terminus_is_dynamic(muon_sender_remote_source(n.sender)))
        return;
    snprintf(n.name, sizeof n.name, "replies-%d-%lu", s->index, s->next_node++);
    CHECK(muon_sender_set_source_address(n.sender, n.name));
    PUSH(s->nodes, s->n_nodes, s->cap_nodes, n);
}

static void on_link_final(void *app, const muon_event *ev) {
    struct server *s = app;
    for (size_t i = 0; i < s->n_nodes; i++)
        if (!muon_event_is_receiver(ev) && SAME(s->nodes[i].sender, muon_event_sender(ev)))
            s->nodes[i] = s->nodes[--s->n_nodes];
}

static void on_connection_accepted(void *app, const muon_event *ev) {
    struct server *s = app;
    PUSH(s->conns, s->n_conns, s->cap_conns, muon_event_connection(ev));
}

static void on_connection_final(void *app, const muon_event *ev) {
    struct server *s = app;
    for (size_t i = 0; i < s->n_conns; i++)
        if (SAME(s->conns[i], muon_event_connection(ev))) s->conns[i] = s->conns[--s->n_conns];
}

static void on_message(void *app, const muon_event *ev) {
    struct server *s = app;
    const muon_message *request = muon_event_message(ev);
    const char *to = muon_message_reply_to(request);
    const muon_value *id = muon_message_correlation_id(request);
    muon_value *cid = NULL;
    muon_message *reply;
    char text[4096]; /* not common.h's body_of: its buffer would be shared by the threads */
    for (size_t i = 0; to != NULL && i < s->n_nodes; i++) {
        if (strcmp(s->nodes[i].name, to) != 0) continue;
        muon_value_format(muon_message_body(request), text, sizeof text);
        for (char *c = text; *c; c++) *c = (char)toupper((unsigned char)*c);
        if (id == NULL) id = muon_message_id(request);
        if (id != NULL) CHECK(muon_value_clone(id, &cid));
        CHECK(muon_message_new(&reply));
        CHECK(muon_message_set_body_string(reply, text));
        CHECK(muon_message_set_to(reply, to));
        CHECK(muon_message_set_correlation_id(reply, cid));
        CHECK(muon_sender_send(s->nodes[i].sender, reply, NULL)); /* queued until credit */
        muon_message_free(reply);
        return;
    }
    CHECK(muon_delivery_reject(muon_event_delivery(ev), "amqp:precondition-failed",
                               to ? "no such reply node" : "no reply-to"));
}

/* A peer's connection failing is the peer's affair: say so and go on. */
static void on_peer_trouble(void *app, const muon_event *ev) {
    const muon_condition *c = muon_event_condition(ev);
    (void)app;
    if (c != NULL)
        fprintf(stderr, "%s: a peer's connection: %s: %s\n", program, muon_condition_name(c),
                muon_condition_description(c));
}

/* Run on each loop's own thread (posted there): stop listening and close
 * what is open, so that the loop ends. */
static void stop(void *context) {
    struct server *s = context;
    (void)muon_listener_close(s->listener);
    for (size_t i = 0; i < s->n_conns; i++) (void)muon_connection_close(s->conns[i]);
}

/* SIGINT or SIGTERM, on the first loop: every loop stops. */
static void on_signal(void *app, const muon_event *ev) {
    (void)app, (void)ev;
    for (long i = 0; i < threads; i++) CHECK(muon_loop_post(servers[i].loop, stop, &servers[i]));
}


static pthread_barrier_t started, ended;
static char at[300]; /* where the servers after the first listen */

/* Makes a server's loop and listener, on the thread that runs them. */
static void start(struct server *s, const char *where) {
    muon_connection_options *o = connection_options();
    CHECK(muon_connection_options_set_reuse_port(o, threads > 1));
    CHECK(muon_loop_new(&s->loop));
    CHECK(muon_loop_listen(s->loop, where, o, HANDLER(.on_link_remote_attach = on_link_remote_attach,
        .on_link_final = on_link_final, .on_connection_accepted = on_connection_accepted,
        .on_connection_final = on_connection_final, .on_message = on_message,
        .on_connection_remote_close = on_peer_trouble, .on_disconnected = on_peer_trouble),
        s, &s->listener));
    muon_connection_options_free(o);
}

/* Runs a server's loop once every loop is made; frees it once every loop
 * has ended, so that on_signal never posts to a freed loop. */
static void run_server(struct server *s) {
    pthread_barrier_wait(&started);
    s->rc = muon_loop_run(s->loop);
    pthread_barrier_wait(&ended);
    muon_loop_free(s->loop);
}

static void *serve(void *arg) {
    start(arg, at);
    run_server(arg);
    return NULL;
}

int main(int argc, char **argv) {
    char *end = NULL;
    int status = 0;
    for (int i = 1; i + 1 < argc; i++) { /* -t THREADS here; setup() reads the other options */
        if (strcmp(argv[i], "-t") != 0) continue;
        threads = strtol(argv[i + 1], &end, 10);
        if (*argv[i + 1] == 0 || *end || threads < 1 || threads > MAX_THREADS) {
            fprintf(stderr, "server_direct: -t %s: not a number from 1 to %d\n", argv[i + 1],
                    MAX_THREADS);
            exit(2);
        }
        memmove(argv + i, argv + i + 2, (size_t)(argc - i - 1) * sizeof *argv);
        argc -= 2;
        i--;
    }
    url_text = "localhost:5672";
    setup("server_direct", argc, argv, "Listens at the URL and answers each request with its "
          "body in upper case. Port 0 picks a free port.\n  -t     THREADS serve on THREADS "
          "loops, one per thread, sharing the port (default 1)", NULL, NULL, NULL);
    muon_loop_free(loop); /* common.h's loop takes no part: each server makes its own */
    start(&servers[0], url_text);
    if (muon_url_port(url) == 0) printf("listening on %d\n", muon_listener_port(servers[0].listener));
    fflush(stdout);
    snprintf(at, sizeof at, strchr(muon_url_host(url), ':') ? "%s://[%s]:%u" : "%s://%s:%u",
             muon_url_scheme(url), muon_url_host(url),
             (unsigned)muon_listener_port(servers[0].listener));
    CHECK(muon_loop_set_handler(servers[0].loop, HANDLER(.on_wake = on_signal), NULL));
    CHECK(muon_loop_wake_on_signal(servers[0].loop, SIGINT));
    CHECK(muon_loop_wake_on_signal(servers[0].loop, SIGTERM));
    pthread_barrier_init(&started, NULL, (unsigned)threads);
    pthread_barrier_init(&ended, NULL, (unsigned)threads);
    for (int i = 1; i < threads; i++) {
        servers[i].index = i;
        if (pthread_create(&servers[i].thread, NULL, serve, &servers[i]) != 0) {
            fprintf(stderr, "%s: cannot start thread %d\n", program, i);
            exit(1);
        }
    }
    run_server(&servers[0]);
    for (int i = 0; i < threads; i++) {
        if (i > 0) pthread_join(servers[i].thread, NULL);
        if (servers[i].rc != MUON_RESULT_OK) {
            fprintf(stderr, "%s: %s\n", program, muon_result_message(servers[i].rc));
            status = 1;
        }
        free(servers[i].nodes);
        free(servers[i].conns);
    }
    pthread_barrier_destroy(&started);
    pthread_barrier_destroy(&ended);
    muon_url_free(url);
    return status;
}
