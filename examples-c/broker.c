/*
 * broker.c: a small AMQP 1.0 broker, written against muon's public C API.
 *
 * It is what the tutorial's programs run against. It listens on -a
 * host:port (port 0 picks a free port) and prints "listening on PORT".
 *
 *   - A queue is made on first use of an address, by a producer or a consumer.
 *   - A consumer asking for a dynamic source gets a new queue with a unique
 *     address, deleted when that consumer goes (request/response reply-to).
 *   - A producer that attaches without a target address is an anonymous
 *     relay: each message goes to the queue named by its "to" property
 *     (offered as the ANONYMOUS-RELAY connection capability).
 *   - Messages go round-robin to a queue's consumers, within their credit.
 *   - A message is kept until its consumer settles it: accepted, it is
 *     dropped; rejected, dropped and counted; released or modified, or its
 *     consumer detaching or disconnecting first, it goes back to the head of
 *     its queue, in its original order (at-least-once).
 *   - Producers get credit in batches of PRODUCER_WINDOW (topped up when half
 *     is used), so a fast producer is never idle waiting for it. A queue that
 *     holds -b BYTES of messages (default 256 MiB) or -m MAX messages
 *     (default: no count limit) stops topping up the credit of the producers
 *     sending to it until it drains to half, and says so on stderr: memory
 *     stays bounded and a producer runs at its consumers' pace. Credit is
 *     never taken back (a credit cut races with transfers in flight, and
 *     Qpid Proton's senders keep sending on the negative credit it leaves),
 *     so a queue may pass its bound by the credit its producers still hold
 *     and what they already sent on it: up to twice PRODUCER_WINDOW
 *     messages each (measured: a queue bounded at 100 held 2,000). Topic
 *     subscriptions are bounded the same way.
 *   - Transactions: messages posted in one join their queue on commit,
 *     messages accepted in one are delivered again on rollback
 *     (broker_txn.h).
 *   - Selectors, browsing (distribution mode copy), topics ("topic://"
 *     addresses) and durable subscriptions: see broker_select.h.
 *   - Many connections are served at once, on one thread.
 *   - SIGINT or SIGTERM closes the listener and every connection and stops.
 *   - SIGUSR1 prints a summary on stderr: a line per queue (depth,
 *     consumers, messages in and out, and their rates since the last
 *     summary) and per connection (muon's statistics: bytes, messages,
 *     unsettled, time connected, SASL and TLS). With -v, also on exit.
 *
 *   broker [-a HOST:PORT] [-b BYTES] [-m MAX] [-v]
 *                                  default localhost:5672; -b the most
 *                                  message bytes a queue holds before its
 *                                  producers wait (K, M, G suffixes; 0: no
 *                                  limit), -m the most messages; -v logs
 *                                  connections and links on stderr
 */
#define _POSIX_C_SOURCE 200809L /* SIGUSR1, clock_gettime */
#include "broker_util.h"
#include "broker_auth.h"

#include <errno.h>
#include <time.h>

#define TEMP_PREFIX "temp."
#define PRODUCER_WINDOW 1000  /* as ActiveMQ Artemis's default AMQP credit */
#define DEFAULT_MAX_BYTES (256ull << 20)
#define USAGE                                                                           \
    "[-a [amqps://]HOST:PORT] [-b BYTES] [-m MAX] [-v]\n"                                 \
    "       [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE [--tls-require-client-cert]]\n"  \
    "        [--tls-insecure-allow-plain]]\n"                                                   \
    "       [--users FILE [--allow-anonymous]] [--acl FILE]\n"                                \
    "   or: broker --hash-password NAME   (password on stdin; prints NAME's --users line)"

struct node {             /* a message waiting in a queue, or in flight */
    muon_message *msg;
    unsigned long long seq;  /* arrival order: a returned message goes back in its place */
    size_t bytes;            /* its encoded size */
    muon_delivery delivery; /* in flight: the delivery it went out as */
    struct node *next;
};

struct queue {
    char *name;
    bool dynamic;                    /* deleted with its consumer */
    struct node *head, *tail;        /* waiting messages */
    size_t depth;                    /* how many are waiting */
    size_t bytes;                    /* their encoded size */
    size_t n_blocked;                /* producers waiting for it to drain */
    char *topic;                     /* a subscription: the topic it copies (broker_select.h) */
    bool durable;                    /* a durable subscription: outlives its consumer */
    struct link **consumers;         /* round-robin, within credit */
    size_t n_consumers, cap_consumers, next;
    unsigned long long in, out;      /* messages queued; gone for good (settled) */
    unsigned long long in_seen, out_seen; /* at the last summary */
    struct queue *next_queue;
};

enum link_kind { CONSUMER, PRODUCER };

