/*
 * tx_recv.c: receiving in transactions.
 *
 * Receives messages from an address and prints each body, one per line,
 * BATCH at a time, each batch acknowledged in a transaction: it declares a
 * transaction, grants credit for one batch, accepts each message in the
 * transaction, commits it once the batch is in, and declares the next once
 * the commit is confirmed. Messages accepted in a transaction that is not
 * committed stay with the peer, which delivers them again. It stops after
 * COUNT messages; -m 0 receives until interrupted (SIGINT or SIGTERM).
 *
 *   tx_recv [-a URL] [-m COUNT] [BATCH]   URL defaults to
 *                                         localhost:5672/examples, COUNT to
 *                                         100, BATCH to 10
 *
 * Prints: each message body, one per line
 */
#include "common.h"

static long batch, current, committed; /* messages per transaction; in this one; committed */
static muon_receiver receiver;
static muon_transaction txn;

static void declare(void);

static void on_message(void *app, const muon_event *ev) {
    (void)app;
    printf("%s\n", body_of(muon_event_message(ev)));
    fflush(stdout);
    CHECK(muon_delivery_accept_in(muon_event_delivery(ev), txn));
    if (++current == batch || committed + current == count) CHECK(muon_transaction_commit(txn));
}

static void on_transaction_declared(void *app, const muon_event *ev) {
    long left = count == 0 ? batch : count - committed;
    (void)app;
    txn = muon_event_transaction(ev);
    CHECK(muon_receiver_flow(receiver, (uint32_t)(left < batch ? left : batch)));
}

static void on_transaction_discharged(void *app, const muon_event *ev) {
    (void)app, (void)ev;
    committed += current;
    current = 0;
    if (count == 0 || committed < count) declare();
    else finish();
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
    muon_link_options *o;
    count_text = "100";
    setup("tx_recv", argc, argv, "Receives messages from the URL's address and prints their "
          "bodies, accepting them in transactions of BATCH messages (default 10).",
          "how many to receive (default 100; 0: until interrupted)", NULL, defaults);
    batch = strtol(args[0], &end, 10);
    if (end == args[0] || *end || batch < 1 || batch > 1000000 || n_args > 1) {
        fprintf(stderr, "%s: BATCH %s: one number from 1 to 1000000\n", program, args[0]);
        return 2;
    }
    connect_to(url_text, NULL);
    CHECK(muon_link_options_new(&o));
    CHECK(muon_link_options_set_credit_window(o, 0)); /* credit by hand, a batch at a time */
    CHECK(muon_link_options_set_auto_accept(o, false));
    CHECK(muon_connection_open_receiver(conn, address, o, HANDLER(.on_message = on_message), NULL,
                                        &receiver));
    muon_link_options_free(o);
    declare();
    return run();
}
