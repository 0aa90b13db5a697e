/*
 * broker_txn.h: the example broker's transactions (AMQP local
 * transactions, one coordinator per connection), included by broker.c
 * after its queue functions.
 *
 *   - A client's controller declares a transaction: the broker names it
 *     "txn:N" (on_coordinator_declare answers with muon_delivery_declared).
 *   - A message posted in a transaction (muon_delivery_transaction_id of the
 *     transfer) is accepted but held: on commit it joins its queue, as if it
 *     arrived then; on rollback it is dropped. A message posted in a
 *     transaction the broker does not know is rejected with
 *     amqp:transaction:unknown-id.
 *   - A message a consumer accepts in a transaction (the disposition's
 *     transaction) leaves the consumer's unsettled list and is held: on
 *     commit it is dropped (delivered); on rollback it goes back to its
 *     queue, in its original place, with its delivery-count one higher, and
 *     is delivered again. Other outcomes given in a transaction take effect
 *     at once.
 *   - Discharging a transaction the broker does not know (or one of
 *     another connection) is rejected with amqp:transaction:unknown-id.
 *   - A connection that ends with transactions not discharged rolls them
 *     back.
 */
#ifndef MUON_EXAMPLES_BROKER_TXN_H
#define MUON_EXAMPLES_BROKER_TXN_H

#define TXN_ID_MAX 32

struct txn_work {           /* a message a transaction holds */
    bool ack;               /* accepted by a consumer (else posted by a producer) */
    char *queue;            /* the queue it goes to (posted) or came from (accepted) */
    struct node *node;
    struct txn_work *next;
};

struct txn {
    unsigned char id[TXN_ID_MAX];
    size_t id_len;
    struct conn *conn;       /* the connection that declared it */
    struct txn_work *work, *work_tail;
    struct txn *next_txn;
};

static struct conn *find_conn(struct broker *b, muon_connection h); /* broker.c */

static struct txn *txns;     /* every open transaction, of every connection */
static unsigned long long next_txn_id;

/* The open transaction `id` of connection `c` (NULL if none). */
static struct txn *find_txn(struct conn *c, const unsigned char *id, size_t len) {
    for (struct txn *t = txns; t != NULL; t = t->next_txn) {
        if (t->conn == c && t->id_len == len && memcmp(t->id, id, len) == 0) return t;
    }
    return NULL;
}

/* The transaction the delivery's peer named, or NULL; *named says whether it
 * named one at all. */
static struct txn *delivery_txn(struct conn *c, muon_delivery d, bool *named) {
    unsigned char id[TXN_ID_MAX];
    size_t len = muon_delivery_transaction_id(d, id, sizeof id);
    *named = len > 0;
    return len > 0 && len <= sizeof id ? find_txn(c, id, len) : NULL;
}

static void hold(struct txn *t, bool ack, const char *queue, struct node *n) {
    struct txn_work *w = calloc(1, sizeof *w);
    if (w == NULL) exit(1);
    w->ack = ack;
    w->queue = copy_text(queue);
    w->node = n;
    if (t->work_tail) t->work_tail->next = w; else t->work = w;
    t->work_tail = w;
}

/* A producer's message (on_message): true if it was posted in a transaction,
 * which now holds it (or which is unknown: it is rejected). */
static bool txn_post(struct link *p, const muon_event *ev, struct queue *q) {
    bool named;
    muon_delivery d = muon_event_delivery(ev);
    struct txn *t = delivery_txn(p->conn, d, &named);
    if (!named) return false;
    if (t == NULL) {
        check(muon_delivery_reject(d, "amqp:transaction:unknown-id", "no such transaction"),
              "muon_delivery_reject");
        return true;
    }
    struct node *n = calloc(1, sizeof *n);
    if (n == NULL) exit(1);
    check(muon_message_clone(muon_event_message(ev), &n->msg), "muon_message_clone");
    if (muon_message_encode(n->msg, NULL, 0, &n->bytes) != MUON_RESULT_BUFFER_TOO_SMALL) {
        n->bytes = 0;
    }
    hold(t, false, q->name, n);
    return true; /* muon accepts it when on_message returns */
}