struct link {              /* userdata of each link's handler */
    enum link_kind kind;
    struct broker *b;
    struct conn *conn;
    muon_sender sender;      /* CONSUMER: the broker sends on it */
    muon_receiver receiver;  /* PRODUCER: the broker receives on it */
    struct queue *queue;     /* CONSUMER: its queue (NULL before open) */
    char *address;           /* CONSUMER: the source; PRODUCER: the target or NULL */
    struct node *unsettled, *unsettled_tail; /* CONSUMER: sent, not settled */
    bool closing;            /* CONSUMER: detached by the peer, or failing */
    bool credited;           /* CONSUMER: its first credit arrived (logged once) */
    bool denied;             /* the access rules refuse it: closed once open */
    struct queue *blocked_on; /* PRODUCER: credit taken back until it drains */
    muon_selector *selector; /* CONSUMER: only the messages it matches (NULL: all) */
    bool browse;             /* CONSUMER: distribution mode copy: takes nothing away */
    unsigned long long browsed; /* CONSUMER browsing: the last seq it saw */
    char *refusal;           /* CONSUMER: why its attach is refused (a bad selector) */
    struct link *next_link;  /* in conn->links */
};

struct conn {
    muon_connection handle;
    unsigned id;
    struct link *links;
    struct conn *next_conn;
};

struct broker {
    muon_loop *loop;
    muon_listener listener;
    struct queue *queues;
    struct conn *conns;
    unsigned next_conn_id, next_temp_id;
    unsigned long long next_seq;
    unsigned long rejected;
    struct acl acl;          /* --acl */
    size_t max_depth;        /* messages a queue holds before producers wait; 0: any */
    unsigned long long max_bytes; /* bytes a queue holds before producers wait; 0: any */
    bool verbose, stopping;
    unsigned long long usr1_seen, stop_seen; /* muon_signal_count at the last wake */
    double summary_at;       /* seconds (monotonic) of the last summary, or the start */
};

#define LOG(b, ...) \
    do { if ((b)->verbose) { fprintf(stderr, "broker: " __VA_ARGS__); fputc('\n', stderr); } } while (0)

static bool same_delivery(muon_delivery a, muon_delivery b) {
    return a.owner == b.owner && a.index == b.index && a.generation == b.generation;
}

/* ---- queues ---------------------------------------------------------------- */

static struct queue *find_queue(struct broker *b, const char *name, bool create) {
    for (struct queue *q = b->queues; q != NULL; q = q->next_queue) {
        if (strcmp(q->name, name) == 0) return q;
    }
    /* Temporary addresses exist only while their consumer does. */
    if (!create || strncmp(name, TEMP_PREFIX, strlen(TEMP_PREFIX)) == 0) return NULL;
    struct queue *q = calloc(1, sizeof *q);
    if (q == NULL) exit(1);
    q->name = copy_text(name);
    q->next_queue = b->queues;
    b->queues = q;
    LOG(b, "queue %s created", name);
    return q;
}

static void push_tail(struct queue *q, struct node *n) {
    q->depth++;
    q->bytes += n->bytes;
    n->next = NULL;
    if (q->tail) q->tail->next = n; else q->head = n;
    q->tail = n;
}

/* Returns a message to the head of its queue, before any that arrived after it. */
static void requeue(struct queue *q, struct node *n) {
    q->depth++;
    q->bytes += n->bytes;
    struct node **p = &q->head;
    while (*p != NULL && (*p)->seq < n->seq) p = &(*p)->next;
    n->next = *p;
    *p = n;
    if (n->next == NULL) q->tail = n;
}

static void free_nodes(struct node *n) {
    while (n != NULL) {
        struct node *next = n->next;
        muon_message_free(n->msg);
        free(n);
        n = next;
    }
}

static void delete_queue(struct broker *b, struct queue *q) {
    for (struct queue **p = &b->queues; *p != NULL; p = &(*p)->next_queue) {
        if (*p == q) {
            *p = q->next_queue;
            break;
        }
    }
    LOG(b, "queue %s deleted", q->name);
    for (struct conn *k = b->conns; k != NULL && q->n_blocked > 0; k = k->next_conn) {
        for (struct link *p = k->links; p != NULL; p = p->next_link) {
            if (p->blocked_on == q) {
                p->blocked_on = NULL;
                q->n_blocked--;
            }
        }
    }
    free_nodes(q->head);
    free(q->consumers);
    free(q->topic);
    free(q->name);
    free(q);
}

/* Backpressure. A queue is full when it holds its bound of messages or bytes,
 * and has room again when it is down to half of both. */
static bool queue_full(const struct broker *b, const struct queue *q) {
    return (b->max_depth > 0 && q->depth >= b->max_depth) ||
           (b->max_bytes > 0 && q->bytes >= b->max_bytes);
}

static bool queue_has_room(const struct broker *b, const struct queue *q) {
    return (b->max_depth == 0 || q->depth <= b->max_depth / 2) &&
           (b->max_bytes == 0 || q->bytes <= b->max_bytes / 2);
}

/* A producer sending to a full queue gets no more credit until the queue
 * drains to half. What it holds is not taken back: a cut races with the
 * transfers it has in flight (AMQP 1.0 2.6.7), and a sender that reads
 * credit as a number that may go negative (Qpid Proton's examples test it
 * for truth) would keep sending. */
