/*
 * rr_server.c: request/response latency, the muon server. Does the work of
 * Proton's examples/cpp/server.cpp (default: connects to a broker at
 * HOST:PORT and serves requests arriving at ADDRESS) and server_direct.cpp
 * (--listen: listens on HOST:PORT and names each dynamic reply node a client
 * asks for): each request's string body is upper-cased and sent to its
 * reply-to address with the request's correlation-id, and "Received <body>"
 * is printed.
 *
 * usage: rr_server HOST PORT ADDRESS [--listen]
 */
#include "bench.h"

#include <ctype.h>

#define MAX_REPLY_LINKS 64
#define MAX_PENDING 64

struct reply_link {
    char addr[128];
    muon_sender snd;
    muon_message *pending[MAX_PENDING];
    int npending;
};

struct app {
    muon_connection conn; /* connect mode: the broker connection */
    int listen_mode, next_node;
    muon_message *reply;
    struct reply_link links[MAX_REPLY_LINKS];
    int nlinks;
};

static void fail(const char *what, const muon_event *ev) {
    const muon_condition *c = muon_event_condition(ev);
    fprintf(stderr, "rr_server: %s: %s: %s\n", what, c ? muon_condition_name(c) : "-",
            c ? muon_condition_description(c) : "");
    exit(1);
}

static struct reply_link *find_addr(struct app *a, const char *addr) {
    for (int i = 0; i < a->nlinks; ++i)
        if (strcmp(a->links[i].addr, addr) == 0) return &a->links[i];
    return NULL;
}

static struct reply_link *add_link(struct app *a, const char *addr, muon_sender s) {
    if (a->nlinks == MAX_REPLY_LINKS) {
        fprintf(stderr, "rr_server: too many reply links\n");
        exit(1);
    }
    struct reply_link *l = &a->links[a->nlinks++];
    snprintf(l->addr, sizeof l->addr, "%s", addr);
    l->snd = s;
    return l;
}

static void flush(struct reply_link *l) {
    int i = 0;
    while (i < l->npending && muon_sender_credit(l->snd) > 0) {
        CHECK(muon_sender_send(l->snd, l->pending[i], NULL));
        muon_message_free(l->pending[i++]);
    }
    memmove(l->pending, l->pending + i, (size_t)(l->npending - i) * sizeof l->pending[0]);
    l->npending -= i;
}

/* server_direct: name the dynamic node a client's reply receiver asks for. */
static void on_link_remote_attach(void *ud, const muon_event *ev) {
    struct app *a = ud;
    muon_sender s = muon_event_sender(ev);
    if (muon_event_is_receiver(ev) || !muon_terminus_is_dynamic(muon_sender_remote_source(s))) return;
    char name[64];
    snprintf(name, sizeof name, "server%d", a->next_node++);
    CHECK(muon_sender_set_source_address(s, name));
    add_link(a, name, s);
}

static void on_link_flow(void *ud, const muon_event *ev) {
    struct app *a = ud;
    muon_sender s = muon_event_sender(ev);
    for (int i = 0; i < a->nlinks; ++i)
        if (a->links[i].snd.index == s.index && a->links[i].snd.generation == s.generation)
            flush(&a->links[i]);
}

static void on_message(void *ud, const muon_event *ev) {
    struct app *a = ud;
    const muon_message *m = muon_event_message(ev);
    muon_bytes text;
    CHECK(muon_value_get_string(muon_message_body(m), &text));
    char upper[1024];
    size_t n = text.len < sizeof upper - 1 ? text.len : sizeof upper - 1;
    for (size_t i = 0; i < n; ++i) upper[i] = (char)toupper(text.ptr[i]);
    upper[n] = 0;
    printf("Received %.*s\n", (int)text.len, (const char *)text.ptr);

    const char *reply_to = muon_message_reply_to(m);
    if (!reply_to) return;
    struct reply_link *l = find_addr(a, reply_to);
    if (!l) {
        if (a->listen_mode) {
            printf("No link for reply_to: %s\n", reply_to);
            return;
        }
        muon_sender s;
        CHECK(muon_connection_open_sender(a->conn, reply_to, NULL, NULL, NULL, &s));
        l = add_link(a, reply_to, s);
    }
    CHECK(muon_message_set_to(a->reply, reply_to));
    CHECK(muon_message_set_body_string(a->reply, upper));
    const muon_value *cid = muon_message_correlation_id(m);
    muon_value *cid_copy = NULL;
    if (cid) CHECK(muon_value_clone(cid, &cid_copy));
    CHECK(muon_message_set_correlation_id(a->reply, cid_copy));
    if (l->npending == 0 && muon_sender_credit(l->snd) > 0) {
        CHECK(muon_sender_send(l->snd, a->reply, NULL));
    } else if (l->npending < MAX_PENDING) {
        CHECK(muon_message_clone(a->reply, &l->pending[l->npending++]));
    } else {
        fprintf(stderr, "rr_server: reply backlog full\n");
        exit(1);
    }
}

static void on_listener_open(void *ud, const muon_event *ev) {
    (void)ud;
    printf("listening on %u\n", (unsigned)muon_listener_port(muon_event_listener(ev)));
    fflush(stdout);
}

static void on_remote_close(void *ud, const muon_event *ev) {
    (void)ud;
    if (muon_event_condition(ev)) fail("closed by peer", ev);
}

static void on_connection_final(void *ud, const muon_event *ev) {
    struct app *a = ud;
    (void)ev;
    /* server_direct: the client is gone; forget its reply links. */
    if (a->listen_mode) {
        for (int i = 0; i < a->nlinks; ++i)
            for (int j = 0; j < a->links[i].npending; ++j) muon_message_free(a->links[i].pending[j]);
        a->nlinks = 0;
    }
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s HOST PORT ADDRESS [--listen]\n", argv[0]);
        return 2;
    }
    struct app a = {0};
    char url[256];
    bench_hostport(url, sizeof url, argv[1], argv[2]);
    a.listen_mode = bench_flag(argc, argv, 4, "listen");
    CHECK(muon_message_new(&a.reply));
    muon_loop *loop = NULL;
    CHECK(muon_loop_new(&loop));
    if (!loop || !a.reply) return 1;

    muon_handler h = MUON_HANDLER_INIT;
    h.on_link_remote_attach = on_link_remote_attach;
    h.on_link_flow = on_link_flow;
    h.on_message = on_message;
    h.on_connection_remote_close = on_remote_close;
    h.on_link_remote_close = on_remote_close;
    h.on_connection_final = on_connection_final;
    if (a.listen_mode) {
        h.on_listener_open = on_listener_open;
        CHECK(muon_loop_listen(loop, url, NULL, &h, &a, NULL));
    } else {
        CHECK(muon_loop_connect(loop, url, NULL, &h, &a, &a.conn));
        CHECK(muon_connection_open_receiver(a.conn, argv[3], NULL, NULL, NULL, NULL));
    }
    muon_result rc = muon_loop_run(loop);
    muon_loop_free(loop);
    muon_message_free(a.reply);
    return rc == MUON_RESULT_OK ? 0 : 1;
}