/* A consumer's acceptance (on_accepted): true if it was given in a
 * transaction, which now holds the message. */
static bool txn_ack(struct link *c, const muon_event *ev) {
    bool named;
    muon_delivery d = muon_event_delivery(ev);
    struct txn *t = delivery_txn(c->conn, d, &named);
    if (!named) return false;
    struct node *n = take_unsettled(c, d);
    if (n == NULL) return true;
    if (t == NULL || c->queue == NULL) {
        /* An unknown transaction: the acceptance never takes effect. */
        LOG(c->b, "connection %u: an acceptance in an unknown transaction: redelivered", c->conn->id);
        if (c->queue != NULL) {
            requeue(c->queue, n);
            deliver(c->queue);
        } else {
            free_nodes(n);
        }
        return true;
    }
    hold(t, true, c->queue->name, n);
    return true;
}

/* Ends transaction `t`: commit or roll back what it holds, then free it. */
static void discharge(struct broker *b, struct txn *t, bool rollback) {
    for (struct txn **p = &txns; *p != NULL; p = &(*p)->next_txn) {
        if (*p == t) {
            *p = t->next_txn;
            break;
        }
    }
    size_t posted = 0, acked = 0;
    while (t->work != NULL) {
        struct txn_work *w = t->work;
        t->work = w->next;
        struct node *n = w->node;
        struct queue *q = find_queue(b, w->queue, !w->ack && !rollback);
        if (w->ack) acked++; else posted++;
        if (q == NULL || (w->ack != rollback)) {
            /* A posted message rolled back, an accepted one committed, or
             * its queue is gone. */
            free_nodes(n);
        } else if (w->ack) { /* accepted, rolled back: delivered again */
            check(muon_message_set_delivery_count(n->msg, muon_message_delivery_count(n->msg) + 1),
                  "muon_message_set_delivery_count");
            requeue(q, n);
            deliver(q);
        } else { /* posted, committed: it arrives now */
            n->seq = ++b->next_seq;
            push_tail(q, n);
            deliver(q);
        }
        free(w->queue);
        free(w);
    }
    LOG(b, "connection %u: transaction %.*s %s (%zu posted, %zu accepted)", t->conn->id,
        (int)t->id_len, (const char *)t->id, rollback ? "rolled back" : "committed", posted, acked);
    free(t);
}

static void on_coordinator_declare(void *app, const muon_event *ev) {
    struct broker *b = app;
    struct conn *c = find_conn(b, muon_event_connection(ev));
    if (c == NULL) return; /* unanswered: muon rejects it */
    struct txn *t = calloc(1, sizeof *t);
    if (t == NULL) exit(1);
    t->conn = c;
    t->id_len = (size_t)snprintf((char *)t->id, sizeof t->id, "txn:%llu", ++next_txn_id);
    check(muon_delivery_declared(muon_event_delivery(ev), t->id, t->id_len), "muon_delivery_declared");
    t->next_txn = txns;
    txns = t;
    LOG(b, "connection %u: transaction %.*s declared", c->id, (int)t->id_len, (const char *)t->id);
}

static void on_coordinator_discharge(void *app, const muon_event *ev) {
    struct broker *b = app;
    unsigned char id[TXN_ID_MAX];
    size_t len = muon_event_transaction_id(ev, id, sizeof id);
    struct txn *t = len <= sizeof id ? find_txn(find_conn(b, muon_event_connection(ev)), id, len) : NULL;
    if (t == NULL) {
        check(muon_delivery_reject(muon_event_delivery(ev), "amqp:transaction:unknown-id",
                                   "no such transaction"),
              "muon_delivery_reject");
        return;
    }
    discharge(b, t, muon_event_transaction_rollback(ev));
    check(muon_delivery_accept(muon_event_delivery(ev)), "muon_delivery_accept");
}

/* Connection `c` ended: its open transactions roll back. */
static void txn_connection_gone(struct broker *b, struct conn *c) {
    struct txn *t = txns;
    while (t != NULL) {
        struct txn *next = t->next_txn;
        if (t->conn == c) discharge(b, t, true);
        t = next;
    }
}

#endif