static void block_producer(struct link *p, struct queue *q) {
    if (p->blocked_on != NULL) return;
    if (q->n_blocked == 0) {
        fprintf(stderr,
                "broker: queue %s is full (%zu messages, %llu bytes; bound -m %zu, -b %llu): "
                "its producers get no more credit until it drains to half\n",
                q->name, q->depth, (unsigned long long)q->bytes, p->b->max_depth,
                p->b->max_bytes);
    }
    p->blocked_on = q;
    q->n_blocked++;
    LOG(p->b, "connection %u's producer waits for queue %s", p->conn->id, q->name);
    check(muon_receiver_set_credit_window(p->receiver, 0), "muon_receiver_set_credit_window");
}

static void unblock_producers(struct broker *b, struct queue *q) {
    for (struct conn *k = b->conns; k != NULL && q->n_blocked > 0; k = k->next_conn) {
        for (struct link *p = k->links; p != NULL; p = p->next_link) {
            if (p->kind != PRODUCER || p->blocked_on != q) continue;
            p->blocked_on = NULL;
            q->n_blocked--;
            LOG(b, "queue %s down to %zu messages, %llu bytes: connection %u's producer resumes",
                q->name, q->depth, (unsigned long long)q->bytes, k->id);
            check(muon_receiver_set_credit_window(p->receiver, PRODUCER_WINDOW),
                  "muon_receiver_set_credit_window");
            (void)muon_receiver_flow(p->receiver, PRODUCER_WINDOW);
        }
    }
}

#include "broker_select.h"

/* Sends waiting messages round-robin to the consumers that have credit:
 * each the first message it may take (consumer_pick). */
static void deliver(struct queue *q) {
    size_t idle = 0; /* consumers in a row that could take nothing */
    while (q->head != NULL && idle < q->n_consumers) {
        struct link *c = q->consumers[q->next];
        q->next = (q->next + 1) % q->n_consumers;
        if (c->closing || muon_sender_credit(c->sender) == 0) {
            idle++;
            continue;
        }
        struct node *prev = NULL, *n = consumer_pick(c, q, &prev);
        if (n == NULL) {
            idle++;
            continue;
        }
        muon_delivery d;
        muon_result rc = muon_sender_send(c->sender, n->msg, &d);
        if (rc != MUON_RESULT_OK) {
            /* QUEUE_FULL: the consumer's connection has more output waiting
             * than muon holds, and the sender's queue is full too (a
             * consumer that does not read); WRONG_STATE: the same without a
             * queue. on_link_flow follows once the queue is empty. Anything
             * else: it is going. */
            if (rc != MUON_RESULT_QUEUE_FULL && rc != MUON_RESULT_WRONG_STATE) c->closing = true;
            idle++;
            continue;
        }
        idle = 0;
        if (c->browse) { /* a copy went: the message stays */
            c->browsed = n->seq;
            continue;
        }
        if (prev != NULL) prev->next = n->next; else q->head = n->next;
        if (q->tail == n) q->tail = prev;
        q->depth--;
        q->bytes -= n->bytes;
        n->next = NULL;
        if (d.generation == 0) { /* went pre-settled: nothing to wait for */
            muon_message_free(n->msg);
            free(n);
            continue;
        }
        n->delivery = d;
        if (c->unsettled_tail) c->unsettled_tail->next = n; else c->unsettled = n;
        c->unsettled_tail = n;
        if (q->n_blocked > 0 && queue_has_room(c->b, q)) unblock_producers(c->b, q);
    }
}

/* Takes the unsettled message sent as `d` off consumer `c`'s list. */
static struct node *take_unsettled(struct link *c, muon_delivery d) {
    struct node *prev = NULL;
    for (struct node *n = c->unsettled; n != NULL; prev = n, n = n->next) {
        if (!same_delivery(n->delivery, d)) continue;
        if (prev) prev->next = n->next; else c->unsettled = n->next;
        if (c->unsettled_tail == n) c->unsettled_tail = prev;
        n->next = NULL;
        return n;
    }
    return NULL;
}

#include "broker_txn.h"

static void attach_consumer(struct queue *q, struct link *c) {
    if (q->n_consumers == q->cap_consumers) {
        q->cap_consumers = q->cap_consumers ? 2 * q->cap_consumers : 4;
        q->consumers = realloc(q->consumers, q->cap_consumers * sizeof *q->consumers);
        if (q->consumers == NULL) exit(1);
    }
    q->consumers[q->n_consumers++] = c;
    c->queue = q;
}

