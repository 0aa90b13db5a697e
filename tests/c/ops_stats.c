/* Statistics through the C API over a real connection: one loop listens on
 * 127.0.0.1:0 and connects to itself; the client sends N messages and the
 * server's receiver gives them the four outcomes in turn (accept, reject,
 * release, modify). Once the client's sender has every outcome it detaches;
 * both links' statistics are read when the detach is answered, and the
 * connections' once the traffic has stopped (polled by a timer): exact
 * message and outcome counts, bytes and frames equal on both ends, SASL
 * mechanism, time connected. Then a struct_size of an older program, NULL,
 * and a stale handle. */
#define _POSIX_C_SOURCE 200809L
#include "api_check.h"

#define N 12

struct app {
    muon_loop *loop;
    muon_listener lis;
    muon_connection client, server;
    muon_sender sender;
    int sent, outcomes, received, polls;
    muon_link_stats snd, rcv;
    bool snd_read, rcv_read;
};

static void on_accepted_conn(void *ud, const muon_event *ev) {
    struct app *a = ud;
    a->server = muon_event_connection(ev);
}

static void on_attach(void *ud, const muon_event *ev) {
    (void)ud;
    muon_receiver r = muon_event_receiver(ev);
    if (!IS_NULL_HANDLE(r))
        OK(muon_receiver_set_auto_accept(r, false));
}

static void on_message(void *ud, const muon_event *ev) {
    struct app *a = ud;
    muon_delivery d = muon_event_delivery(ev);
    switch (a->received++ % 4) {
    case 0: OK(muon_delivery_accept(d)); break;
    case 1: OK(muon_delivery_reject(d, "test:no", "rejected by the test")); break;
    case 2: OK(muon_delivery_release(d)); break;
    default: OK(muon_delivery_modify(d, true, false)); break;
    }
    muon_link_stats s = MUON_LINK_STATS_INIT;
    OK(muon_receiver_get_stats(muon_event_receiver(ev), &s));
    /* This delivery is counted already (others may have arrived in the
     * same read); its outcome as well. */
    CHECK(s.messages >= (uint64_t)a->received);
    CHECK(s.accepted + s.rejected + s.released + s.modified == (uint64_t)a->received);
}

/* The client's detach arrived: read the receiver's numbers. */
static void on_server_link_close(void *ud, const muon_event *ev) {
    struct app *a = ud;
    muon_receiver r = muon_event_receiver(ev);
    if (IS_NULL_HANDLE(r))
        return;
    OK(muon_receiver_get_stats(r, &a->rcv));
    a->rcv_read = true;
}

static void send_some(struct app *a) {
    while (a->sent < N && muon_sender_credit(a->sender) > 0) {
        muon_message *m = NULL;
        OK(muon_message_new(&m));
        OK(muon_message_set_body_string(m, "counted"));
        OK(muon_sender_send(a->sender, m, NULL));
        muon_message_free(m);
        a->sent++;
    }
}

static void on_flow(void *ud, const muon_event *ev) {
    (void)ev;
    send_some(ud);
}

static void outcome(struct app *a) {
    if (++a->outcomes == N)
        OK(muon_sender_close(a->sender));
}
static void on_acc(void *ud, const muon_event *ev) { (void)ev; outcome(ud); }
static void on_rej(void *ud, const muon_event *ev) { (void)ev; outcome(ud); }
static void on_rel(void *ud, const muon_event *ev) { (void)ev; outcome(ud); }
static void on_mod(void *ud, const muon_event *ev) { (void)ev; outcome(ud); }

static void poll_connections(void *ud, const muon_event *ev);

static void schedule_poll(struct app *a) {
    muon_handler t = MUON_HANDLER_INIT;
    t.on_timer = poll_connections;
    OK(muon_loop_schedule(a->loop, 20, &t, a, NULL));
}

/* The server answered the detach: read the sender's numbers. */
static void on_sender_close(void *ud, const muon_event *ev) {
    struct app *a = ud;
    OK(muon_sender_get_stats(muon_event_sender(ev), &a->snd));
    a->snd_read = true;
    schedule_poll(a);
}

