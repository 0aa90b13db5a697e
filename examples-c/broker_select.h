/*
 * broker_select.h: the example broker's selectors, browsing and topic
 * subscriptions (durable ones included). Included by broker.c after its
 * types and queue helpers; everything is static.
 *
 *   - Selectors: a consumer whose source has a JMS selector filter
 *     (`apache.org:selector-filter:string`, by symbol or by code) gets only
 *     the messages it matches (muon_selector_matches); the others stay on
 *     the queue for other consumers. The answered source carries the same
 *     filter entry, which says it is in force. A selector muon does not
 *     support is refused: the link is answered and then closed at once
 *     with amqp:invalid-field and muon_last_error's text (where and why).
 *   - Browsing: a consumer with distribution mode `copy` gets a copy of
 *     each message on the queue (each once, in order) and takes none away.
 *   - Topics: an address starting with "topic://" is a topic. Each
 *     consumer of a topic has its own subscription queue, which gets a
 *     copy of every message sent to the topic afterwards; a message sent
 *     to a topic with no subscription is dropped (accepted). A consumer
 *     whose source asks for durability (configuration or unsettled-state)
 *     and expiry policy `never` has a durable subscription, named by its
 *     container id and link name: it outlives the link's detach without
 *     close and its connection's loss, keeps collecting messages, and a
 *     consumer attaching again with the same container id and link name
 *     resumes it (within one broker run: nothing is written to disk). A
 *     consumer closing the link (detach with closed=true) ends it.
 */
#ifndef MUON_EXAMPLES_BROKER_SELECT_H
#define MUON_EXAMPLES_BROKER_SELECT_H

#define TOPIC_PREFIX "topic://"

static void deliver(struct queue *q);

static bool is_topic(const char *address) {
    return address != NULL && strncmp(address, TOPIC_PREFIX, strlen(TOPIC_PREFIX)) == 0;
}

/* The next message consumer `c` may take from `q`: the first its selector
 * matches and, browsing, that it has not seen yet; *prev is the message
 * before it (NULL at the head). A plain consumer takes the head. */
static struct node *consumer_pick(struct link *c, struct queue *q, struct node **prev) {
    struct node *p = NULL;
    for (struct node *n = q->head; n != NULL; p = n, n = n->next) {
        if (c->browse && n->seq <= c->browsed) continue;
        if (c->selector != NULL) {
            bool ok = false;
            if (muon_selector_matches(c->selector, n->msg, &ok) != MUON_RESULT_OK || !ok) continue;
        }
        *prev = p;
        return n;
    }
    return NULL;
}

/* Reads the consumer's selector and distribution mode from the source it
 * attached with, and answers the selector's filter. Returns false when
 * the attach is refused (k->refusal says why). */
static bool consumer_options(struct link *k) {
    const muon_terminus *src = muon_sender_remote_source(k->sender);
    const char *mode = muon_terminus_distribution_mode(src);
    k->browse = mode != NULL && strcmp(mode, "copy") == 0;
    const muon_value *filter = muon_terminus_filter(src);
    if (filter == NULL) return true;
    muon_result rc = muon_selector_from_filter(filter, &k->selector);
    switch (rc) {
    case MUON_RESULT_OK:
        check(muon_sender_set_source_filter(k->sender, muon_selector_filter(k->selector)),
              "muon_sender_set_source_filter");
        LOG(k->b, "connection %u: consumer's selector: %s", k->conn->id,
            muon_selector_text(k->selector));
        return true;
    case MUON_RESULT_NOT_FOUND: /* other filters only: none applied, none answered */
        return true;
    default: { /* unsupported (where and why), or not a string */
        const char *why = muon_last_error();
        k->refusal = copy_text(why != NULL ? why : muon_result_message(rc));
        return false;
    }
    }
}

/* The subscription queue of consumer `k` to `topic`: a durable one found
 * again by container id and link name, or a new one. */
static struct queue *subscribe(struct broker *b, struct link *k, const char *topic) {
    const muon_terminus *src = muon_sender_remote_source(k->sender);
    bool durable = muon_terminus_durability(src) != MUON_DURABILITY_NONE &&
                   muon_terminus_expiry_policy(src) == MUON_EXPIRY_POLICY_NEVER;
    const char *container = muon_connection_remote_container_id(k->conn->handle);
    const char *link = muon_sender_name(k->sender);
    if (container == NULL) container = "";
    if (link == NULL) link = "";
    size_t size = strlen(topic) + strlen(container) + strlen(link) + 32;
    char *name = malloc(size);
    if (name == NULL) exit(1);
    if (durable) {
        snprintf(name, size, "%s#%s/%s", topic, container, link);
    } else {
        snprintf(name, size, "%s#%u", topic, ++b->next_temp_id);
    }
    for (struct queue *q = b->queues; q != NULL; q = q->next_queue) {
        if (q->topic != NULL && strcmp(q->name, name) == 0) {
            LOG(b, "connection %u resumes subscription %s (%zu messages waiting)", k->conn->id,
                name, q->depth);
            free(name);
            return q;
        }
    }
    struct queue *q = calloc(1, sizeof *q);
    if (q == NULL) exit(1);
    q->name = name;
    q->topic = copy_text(topic);
    q->durable = durable;
    q->dynamic = !durable; /* deleted with its consumer */
    q->next_queue = b->queues;
    b->queues = q;
    LOG(b, "%s subscription %s created", durable ? "durable" : "temporary", name);
    return q;
}

/* A consumer closed its link (not only detached): a durable subscription
 * it used ends once its last consumer goes. */
static void consumer_closing(struct link *c) {
    if (c->queue != NULL && c->queue->durable && muon_sender_remote_closed(c->sender)) {
        LOG(c->b, "subscription %s ends (its consumer closed the link)", c->queue->name);
        c->queue->dynamic = true;
    }
}

/* A message sent to a topic: a copy for each of its subscriptions, which
 * are bounded like any queue (-m, -b). Returns a subscription that is now
 * full (its producer then waits for it, as for a full queue), else NULL. */
static struct queue *publish(struct broker *b, const char *topic, const muon_message *m) {
    struct queue *full = NULL;
    for (struct queue *q = b->queues; q != NULL; q = q->next_queue) {
        if (q->topic == NULL || strcmp(q->topic, topic) != 0) continue;
        struct node *n = calloc(1, sizeof *n);
        if (n == NULL) exit(1);
        check(muon_message_clone(m, &n->msg), "muon_message_clone");
        if (muon_message_encode(n->msg, NULL, 0, &n->bytes) != MUON_RESULT_BUFFER_TOO_SMALL) {
            n->bytes = 0;
        }
        n->seq = ++b->next_seq;
        push_tail(q, n);
        deliver(q);
        if (full == NULL && queue_full(b, q)) full = q;
    }
    return full;
}

#endif