/* A consumer went: its unsettled messages return to the head, in order. */
static void detach_consumer(struct broker *b, struct link *c) {
    struct queue *q = c->queue;
    if (q == NULL) return;
    for (size_t i = 0; i < q->n_consumers; i++) {
        if (q->consumers[i] != c) continue;
        memmove(&q->consumers[i], &q->consumers[i + 1], (q->n_consumers - i - 1) * sizeof *q->consumers);
        q->n_consumers--;
        if (q->next > i) q->next--;
        if (q->next >= q->n_consumers) q->next = 0;
        break;
    }
    while (c->unsettled != NULL) {
        struct node *n = c->unsettled;
        c->unsettled = n->next;
        requeue(q, n);
    }
    c->unsettled_tail = NULL;
    c->queue = NULL;
    if (q->dynamic && q->n_consumers == 0) {
        /* Producers still sending to it are told it is gone. */
        for (struct conn *k = b->conns; k != NULL; k = k->next_conn) {
            for (struct link *p = k->links; p != NULL; p = p->next_link) {
                if (p->kind == PRODUCER && p->address && strcmp(p->address, q->name) == 0) {
                    (void)muon_receiver_close_with(p->receiver, "amqp:resource-deleted",
                                                   "the temporary queue was deleted");
                }
            }
        }
        /* A topic's producers waiting for this subscription go on. */
        unblock_producers(b, q);
        delete_queue(b, q);
    } else {
        deliver(q);
    }
}

/* ---- a consumer's and a producer's events (each link's own handler) ---------- */

static void on_link_flow(void *app, const muon_event *ev) {
    struct link *c = app;
    (void)ev;
    if (!c->credited && muon_sender_credit(c->sender) > 0) {
        c->credited = true;
        LOG(c->b, "connection %u: consumer from %s has credit", c->conn->id,
            c->address ? c->address : "(no such queue)");
    }
    if (c->queue != NULL) deliver(c->queue);
}

/* A message left its queue for good. */
static void gone(struct link *c, struct node *n) {
    if (n != NULL && c->queue != NULL) c->queue->out++;
    free_nodes(n);
}

static void on_accepted(void *app, const muon_event *ev) {
    if (txn_ack(app, ev)) return;
    gone(app, take_unsettled(app, muon_event_delivery(ev)));
}

static void on_rejected(void *app, const muon_event *ev) {
    struct link *c = app;
    struct node *n = take_unsettled(c, muon_event_delivery(ev));
    if (n == NULL) return;
    c->b->rejected++;
    LOG(c->b, "connection %u: a message on %s was rejected (%lu so far)", c->conn->id,
        c->queue ? c->queue->name : "?", c->b->rejected);
    gone(c, n);
}

/* Released or modified: back to the head of the queue, for anyone. */
static void on_released(void *app, const muon_event *ev) {
    struct link *c = app;
    struct node *n = take_unsettled(c, muon_event_delivery(ev));
    if (n == NULL) return;
    if (c->queue == NULL) {
        free_nodes(n);
        return;
    }
    requeue(c->queue, n);
    deliver(c->queue);
}

/* The consumer is going: send it nothing more (its final event requeues). */
static void on_consumer_close(void *app, const muon_event *ev) {
    struct link *c = app;
    (void)ev;
    c->closing = true;
    consumer_closing(c);
}

/* Settled with no outcome: delivered. A settlement with an outcome was taken
 * off by that outcome's handler (looking for it again would walk the whole
 * unsettled list for nothing). */
static void on_settled(void *app, const muon_event *ev) {
    muon_delivery d = muon_event_delivery(ev);
    switch (muon_delivery_remote_state(d)) {
    case MUON_DELIVERY_STATE_ACCEPTED:
    case MUON_DELIVERY_STATE_REJECTED:
    case MUON_DELIVERY_STATE_RELEASED:
    case MUON_DELIVERY_STATE_MODIFIED:
        return;
    default:
        gone(app, take_unsettled(app, d));
    }
}

static void on_message(void *app, const muon_event *ev) {
    struct link *p = app;
    const muon_message *m = muon_event_message(ev);
    const char *to = p->address != NULL ? p->address : muon_message_to(m);
    if (to == NULL) {
        check(muon_delivery_reject(muon_event_delivery(ev), "amqp:precondition-failed",
                                   "no target address and no 'to' property"),
              "muon_delivery_reject");
        return;
    }
    const char *user = muon_connection_user(p->conn->handle);
    if (p->address == NULL && !acl_allows(&p->b->acl, user, to, ACL_SEND)) {
        check(muon_delivery_reject(muon_event_delivery(ev), "amqp:unauthorized-access", to),
              "muon_delivery_reject");
        return;
    }
    if (is_topic(to)) {
        struct queue *full = publish(p->b, to, m);
        if (full != NULL) block_producer(p, full);
        return;
    }
    struct queue *q = find_queue(p->b, to, true);
    if (q == NULL) {
        check(muon_delivery_reject(muon_event_delivery(ev), "amqp:not-found", to),
              "muon_delivery_reject");
        return;
    }
    if (txn_post(p, ev, q)) return;
    struct node *n = calloc(1, sizeof *n);
    if (n == NULL) exit(1);
    check(muon_message_clone(m, &n->msg), "muon_message_clone");
    /* A received message keeps its encoding: asking its size costs nothing. */
    if (muon_message_encode(n->msg, NULL, 0, &n->bytes) != MUON_RESULT_BUFFER_TOO_SMALL) {
        n->bytes = 0;
    }
    n->seq = ++p->b->next_seq;
    q->in++;
    push_tail(q, n);
    deliver(q);
    if (queue_full(p->b, q)) block_producer(p, q);
} /* returning without settling: muon accepts the message now it is queued */

