/* Transactions through the C API (run by tests/transactions.rs).
 *
 *   txn_client PORT    PORT: the example broker's, on localhost
 *
 * 1. Against the example broker (queue "txn-q"): messages sent in a
 *    committed transaction arrive, those of a rolled-back one never do;
 *    messages accepted in a rolled-back transaction are delivered again
 *    (delivery-count 1), those accepted in a committed one are gone. Each
 *    check drains the receiver, so "nothing more" is the broker's answer.
 * 2. Against a coordinator of this program's own (a listener whose handler
 *    answers declare and discharge): the transaction id reaches the
 *    coordinator on a transfer (one of one frame, one of many), and refused discharges reach the client's
 *    on_transaction_failed with their condition (amqp:transaction:rollback,
 *    :unknown-id, :timeout), as does a declare it leaves unanswered (muon
 *    rejects it: amqp:not-implemented); a peer that does not coordinate
 *    refuses the controller link (amqp:not-implemented).
 * Prints "txn_client: ok" and exits 0, or says what failed and exits 1. */
#include "api_check.h"

static muon_loop *loop;
static muon_connection broker, own, plain; /* to the broker, to L1, to L2 */
static muon_listener coordinating, refusing;   /* L1, L2 */
static muon_sender to_queue, to_inbox;
static muon_receiver from_queue;
static muon_transaction txn;
static int stage, frees, declares;
static muon_delivery got[8];
static int n_got;
static char failed_with[64];

static muon_message *message(const char *body) {
    muon_message *m;
    OK(muon_message_new(&m));
    OK(muon_message_set_body_string(m, body));
    return m;
}

static void send_in(muon_sender s, const char *body) {
    muon_message *m = message(body);
    muon_delivery d;
    OK(muon_sender_send_in(s, txn, m, &d));
    CHECK(d.generation != 0);
    muon_message_free(m);
}

static const char *body_text(const muon_message *m) {
    static char text[256];
    muon_value_format(muon_message_body(m), text, sizeof text);
    return text;
}

static void declare(muon_connection c);

/* ---- the client's transactions ---- */

static void next(void);

static void on_declared(void *ud, const muon_event *ev) {
    unsigned char id[32], from_event[32];
    (void)ud;
    CHECK(SAME(muon_event_transaction(ev), txn));
    CHECK(muon_event_get_kind(ev) == MUON_EVENT_KIND_TRANSACTION_DECLARED);
    size_t n = muon_transaction_id(txn, id, sizeof id);
    CHECK(n > 0 && n <= sizeof id);
    CHECK(muon_event_transaction_id(ev, from_event, sizeof from_event) == n);
    CHECK(memcmp(id, from_event, n) == 0);
    switch (stage) {
    case 1: /* sends, committed */
        send_in(to_queue, "commit-1");
        send_in(to_queue, "commit-2");
        OK(muon_transaction_commit(txn));
        CHECK_RC(muon_transaction_commit(txn), MUON_RESULT_WRONG_STATE);
        CHECK_RC(muon_transaction_rollback(txn), MUON_RESULT_WRONG_STATE);
        {
            muon_message *m = message("late");
            CHECK_RC(muon_sender_send_in(to_queue, txn, m, NULL), MUON_RESULT_WRONG_STATE);
            muon_message_free(m);
        }
        break;
    case 2: /* sends, rolled back */
        send_in(to_queue, "rollback-1");
        send_in(to_queue, "rollback-2");
        OK(muon_transaction_rollback(txn));
        break;
    case 4: /* acknowledgements, rolled back */
    case 6: /* acknowledgements, committed */
        CHECK(n_got == 2);
        for (int i = 0; i < n_got; i++) OK(muon_delivery_accept_in(got[i], txn));
        CHECK_RC(muon_delivery_accept(got[0]), MUON_RESULT_STALE_HANDLE);
        n_got = 0;
        OK(stage == 4 ? muon_transaction_rollback(txn) : muon_transaction_commit(txn));
        break;
    case 8: /* own coordinator: the id is "t-1"; commit refused */
        CHECK(n == 3 && memcmp(id, "t-1", 3) == 0);
        send_in(to_inbox, "to-inbox");
        {
            /* Larger than a frame: the id rides on the first of its transfers. */
            static char big[300000];
            memset(big, 'x', sizeof big - 1);
            send_in(to_inbox, big);
        }
        OK(muon_transaction_commit(txn));
        break;
    case 9: /* "t-2": rollback refused */
        OK(muon_transaction_rollback(txn));
        break;
    case 10: /* "t-3": commit timed out */
        OK(muon_transaction_commit(txn));
        break;
    case 11: /* "t-4": committed; not usable on another connection */
        {
            muon_message *m = message("elsewhere");
            CHECK_RC(muon_sender_send_in(to_queue, txn, m, NULL), MUON_RESULT_INVALID_ARGUMENT);
            muon_message_free(m);
        }
        OK(muon_transaction_commit(txn));
        break;
    default:
        fprintf(stderr, "declared in stage %d\n", stage);
        exit(1);
    }
}