/* Both connections' numbers, once the last frames have arrived. */
static void poll_connections(void *ud, const muon_event *ev) {
    (void)ev;
    struct app *a = ud;
    muon_connection_stats c = MUON_CONNECTION_STATS_INIT, s = MUON_CONNECTION_STATS_INIT;
    OK(muon_connection_get_stats(a->client, &c));
    OK(muon_connection_get_stats(a->server, &s));
    bool quiet = a->rcv_read && c.bytes_out == s.bytes_in && c.bytes_in == s.bytes_out &&
                 c.frames_out == s.frames_in && c.frames_in == s.frames_out;
    if (!quiet) {
        CHECK(++a->polls < 200);
        schedule_poll(a);
        return;
    }
    CHECK(c.struct_size == sizeof c);
    CHECK(c.bytes_out > 0 && c.bytes_in > 0 && c.frames_out > 0 && c.frames_in > 0);
    /* At least open, begin, attach, N transfers, detach each way. */
    CHECK(c.frames_out >= 4 + N);
    CHECK(c.messages_sent == N && c.messages_received == 0);
    CHECK(s.messages_received == N && s.messages_sent == 0);
    CHECK(c.accepted == N / 4 && c.rejected == N / 4 && c.released == N / 4 &&
          c.modified == N / 4);
    CHECK(s.accepted == N / 4 && s.rejected == N / 4 && s.released == N / 4 &&
          s.modified == N / 4);
    CHECK(c.settled == N && s.settled == N);
    CHECK(c.unsettled == 0 && s.unsettled == 0);
    CHECK(c.connected && s.connected && !c.tls && !s.tls);
    CHECK(c.tls_protocol[0] == '\0' && c.tls_cipher[0] == '\0');
    CHECK(c.reconnects == 0);
    CHECK(c.connected_ms < 60000);
    CHECK_STR(c.sasl_mechanism, "ANONYMOUS");
    CHECK_STR(s.sasl_mechanism, "ANONYMOUS");

    /* A program built when the struct ended after frames_in fills only
     * what it knows: the rest stays as it was. */
    struct {
        muon_connection_stats s;
        char guard[8];
    } older;
    memset(&older, 0x5a, sizeof older);
    older.s.struct_size = offsetof(muon_connection_stats, frames_out);
    OK(muon_connection_get_stats(a->client, &older.s));
    CHECK(older.s.struct_size == offsetof(muon_connection_stats, frames_out));
    CHECK(older.s.bytes_in == c.bytes_in && older.s.frames_in == c.frames_in);
    const unsigned char *rest = (const unsigned char *)&older.s.frames_out;
    for (size_t i = 0; i < sizeof older - offsetof(muon_connection_stats, frames_out); i++)
        CHECK(rest[i] == 0x5a);
    /* A size newer than ours: ours is filled, and said. */
    struct {
        muon_connection_stats s;
        uint64_t newer_field;
    } newer;
    memset(&newer, 0, sizeof newer);
    newer.s.struct_size = sizeof newer;
    OK(muon_connection_get_stats(a->client, &newer.s));
    CHECK(newer.s.struct_size == sizeof(muon_connection_stats));
    CHECK(newer.newer_field == 0);
    c.struct_size = 1;
    CHECK_RC(muon_connection_get_stats(a->client, &c), MUON_RESULT_INVALID_ARGUMENT);
    CHECK_RC(muon_connection_get_stats(a->client, NULL), MUON_RESULT_NULL_ARGUMENT);

    OK(muon_connection_close(a->client));
    OK(muon_listener_close(a->lis));
}

int main(void) {
    alarm(WATCHDOG_S);
    struct app a;
    memset(&a, 0, sizeof a);
    a.snd.struct_size = sizeof a.snd;
    a.rcv.struct_size = sizeof a.rcv;
    OK(muon_loop_new(&a.loop));
    muon_handler lh = MUON_HANDLER_INIT;
    lh.on_connection_accepted = on_accepted_conn;
    lh.on_link_remote_attach = on_attach;
    lh.on_message = on_message;
    lh.on_link_remote_close = on_server_link_close;
    OK(muon_loop_listen(a.loop, "127.0.0.1:0", NULL, &lh, &a, &a.lis));
    char url[64];
    snprintf(url, sizeof url, "127.0.0.1:%u", (unsigned)muon_listener_port(a.lis));
    OK(muon_loop_connect(a.loop, url, NULL, NULL, NULL, &a.client));
    muon_handler sh = MUON_HANDLER_INIT;
    sh.on_link_flow = on_flow;
    sh.on_accepted = on_acc;
    sh.on_rejected = on_rej;
    sh.on_released = on_rel;
    sh.on_modified = on_mod;
    sh.on_link_remote_close = on_sender_close;
    OK(muon_connection_open_sender(a.client, "q", NULL, &sh, &a, &a.sender));
    /* Before anything was sent: all zero, credit not granted yet. */
    muon_link_stats early = MUON_LINK_STATS_INIT;
    OK(muon_sender_get_stats(a.sender, &early));
    CHECK(early.messages == 0 && early.settled == 0 && early.unsettled == 0);
    OK(muon_loop_run(a.loop));

    CHECK(a.snd_read && a.rcv_read);
    CHECK(a.snd.messages == N && a.rcv.messages == N);
    CHECK(a.snd.accepted == N / 4 && a.snd.rejected == N / 4 && a.snd.released == N / 4 &&
          a.snd.modified == N / 4);
    CHECK(a.rcv.accepted == N / 4 && a.rcv.rejected == N / 4 && a.rcv.released == N / 4 &&
          a.rcv.modified == N / 4);
    CHECK(a.snd.settled == N && a.rcv.settled == N);
    CHECK(a.snd.unsettled == 0 && a.rcv.unsettled == 0 && a.snd.queued == 0);
    CHECK(a.rcv.credit > 0); /* the receiver's window, granted again */

    /* The links and the connection are gone: stale handles. */
    muon_link_stats s = MUON_LINK_STATS_INIT;
    CHECK_RC(muon_sender_get_stats(a.sender, &s), MUON_RESULT_STALE_HANDLE);
    muon_connection_stats cs = MUON_CONNECTION_STATS_INIT;
    CHECK_RC(muon_connection_get_stats(a.client, &cs), MUON_RESULT_STALE_HANDLE);
    muon_receiver none;
    memset(&none, 0, sizeof none);
    CHECK_RC(muon_receiver_get_stats(none, &s), MUON_RESULT_NULL_ARGUMENT);
    muon_loop_free(a.loop);
    puts("ops_stats: ok");
    return 0;
}