static void forget_link(struct link *k) {
    if (k->kind == CONSUMER) detach_consumer(k->b, k);
    if (k->blocked_on != NULL) k->blocked_on->n_blocked--;
    for (struct link **p = &k->conn->links; *p != NULL; p = &(*p)->next_link) {
        if (*p == k) {
            *p = k->next_link;
            break;
        }
    }
    muon_selector_free(k->selector);
    free(k->refusal);
    free(k->address);
    free(k);
}

static void on_link_final(void *app, const muon_event *ev) {
    struct link *k = app;
    (void)ev;
    LOG(k->b, "connection %u: %s %s detached", k->conn->id,
        k->kind == CONSUMER ? "consumer from" : "producer to", k->address ? k->address : "(any)");
    forget_link(k);
}

/* ---- connections (the listener's handler) ----------------------------------- */

static struct conn *find_conn(struct broker *b, muon_connection h) {
    for (struct conn *c = b->conns; c != NULL; c = c->next_conn) {
        if (c->handle.index == h.index && c->handle.generation == h.generation) return c;
    }
    return NULL;
}

static void on_connection_accepted(void *app, const muon_event *ev) {
    struct broker *b = app;
    struct conn *c = calloc(1, sizeof *c);
    if (c == NULL) exit(1);
    c->handle = muon_event_connection(ev);
    c->id = ++b->next_conn_id;
    c->next_conn = b->conns;
    b->conns = c;
    LOG(b, "connection %u accepted", c->id);
    if (b->stopping) check(muon_connection_close(c->handle), "muon_connection_close");
}

static void on_connection_remote_open(void *app, const muon_event *ev) {
    struct broker *b = app;
    struct conn *c = find_conn(b, muon_event_connection(ev));
    const char *id = muon_connection_remote_container_id(muon_event_connection(ev));
    LOG(b, "connection %u opened by %s", c ? c->id : 0, id ? id : "?");
}

/* The peer attached a link: decide its terminus and give it a handler. */
static void on_link_remote_attach(void *app, const muon_event *ev) {
    struct broker *b = app;
    struct conn *c = find_conn(b, muon_event_connection(ev));
    if (c == NULL) return;
    struct link *k = calloc(1, sizeof *k);
    if (k == NULL) exit(1);
    k->b = b;
    k->conn = c;
    k->next_link = c->links;
    c->links = k;
    muon_handler h = MUON_HANDLER_INIT;
    h.on_link_final = on_link_final;
    if (muon_event_is_receiver(ev)) { /* the peer sends: a producer */
        k->kind = PRODUCER;
        k->receiver = muon_event_receiver(ev);
        const char *target = muon_receiver_remote_target_address(k->receiver);
        k->address = target ? copy_text(target) : NULL;
        const char *user = muon_connection_user(c->handle);
        if (target != NULL && !acl_allows(&b->acl, user, target, ACL_SEND)) {
            k->denied = true; /* refused once open; no credit meanwhile */
            check(muon_receiver_set_credit_window(k->receiver, 0), "muon_receiver_set_credit_window");
            check(muon_receiver_set_handler(k->receiver, &h, k), "muon_receiver_set_handler");
            LOG(b, "connection %u: %s may not send to %s", c->id, user ? user : "anonymous", target);
            return;
        }
        h.on_message = on_message;
        check(muon_receiver_set_handler(k->receiver, &h, k), "muon_receiver_set_handler");
        /* Credit in batches large enough to keep a fast producer busy; the
         * built-in tops it up once half is used. */
        check(muon_receiver_set_credit_window(k->receiver, PRODUCER_WINDOW),
              "muon_receiver_set_credit_window");
        LOG(b, "connection %u: producer to %s", c->id, target ? target : "(anonymous relay)");
        /* A producer to a full queue starts with no credit (a reconnecting
         * one would otherwise bring a whole window past the bound). */
        struct queue *q = target && !is_topic(target) ? find_queue(b, target, true) : NULL;
        if (q != NULL && queue_full(b, q)) block_producer(k, q);
        return;
    }
    k->kind = CONSUMER; /* the peer receives */
    k->sender = muon_event_sender(ev);
    struct queue *q;
    if (muon_terminus_is_dynamic(muon_sender_remote_source(k->sender))) {
        char name[64];
        snprintf(name, sizeof name, TEMP_PREFIX "%u", ++b->next_temp_id);
        check(muon_sender_set_source_address(k->sender, name), "muon_sender_set_source_address");
        q = calloc(1, sizeof *q);
        if (q == NULL) exit(1);
        q->name = copy_text(name);
        q->dynamic = true;
        q->next_queue = b->queues;
        b->queues = q;
    } else {
        const char *source = muon_sender_remote_source_address(k->sender);
        const char *user = muon_connection_user(c->handle);
        if (!acl_allows(&b->acl, user, source, ACL_RECEIVE)) {
            k->denied = true;
            LOG(b, "connection %u: %s may not receive from %s", c->id, user ? user : "anonymous",
                source ? source : "(no address)");
            check(muon_sender_set_handler(k->sender, &h, k), "muon_sender_set_handler");
            return;
        }
        if (!consumer_options(k)) {
            LOG(b, "connection %u: consumer from %s refused: %s", c->id, source ? source : "?",
                k->refusal);
            check(muon_sender_set_handler(k->sender, &h, k), "muon_sender_set_handler");
            return;
        }
        q = is_topic(source) ? subscribe(b, k, source) : source ? find_queue(b, source, true) : NULL;
    }
    h.on_link_flow = on_link_flow;
    h.on_accepted = on_accepted;
    h.on_rejected = on_rejected;
    h.on_released = on_released;
    h.on_modified = on_released;
    h.on_settled = on_settled;
    h.on_link_remote_close = on_consumer_close;
    check(muon_sender_set_handler(k->sender, &h, k), "muon_sender_set_handler");
    if (q != NULL) {
        k->address = copy_text(q->name);
        attach_consumer(q, k);
    }
    LOG(b, "connection %u: consumer from %s", c->id, q ? q->name : "(no such queue)");
}

