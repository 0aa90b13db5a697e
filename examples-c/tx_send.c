/*
 * tx_send.c: sending in transactions.
 *
 * Sends COUNT messages whose body is the map {"sequence": n} (n from 1) and
 * whose message-id is n, BATCH at a time, each batch in a transaction: it
 * declares a transaction, sends the batch in it as credit allows, commits
 * it, and declares the next once the commit is confirmed. The peer must
 * coordinate transactions (the example broker does); one that refuses
 * ends the program with status 1.
 *
 *   tx_send [-a URL] [-m COUNT] [BATCH]   URL defaults to
 *                                         localhost:5672/examples, COUNT to
 *                                         100, BATCH to 10
 *
 * Prints: all messages committed
 */
#include "common.h"

static long batch, current, committed; /* messages per transaction; in this one; committed */
static muon_sender sender;
static muon_transaction txn;
static bool declared;                  /* txn may take messages */

static void declare(void);

/* Sends the current transaction's messages while there is credit, and
 * commits it once its batch (or the last message) is sent. */
static void send_batch(void) {
    while (declared && muon_sender_credit(sender) > 0 && committed + current < count) {
        long seq = committed + current + 1;
        muon_message *m;
        muon_value *id, *body, *key, *value;
        CHECK(muon_message_new(&m));
        CHECK(muon_value_ulong((uint64_t)seq, &id));
        CHECK(muon_message_set_id(m, id)); /* id moves in */
        CHECK(muon_value_map_new(&body));
        CHECK(muon_value_string("sequence", &key));
        CHECK(muon_value_long(seq, &value));
        CHECK(muon_value_map_put(body, key, value));
        CHECK(muon_message_set_body(m, body));
        CHECK(muon_sender_send_in(sender, txn, m, NULL));
        muon_message_free(m);
        if (++current == batch || committed + current == count) {
            CHECK(muon_transaction_commit(txn));
            declared = false;
        }
    }
}

static void on_link_flow(void *app, const muon_event *ev) {
    (void)app, (void)ev;
    send_batch();
}

static void on_transaction_declared(void *app, const muon_event *ev) {
    (void)app;
    txn = muon_event_transaction(ev);
    declared = true;
    send_batch();
}

static void on_transaction_discharged(void *app, const muon_event *ev) {
    (void)app, (void)ev;
    committed += current;
    current = 0;
    if (committed == count) {
        printf("all messages committed\n");
        finish();
    } else {
        declare();
    }
}

static void on_transaction_failed(void *app, const muon_event *ev) {
    (void)app;
    fail("transaction refused by", describe(muon_event_condition(ev)));
}

static void declare(void) {
    CHECK(muon_connection_declare_transaction(conn, HANDLER(
        .on_transaction_declared = on_transaction_declared,
        .on_transaction_discharged = on_transaction_discharged,
        .on_transaction_failed = on_transaction_failed), NULL, NULL));
}

int main(int argc, char **argv) {
    char *defaults[] = {"10", NULL}, *end;
    count_text = "100";
    setup("tx_send", argc, argv, "Sends COUNT messages {'sequence': n} to the URL's address in "
          "transactions of BATCH messages (default 10), committing each.",
          "how many to send (default 100)", NULL, defaults);
    batch = strtol(args[0], &end, 10);
    if (end == args[0] || *end || batch < 1 || batch > 1000000 || n_args > 1) {
        fprintf(stderr, "%s: BATCH %s: one number from 1 to 1000000\n", program, args[0]);
        return 2;
    }
    if (count == 0) {
        printf("all messages committed\n");
        return run();
    }
    connect_to(url_text, NULL);
    CHECK(muon_connection_open_sender(conn, address, NULL, HANDLER(.on_link_flow = on_link_flow),
                                      NULL, &sender));
    declare();
    return run();
}