static void on_discharged(void *ud, const muon_event *ev) {
    (void)ud;
    CHECK(SAME(muon_event_transaction(ev), txn));
    bool rollback = muon_event_transaction_rollback(ev);
    CHECK(rollback == (stage == 2 || stage == 4));
    CHECK(stage == 1 || stage == 2 || stage == 4 || stage == 6 || stage == 11);
    next();
}

static void on_failed(void *ud, const muon_event *ev) {
    (void)ud;
    const muon_condition *c = muon_event_condition(ev);
    CHECK(c != NULL);
    CHECK(SAME(muon_event_transaction(ev), txn));
    snprintf(failed_with, sizeof failed_with, "%s", muon_condition_name(c));
    switch (stage) {
    case 8: CHECK_STR(failed_with, "amqp:transaction:rollback"); break;
    case 9: CHECK_STR(failed_with, "amqp:transaction:unknown-id"); break;
    case 10: CHECK_STR(failed_with, "amqp:transaction:timeout"); break;
    case 12: /* the declare the coordinator left unanswered */
    case 13: /* a peer that does not coordinate */
        CHECK_STR(failed_with, "amqp:not-implemented");
        break;
    default:
        fprintf(stderr, "transaction failed in stage %d: %s: %s\n", stage, failed_with,
                muon_condition_description(c));
        exit(1);
    }
    next();
}

static void on_free(void *ud) {
    (void)ud;
    frees++;
}

static void declare(muon_connection c) {
    muon_handler h = MUON_HANDLER_INIT;
    h.on_transaction_declared = on_declared;
    h.on_transaction_discharged = on_discharged;
    h.on_transaction_failed = on_failed;
    h.userdata_free = on_free;
    OK(muon_connection_declare_transaction(c, &h, NULL, &txn));
    declares++;
    /* Nothing joins it before the coordinator answers. */
    muon_message *m = message("early");
    CHECK(muon_transaction_id(txn, NULL, 0) == 0);
    CHECK_RC(muon_sender_send_in(to_queue, txn, m, NULL), MUON_RESULT_WRONG_STATE);
    CHECK_RC(muon_transaction_commit(txn), MUON_RESULT_WRONG_STATE);
    muon_message_free(m);
}

/* ---- the receiver on the broker's queue ---- */

static void on_message(void *ud, const muon_event *ev) {
    (void)ud;
    const muon_message *m = muon_event_message(ev);
    char want[32];
    CHECK(n_got < 2);
    snprintf(want, sizeof want, "commit-%d", n_got + 1);
    CHECK_STR(body_text(m), want);
    CHECK(muon_message_delivery_count(m) == (stage == 5 ? 1u : 0u));
    CHECK(muon_delivery_transaction_id(muon_event_delivery(ev), NULL, 0) == 0);
    got[n_got++] = muon_event_delivery(ev);
}