/* The link is open: refuse a link the access rules deny, and a consumer with
 * no queue (a deleted temporary one). */
static void on_link_remote_open(void *app, const muon_event *ev) {
    struct broker *b = app;
    struct conn *c = find_conn(b, muon_event_connection(ev));
    const char *denied = "the access rules do not allow this user this address";
    if (muon_event_is_receiver(ev)) {
        muon_receiver r = muon_event_receiver(ev);
        for (struct link *k = c ? c->links : NULL; k != NULL; k = k->next_link) {
            if (k->kind == PRODUCER && k->denied && k->receiver.index == r.index &&
                k->receiver.generation == r.generation) {
                check(muon_receiver_close_with(r, "amqp:unauthorized-access", denied),
                      "muon_receiver_close_with");
            }
        }
        return;
    }
    muon_sender s = muon_event_sender(ev);
    for (struct link *k = c ? c->links : NULL; k != NULL; k = k->next_link) {
        if (k->kind != CONSUMER || k->sender.index != s.index ||
            k->sender.generation != s.generation) {
            continue;
        }
        if (k->denied) {
            check(muon_sender_close_with(s, "amqp:unauthorized-access", denied),
                  "muon_sender_close_with");
        } else if (k->refusal != NULL) {
            check(muon_sender_close_with(s, "amqp:invalid-field", k->refusal),
                  "muon_sender_close_with");
        } else if (k->queue == NULL) {
            check(muon_sender_close_with(s, "amqp:not-found", "no such queue"), "muon_sender_close_with");
        }
    }
}

static void on_connection_remote_close(void *app, const muon_event *ev) {
    struct broker *b = app;
    struct conn *c = find_conn(b, muon_event_connection(ev));
    const muon_condition *why = muon_event_condition(ev);
    LOG(b, "connection %u closed by the peer%s%s", c ? c->id : 0, why ? ": " : "",
        why ? describe(why) : "");
}

static void on_disconnected(void *app, const muon_event *ev) {
    struct broker *b = app;
    struct conn *c = find_conn(b, muon_event_connection(ev));
    LOG(b, "connection %u lost: %s", c ? c->id : 0, describe(muon_event_condition(ev)));
}

static void on_connection_final(void *app, const muon_event *ev) {
    struct broker *b = app;
    struct conn *c = find_conn(b, muon_event_connection(ev));
    if (c == NULL) return;
    while (c->links != NULL) forget_link(c->links); /* normally gone already */
    txn_connection_gone(b, c);
    for (struct conn **p = &b->conns; *p != NULL; p = &(*p)->next_conn) {
        if (*p == c) {
            *p = c->next_conn;
            break;
        }
    }
    LOG(b, "connection %u ended", c->id);
    free(c);
}