/* A drain is over: what arrived is all the broker had. */
static void on_receiver_flow(void *ud, const muon_event *ev) {
    (void)ud, (void)ev;
    if (muon_receiver_is_draining(from_queue)) return;
    switch (stage) {
    case 3: /* after T2's final event, its handle is stale */
        CHECK_RC(muon_transaction_commit(txn), MUON_RESULT_STALE_HANDLE);
        CHECK(muon_transaction_id(txn, NULL, 0) == 0);
        CHECK(n_got == 2);
        break;
    case 5: CHECK(n_got == 2); break;
    case 7: CHECK(n_got == 0); break;
    default: return;
    }
    next();
}

/* ---- the coordinator of this program's own (listener L1) ---- */

static int server_declares;

static void on_coordinator_declare(void *ud, const muon_event *ev) {
    char id[8];
    (void)ud;
    muon_delivery d = muon_event_delivery(ev);
    CHECK(IS_NULL_HANDLE(muon_event_transaction(ev)));
    CHECK(muon_event_transaction_id(ev, NULL, 0) == 0);
    CHECK_RC(muon_delivery_declared(d, (const uint8_t *)"x", 0), MUON_RESULT_INVALID_ARGUMENT);
    CHECK_RC(muon_delivery_declared(d, NULL, 1), MUON_RESULT_NULL_ARGUMENT);
    if (++server_declares == 5) return; /* unanswered: muon rejects it */
    snprintf(id, sizeof id, "t-%d", server_declares);
    OK(muon_delivery_declared(d, (const uint8_t *)id, strlen(id)));
    CHECK_RC(muon_delivery_declared(d, (const uint8_t *)id, strlen(id)), MUON_RESULT_STALE_HANDLE);
}

static void on_coordinator_discharge(void *ud, const muon_event *ev) {
    unsigned char id[16] = {0};
    (void)ud;
    muon_delivery d = muon_event_delivery(ev);
    size_t n = muon_event_transaction_id(ev, id, sizeof id - 1);
    bool rollback = muon_event_transaction_rollback(ev);
    CHECK(n == 3);
    /* A discharge is not answered with declared. */
    CHECK_RC(muon_delivery_declared(d, (const uint8_t *)"t-9", 3), MUON_RESULT_INVALID_ARGUMENT);
    if (!strcmp((char *)id, "t-1")) {
        CHECK(!rollback);
        OK(muon_delivery_reject(d, "amqp:transaction:rollback", "refused by the test"));
    } else if (!strcmp((char *)id, "t-2")) {
        CHECK(rollback);
        OK(muon_delivery_reject(d, "amqp:transaction:unknown-id", "forgotten by the test"));
    } else if (!strcmp((char *)id, "t-3")) {
        OK(muon_delivery_reject(d, "amqp:transaction:timeout", "too slow for the test"));
    } else {
        CHECK(!rollback);
        OK(muon_delivery_accept(d));
    }
}

static int inbox_messages;

/* A transfer in a transaction carries its id. */
static void on_inbox_message(void *ud, const muon_event *ev) {
    unsigned char id[8];
    (void)ud;
    muon_delivery d = muon_event_delivery(ev);
    CHECK(muon_delivery_transaction_id(d, NULL, 0) == 3);
    CHECK(muon_delivery_transaction_id(d, id, sizeof id) == 3 && memcmp(id, "t-1", 3) == 0);
    if (inbox_messages == 0) CHECK_STR(body_text(muon_event_message(ev)), "to-inbox");
    inbox_messages++;
}

/* ---- the stages ---- */

static void next(void) {
    stage++;
    switch (stage) {
    case 2: declare(broker); break;
    case 3: /* the committed sends are there, the rolled-back ones are not */
        /* (In its final event, a transaction's handle is valid, but done.) */
        CHECK_RC(muon_transaction_commit(txn), MUON_RESULT_WRONG_STATE);
        OK(muon_receiver_drain(from_queue, 10));
        break;
    case 4: declare(broker); break;
    case 5: OK(muon_receiver_drain(from_queue, 10)); break; /* redelivered */
    case 6: declare(broker); break;
    case 7: OK(muon_receiver_drain(from_queue, 10)); break; /* gone */
    case 8: case 9: case 10: case 11: case 12: declare(own); break;
    case 13: {
        char url[64];
        snprintf(url, sizeof url, "127.0.0.1:%u", (unsigned)muon_listener_port(refusing));
        OK(muon_loop_connect(loop, url, NULL, NULL, NULL, &plain));
        declare(plain);
        break;
    }
    case 14:
        CHECK(inbox_messages == 2);
        OK(muon_connection_close(broker));
        OK(muon_connection_close(own));
        OK(muon_connection_close(plain));
        OK(muon_listener_close(coordinating));
        OK(muon_listener_close(refusing));
        break;
    }
}

static void on_link_remote_attach(void *ud, const muon_event *ev) {
    (void)ud;
    if (muon_event_is_receiver(ev)) {
        muon_handler h = MUON_HANDLER_INIT;
        h.on_message = on_inbox_message;
        OK(muon_receiver_set_handler(muon_event_receiver(ev), &h, NULL));
    }
}

static void on_unexpected(void *ud, const muon_event *ev) {
    const muon_condition *c = muon_event_condition(ev);
    (void)ud;
    fprintf(stderr, "stage %d: unexpected event %d%s%s\n", stage, (int)muon_event_get_kind(ev),
            c ? ": " : "", c ? muon_condition_name(c) : "");
    exit(1);
}

int main(int argc, char **argv) {
    char url[64];
    alarm(WATCHDOG_S);
    CHECK(argc == 2);
    OK(muon_loop_new(&loop));
    muon_handler lh = MUON_HANDLER_INIT;
    lh.on_disconnected = on_unexpected;
    lh.on_rejected = on_unexpected;
    lh.on_link_remote_close = on_unexpected;
    OK(muon_loop_set_handler(loop, &lh, NULL));

    muon_handler server = MUON_HANDLER_INIT;
    server.on_coordinator_declare = on_coordinator_declare;
    server.on_coordinator_discharge = on_coordinator_discharge;
    server.on_link_remote_attach = on_link_remote_attach;
    OK(muon_loop_listen(loop, "127.0.0.1:0", NULL, &server, NULL, &coordinating));
    OK(muon_loop_listen(loop, "127.0.0.1:0", NULL, NULL, NULL, &refusing));

    snprintf(url, sizeof url, "localhost:%s", argv[1]);
    OK(muon_loop_connect(loop, url, NULL, NULL, NULL, &broker));
    OK(muon_connection_open_sender(broker, "txn-q", NULL, NULL, NULL, &to_queue));
    muon_link_options *o;
    OK(muon_link_options_new(&o));
    OK(muon_link_options_set_credit_window(o, 0));
    OK(muon_link_options_set_auto_accept(o, false));
    muon_handler rh = MUON_HANDLER_INIT;
    rh.on_message = on_message;
    rh.on_link_flow = on_receiver_flow;
    OK(muon_connection_open_receiver(broker, "txn-q", o, &rh, NULL, &from_queue));
    muon_link_options_free(o);

    snprintf(url, sizeof url, "127.0.0.1:%u", (unsigned)muon_listener_port(coordinating));
    OK(muon_loop_connect(loop, url, NULL, NULL, NULL, &own));
    OK(muon_connection_open_sender(own, "inbox", NULL, NULL, NULL, &to_inbox));

    stage = 1;
    declare(broker);
    OK(muon_loop_run(loop));
    CHECK(stage == 14);
    muon_loop_free(loop);
    /* Each transaction's userdata_free, once, after its final event. */
    if (frees != declares || declares != 10) {
        fprintf(stderr, "%d transactions declared, %d userdata freed\n", declares, frees);
        return 1;
    }
    printf("txn_client: ok\n");
    return 0;
}