/* ---- the summary (SIGUSR1; on exit with -v) ------------------------------------ */

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void print_summary(struct broker *b) {
    double now = now_s(), span = now - b->summary_at;
    if (span <= 0) span = 1e-9;
    for (struct queue *q = b->queues; q != NULL; q = q->next_queue) {
        fprintf(stderr,
                "broker: queue %s: depth %zu, consumers %zu, in %llu (%.1f/s), out %llu (%.1f/s)\n",
                q->name, q->depth, q->n_consumers, q->in, (double)(q->in - q->in_seen) / span,
                q->out, (double)(q->out - q->out_seen) / span);
        q->in_seen = q->in;
        q->out_seen = q->out;
    }
    for (struct conn *c = b->conns; c != NULL; c = c->next_conn) {
        muon_connection_stats s = MUON_CONNECTION_STATS_INIT;
        if (muon_connection_get_stats(c->handle, &s) != MUON_RESULT_OK) continue;
        const char *peer = muon_connection_remote_container_id(c->handle);
        fprintf(stderr,
                "broker: connection %u (%s): in %llu bytes, %llu messages; out %llu bytes, "
                "%llu messages; unsettled %llu; up %.1f s; SASL %s; TLS %s%s%s\n",
                c->id, peer ? peer : "?", (unsigned long long)s.bytes_in,
                (unsigned long long)s.messages_received, (unsigned long long)s.bytes_out,
                (unsigned long long)s.messages_sent, (unsigned long long)s.unsettled,
                (double)s.connected_ms / 1000.0,
                s.sasl_mechanism[0] ? s.sasl_mechanism : "none", s.tls ? s.tls_protocol : "no",
                s.tls ? " " : "", s.tls ? s.tls_cipher : "");
    }
    b->summary_at = now;
}

/* ---- stopping on SIGINT / SIGTERM (the loop's handler) ----------------------- */

static void on_stop_timer(void *app, const muon_event *ev) {
    struct broker *b = app;
    (void)ev;
    LOG(b, "connections did not close in time: stopping anyway");
    check(muon_loop_stop(b->loop), "muon_loop_stop");
}

static void on_wake(void *app, const muon_event *ev) {
    struct broker *b = app;
    (void)ev;
    /* on_wake does not say which signal woke the loop: their counts do. */
    unsigned long long usr1 = muon_signal_count(SIGUSR1);
    unsigned long long stop = muon_signal_count(SIGINT) + muon_signal_count(SIGTERM);
    if (usr1 != b->usr1_seen) {
        b->usr1_seen = usr1;
        print_summary(b);
        if (stop == b->stop_seen) return; /* only SIGUSR1 */
    }
    b->stop_seen = stop;
    if (b->stopping) return;
    b->stopping = true;
    LOG(b, "stopping");
    if (b->verbose) print_summary(b);
    check(muon_listener_close(b->listener), "muon_listener_close");
    for (struct conn *c = b->conns; c != NULL; c = c->next_conn) {
        (void)muon_connection_close(c->handle); /* may be closing already */
    }
    if (b->conns != NULL) {
        muon_handler t = MUON_HANDLER_INIT;
        t.on_timer = on_stop_timer;
        check(muon_loop_schedule(b->loop, 2000, &t, b, NULL), "muon_loop_schedule");
    }
}

/* "123", "64K", "256M", "2G" (powers of 1024). */
static bool parse_size(const char *s, unsigned long long *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || errno != 0 || s[0] == '-') return false;
    unsigned shift = 0;
    switch (*end) {
    case '\0': break;
    case 'K': case 'k': shift = 10; end++; break;
    case 'M': case 'm': shift = 20; end++; break;
    case 'G': case 'g': shift = 30; end++; break;
    default: return false;
    }
    if (*end != '\0' || (shift > 0 && v > (~0ull >> shift))) return false;
    *out = v << shift;
    return true;
}

int main(int argc, char **argv) {
    unsigned long long max_bytes = DEFAULT_MAX_BYTES;
    const char *tls_cert = NULL, *tls_key = NULL, *tls_client_ca = NULL;
    const char *users = NULL, *acl = NULL;
    bool tls_require_client_cert = false, allow_anonymous = false, tls_allow_plain = false;
    if (argc == 3 && strcmp(argv[1], "--hash-password") == 0) return hash_password(argv[2]);
    for (int i = 1; i < argc; i++) { /* the broker's own options; the rest are common */
        const char *a = argv[i];
        int used = 2;
        bool has_value = i + 1 < argc;
        if (strcmp(a, "-b") == 0) {
            if (!has_value || !parse_size(argv[i + 1], &max_bytes)) usage_exit(argv[0], USAGE);
        } else if (strcmp(a, "--tls-cert") == 0 && has_value) {
            tls_cert = argv[i + 1];
        } else if (strcmp(a, "--tls-key") == 0 && has_value) {
            tls_key = argv[i + 1];
        } else if (strcmp(a, "--tls-client-ca") == 0 && has_value) {
            tls_client_ca = argv[i + 1];
        } else if (strcmp(a, "--tls-require-client-cert") == 0) {
            tls_require_client_cert = true;
            used = 1;
        } else if (strcmp(a, "--tls-insecure-allow-plain") == 0) {
            tls_allow_plain = true;
            used = 1;
        } else if (strcmp(a, "--users") == 0 && has_value) {
            users = argv[i + 1];
        } else if (strcmp(a, "--acl") == 0 && has_value) {
            acl = argv[i + 1];
        } else if (strcmp(a, "--allow-anonymous") == 0) {
            allow_anonymous = true;
            used = 1;
        } else {
            continue;
        }
        memmove(&argv[i], &argv[i + used], (size_t)(argc - i - used) * sizeof *argv);
        argc -= used;
        i--;
    }
    if ((tls_cert == NULL) != (tls_key == NULL) ||
        (tls_cert == NULL && (tls_client_ca != NULL || tls_require_client_cert || tls_allow_plain)) ||
        (tls_require_client_cert && tls_client_ca == NULL)) {
        usage_exit(argv[0], USAGE);
    }
    struct options opts;
    parse_options(argc, argv, USAGE, 0, &opts);
    if (opts.argc > 0) usage_exit(argv[0], USAGE);
    struct broker b = {
        .verbose = opts.verbose, .max_depth = (size_t)opts.count, .max_bytes = max_bytes};
    if (muon_loop_new(&b.loop) != MUON_RESULT_OK) {
        fprintf(stderr, "broker: cannot make an event loop\n");
        return 1;
    }
    check(muon_loop_wake_on_signal(b.loop, SIGINT), "muon_loop_wake_on_signal");
    check(muon_loop_wake_on_signal(b.loop, SIGTERM), "muon_loop_wake_on_signal");
    check(muon_loop_wake_on_signal(b.loop, SIGUSR1), "muon_loop_wake_on_signal");
    b.summary_at = now_s();

    muon_handler lh = MUON_HANDLER_INIT;
    lh.on_wake = on_wake;
    check(muon_loop_set_handler(b.loop, &lh, &b), "muon_loop_set_handler");

    muon_connection_options *co;
    check(muon_connection_options_new(&co), "muon_connection_options_new");
    check(muon_connection_options_add_offered_capability(co, "ANONYMOUS-RELAY"),
          "muon_connection_options_add_offered_capability");
    if (tls_cert != NULL) {
        check_tls(co, muon_connection_options_set_tls_cert_file(co, tls_cert, tls_key),
                  "--tls-cert/--tls-key");
        check(muon_connection_options_set_tls_insecure_allow_plain(co, tls_allow_plain),
              "muon_connection_options_set_tls_insecure_allow_plain");
        if (tls_allow_plain) {
            fprintf(stderr, "broker: WARNING: --tls-insecure-allow-plain: clients may also "
                            "connect without TLS on this port\n");
        }
    }
    if (users != NULL) {
        load_users(users, co);
        check(muon_connection_options_set_allow_anonymous(co, allow_anonymous),
              "muon_connection_options_set_allow_anonymous");
    } else {
        fprintf(stderr, "broker: no --users: clients log in as ANONYMOUS (anyone may connect)\n");
    }
    if (acl != NULL) load_acl(acl, &b.acl);
    if (tls_client_ca != NULL) {
        check_tls(co, muon_connection_options_add_tls_client_ca_file(co, tls_client_ca),
                  "--tls-client-ca");
        check(muon_connection_options_set_tls_require_client_cert(co, tls_require_client_cert),
              "muon_connection_options_set_tls_require_client_cert");
    }
    muon_handler ch = MUON_HANDLER_INIT;
    ch.on_connection_accepted = on_connection_accepted;
    ch.on_connection_remote_open = on_connection_remote_open;
    ch.on_link_remote_attach = on_link_remote_attach;
    ch.on_link_remote_open = on_link_remote_open;
    ch.on_connection_remote_close = on_connection_remote_close;
    ch.on_disconnected = on_disconnected;
    ch.on_connection_final = on_connection_final;
    ch.on_coordinator_declare = on_coordinator_declare;
    ch.on_coordinator_discharge = on_coordinator_discharge;
    const char *addr = listen_address(&opts);
    muon_result rc = muon_loop_listen(b.loop, addr, co, &ch, &b, &b.listener);
    muon_connection_options_free(co);
    if (rc != MUON_RESULT_OK) {
        fprintf(stderr, "broker: cannot listen on %s: %s\n", addr, muon_result_message(rc));
        muon_loop_free(b.loop);
        return 1;
    }
    if (tls_cert == NULL) {
        fprintf(stderr, "broker: no --tls-cert: clients connect without TLS\n");
    }
    printf("listening on %u\n", (unsigned)muon_listener_port(b.listener));
    fflush(stdout);

    rc = muon_loop_run(b.loop);
    muon_loop_free(b.loop);
    while (b.conns != NULL) { /* only if the stop timer cut the closing short */
        struct conn *c = b.conns;
        while (c->links != NULL) { /* the loop is gone: no API calls here */
            struct link *k = c->links;
            c->links = k->next_link;
            free_nodes(k->unsettled);
            muon_selector_free(k->selector);
            free(k->refusal);
            free(k->address);
            free(k);
        }
        b.conns = c->next_conn;
        free(c);
    }
    while (b.queues != NULL) delete_queue(&b, b.queues);
    free_acl(&b.acl);
    LOG(&b, "stopped; %lu messages rejected", b.rejected);
    if (rc != MUON_RESULT_OK) {
        fprintf(stderr, "broker: %s\n", muon_result_message(rc));
        return 1;
    }
    return 0;
}
