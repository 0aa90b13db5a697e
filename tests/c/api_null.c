/* NULL arguments and null handles: every loop, endpoint, event, option and
 * terminus function refuses them with MUON_RESULT_NULL_ARGUMENT (or returns
 * its documented default), never crashes, and leaves out-parameters
 * untouched on error. */
#define _POSIX_C_SOURCE 200809L
#include "api_check.h"

static void never(void *ud, const muon_event *ev) {
    (void)ud;
    (void)ev;
    CHECK(!"no callback runs in this program");
}

static void never_post(void *ctx) {
    (void)ctx;
    CHECK(!"nothing is posted successfully here");
}

static void never_log(void *ud, const char *line) {
    (void)ud;
    (void)line;
}

int main(void) {
    alarm(WATCHDOG_S);
    muon_handler h = MUON_HANDLER_INIT;
    h.on_timer = never;

    /* The loop functions. */
    CHECK_RC(muon_loop_run(NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_loop_run_once(NULL, 0), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_loop_stop(NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_loop_wake(NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_loop_post(NULL, never_post, NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_loop_set_handler(NULL, &h, NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_loop_set_log(NULL, never_log, NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_loop_set_trace(NULL, 0), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_loop_schedule(NULL, 1, &h, NULL, NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_loop_new(NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_loop_try_free(NULL), MUON_RESULT_NULL_ARGUMENT);
    muon_loop_free(NULL); /* ignored */

    muon_loop *loop = NULL;
    OK(muon_loop_new(&loop));
    CHECK(loop != NULL);
    CHECK_RC(muon_loop_post(loop, NULL, NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_loop_set_trace(loop, 0x80), MUON_RESULT_INVALID_ARGUMENT);
    OK(muon_loop_set_trace(loop, 0));
    OK(muon_loop_set_log(loop, NULL, NULL));
    OK(muon_loop_set_handler(loop, NULL, NULL));
    /* Nothing to do: run and run_once return at once. */
    OK(muon_loop_run(loop));
    OK(muon_loop_run_once(loop, 0));

    /* Out-parameters stay as they were on every error. */
    const muon_connection sentinel_c = {(muon_loop *)0x10, 7, 9};
    const muon_listener sentinel_l = {(muon_loop *)0x10, 7, 9};
    const muon_sender sentinel_s = {(muon_loop *)0x10, 7, 9};
    const muon_receiver sentinel_r = {(muon_loop *)0x10, 7, 9};
    const muon_delivery sentinel_d = {(muon_loop *)0x10, 7, 9};
    const muon_timer sentinel_t = {(muon_loop *)0x10, 7, 9};
    muon_connection c = sentinel_c;
    muon_listener l = sentinel_l;
    muon_sender s = sentinel_s;
    muon_receiver r = sentinel_r;
    muon_delivery d = sentinel_d;
    muon_timer t = sentinel_t;

    CHECK_RC(muon_loop_connect(NULL, "127.0.0.1:1", NULL, NULL, NULL, &c), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_loop_connect(loop, NULL, NULL, NULL, NULL, &c), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_loop_connect(loop, "http://example.com", NULL, NULL, NULL, &c),
             MUON_RESULT_INVALID_ARGUMENT);
    CHECK_RC(muon_loop_connect(loop, "amqp://\xff\xfe", NULL, NULL, NULL, &c), MUON_RESULT_INVALID_UTF8);
    CHECK(SAME(c, sentinel_c));
    CHECK_RC(muon_loop_listen(NULL, "127.0.0.1:0", NULL, NULL, NULL, &l), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_loop_listen(loop, NULL, NULL, NULL, NULL, &l), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_loop_listen(loop, "ftp://x", NULL, NULL, NULL, &l), MUON_RESULT_INVALID_ARGUMENT);
    CHECK(SAME(l, sentinel_l));
    CHECK_RC(muon_loop_schedule(NULL, 1, NULL, NULL, &t), MUON_RESULT_NULL_ARGUMENT);
    CHECK(SAME(t, sentinel_t));

    /* The null handle (zeroed) of every type. */
    const muon_connection zc = {0};
    const muon_listener zl = {0};
    const muon_sender zs = {0};
    const muon_receiver zr = {0};
    const muon_delivery zd = {0};
    const muon_timer zt = {0};

    CHECK_RC(muon_timer_cancel(zt), MUON_RESULT_NULL_ARGUMENT);
    CHECK(muon_listener_port(zl) == 0);
    CHECK_RC(muon_listener_close(zl), MUON_RESULT_NULL_ARGUMENT);

    CHECK_RC(muon_connection_set_handler(zc, &h, NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_connection_answer_open(zc), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_connection_close(zc), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_connection_close_with(zc, "amqp:internal-error", NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK(!muon_connection_is_open(zc));
    CHECK(!muon_connection_is_connected(zc));
    CHECK(muon_connection_remote_container_id(zc) == NULL);
    CHECK(muon_connection_remote_hostname(zc) == NULL);
    CHECK(!muon_connection_remote_offers_capability(zc, "x"));
    CHECK(!muon_connection_remote_desires_capability(zc, "x"));
    CHECK(muon_connection_remote_properties(zc) == NULL);
    CHECK(muon_connection_remote_condition(zc) == NULL);
    CHECK(muon_connection_local_condition(zc) == NULL);
    CHECK(muon_connection_user(zc) == NULL);
    CHECK_RC(muon_connection_open_sender(zc, "q", NULL, NULL, NULL, &s), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_connection_open_receiver(zc, "q", NULL, NULL, NULL, &r), MUON_RESULT_NULL_ARGUMENT);
    CHECK(SAME(s, sentinel_s));
    CHECK(SAME(r, sentinel_r));

    CHECK_RC(muon_message_new(NULL), MUON_RESULT_NULL_ARGUMENT);
    muon_message *m = NULL;
    OK(muon_message_new(&m));
    CHECK(m != NULL);
    OK(muon_message_set_body_string(m, "x"));
    CHECK_RC(muon_sender_send(zs, m, &d), MUON_RESULT_NULL_ARGUMENT);
    CHECK(SAME(d, sentinel_d));
    CHECK_RC(muon_sender_answer_open(zs), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_sender_set_handler(zs, &h, NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_sender_set_auto_settle(zs, false), MUON_RESULT_NULL_ARGUMENT);
    CHECK(muon_sender_credit(zs) == 0);
    CHECK_RC(muon_sender_offered(zs, 3), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_sender_drained(zs), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_sender_close(zs), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_sender_close_with(zs, "amqp:internal-error", "x"), MUON_RESULT_NULL_ARGUMENT);
    CHECK(IS_NULL_HANDLE(muon_sender_connection(zs)));
    CHECK(muon_sender_name(zs) == NULL);
    CHECK(muon_sender_remote_target_address(zs) == NULL);
    CHECK(muon_sender_remote_source_address(zs) == NULL);
    CHECK(muon_sender_remote_source(zs) == NULL);
    CHECK(muon_sender_remote_target(zs) == NULL);
    CHECK_RC(muon_sender_set_source_address(zs, "a"), MUON_RESULT_NULL_ARGUMENT);
    CHECK(muon_sender_remote_properties(zs) == NULL);
    CHECK(!muon_sender_remote_offers_capability(zs, "x"));
    CHECK(!muon_sender_remote_desires_capability(zs, "x"));
    CHECK(muon_sender_remote_condition(zs) == NULL);
    CHECK(muon_sender_local_condition(zs) == NULL);

    CHECK_RC(muon_receiver_answer_open(zr), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_receiver_set_handler(zr, &h, NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_receiver_set_auto_accept(zr, false), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_receiver_set_credit_window(zr, 0), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_receiver_flow(zr, 1), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_receiver_drain(zr, 1), MUON_RESULT_NULL_ARGUMENT);
    CHECK(muon_receiver_credit(zr) == 0);
    CHECK(!muon_receiver_is_draining(zr));
    CHECK_RC(muon_receiver_close(zr), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_receiver_close_with(zr, "amqp:internal-error", NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK(IS_NULL_HANDLE(muon_receiver_connection(zr)));
    CHECK(muon_receiver_name(zr) == NULL);
    CHECK(muon_receiver_remote_source_address(zr) == NULL);
    CHECK(muon_receiver_remote_target_address(zr) == NULL);
    CHECK(muon_receiver_remote_source(zr) == NULL);
    CHECK(muon_receiver_remote_target(zr) == NULL);
    CHECK_RC(muon_receiver_set_target_address(zr, "a"), MUON_RESULT_NULL_ARGUMENT);
    CHECK(muon_receiver_remote_properties(zr) == NULL);
    CHECK(!muon_receiver_remote_offers_capability(zr, "x"));
    CHECK(!muon_receiver_remote_desires_capability(zr, "x"));
    CHECK(muon_receiver_remote_condition(zr) == NULL);
    CHECK(muon_receiver_local_condition(zr) == NULL);

    CHECK_RC(muon_delivery_accept(zd), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_delivery_reject(zd, NULL, NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_delivery_release(zd), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_delivery_modify(zd, true, false), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_delivery_settle(zd), MUON_RESULT_NULL_ARGUMENT);
    CHECK(muon_delivery_remote_state(zd) == MUON_DELIVERY_STATE_NONE);
    CHECK(!muon_delivery_is_remote_settled(zd));
    uint8_t tag[8] = {0xAA};
    CHECK(muon_delivery_tag(zd, tag, sizeof tag) == 0);
    CHECK(tag[0] == 0xAA);

    /* Events and conditions. */
    CHECK(muon_event_get_kind(NULL) == MUON_EVENT_KIND_NONE);
    CHECK(muon_event_loop(NULL) == NULL);
    CHECK(IS_NULL_HANDLE(muon_event_connection(NULL)));
    CHECK(IS_NULL_HANDLE(muon_event_sender(NULL)));
    CHECK(IS_NULL_HANDLE(muon_event_receiver(NULL)));
    CHECK(!muon_event_is_receiver(NULL));
    CHECK(IS_NULL_HANDLE(muon_event_delivery(NULL)));
    CHECK(IS_NULL_HANDLE(muon_event_listener(NULL)));
    CHECK(IS_NULL_HANDLE(muon_event_timer(NULL)));
    CHECK(muon_event_message(NULL) == NULL);
    CHECK(muon_event_condition(NULL) == NULL);
    CHECK(muon_condition_name(NULL) == NULL);
    CHECK(muon_condition_description(NULL) == NULL);

    /* Terminus views. */
    CHECK(muon_terminus_address(NULL) == NULL);
    CHECK(!muon_terminus_is_dynamic(NULL));
    CHECK(muon_terminus_durability(NULL) == MUON_DURABILITY_NONE);
    CHECK(muon_terminus_expiry_policy(NULL) == MUON_EXPIRY_POLICY_SESSION_END);
    CHECK(muon_terminus_timeout_ms(NULL) == 0);
    CHECK(muon_terminus_distribution_mode(NULL) == NULL);
    CHECK(muon_terminus_capability_count(NULL) == 0);
    CHECK(muon_terminus_capability(NULL, 0) == NULL);
    CHECK(!muon_terminus_has_capability(NULL, "queue"));
    CHECK(muon_terminus_dynamic_node_properties(NULL) == NULL);
    CHECK(muon_terminus_filter(NULL) == NULL);

    /* Connection options. */
    CHECK_RC(muon_connection_options_new(NULL), MUON_RESULT_NULL_ARGUMENT);
    muon_connection_options *co = (muon_connection_options *)0x10;
    CHECK_RC(muon_connection_options_set_container_id(NULL, "x"), MUON_RESULT_NULL_ARGUMENT);
    CHECK(co == (muon_connection_options *)0x10);
    OK(muon_connection_options_new(&co));
    CHECK_RC(muon_connection_options_set_container_id(co, NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_connection_options_set_hostname(co, NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_connection_options_set_sasl_mechanisms(co, NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_connection_options_set_sasl_mechanisms(co, "PLAIN GSSAPI"), MUON_RESULT_INVALID_ARGUMENT);
    CHECK_RC(muon_connection_options_set_user(co, NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_connection_options_set_password(co, NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_connection_options_set_allow_insecure_plain(NULL, true), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_connection_options_set_sasl_enabled(NULL, true), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_connection_options_set_max_frame_size(co, 100), MUON_RESULT_INVALID_ARGUMENT);
    CHECK_RC(muon_connection_options_set_channel_max(NULL, 1), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_connection_options_set_idle_timeout(NULL, 1), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_connection_options_add_offered_capability(co, NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_connection_options_add_offered_capability(co, ""), MUON_RESULT_INVALID_ARGUMENT);
    CHECK_RC(muon_connection_options_add_desired_capability(co, "caf\xc3\xa9"), MUON_RESULT_INVALID_ARGUMENT);
    CHECK_RC(muon_connection_options_set_handshake(NULL, false), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_connection_options_add_failover_url(co, NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_connection_options_add_failover_url(co, "http://x"), MUON_RESULT_INVALID_ARGUMENT);
    CHECK_RC(muon_connection_options_set_reconnect(NULL, 100, 1000, 0), MUON_RESULT_NULL_ARGUMENT);
    muon_value *not_a_map = NULL;
    OK(muon_value_int(1, &not_a_map));
    CHECK_RC(muon_connection_options_set_properties(co, not_a_map), MUON_RESULT_INVALID_ARGUMENT);
    OK(muon_connection_options_set_properties(co, NULL));
    muon_connection_options_free(co);
    muon_connection_options_free(NULL);

    /* Link options. */
    CHECK_RC(muon_link_options_new(NULL), MUON_RESULT_NULL_ARGUMENT);
    muon_link_options *lo = NULL;
    OK(muon_link_options_new(&lo));
    CHECK_RC(muon_link_options_set_name(lo, NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_link_options_set_name(NULL, "n"), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_link_options_set_dynamic(NULL, true), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_link_options_set_credit_window(NULL, 1), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_link_options_set_auto_accept(NULL, true), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_link_options_set_auto_settle(NULL, true), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_link_options_set_handshake(NULL, true), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_link_options_set_presettled(NULL, true), MUON_RESULT_NULL_ARGUMENT);
    /* Enum values from C are checked, never trusted. */
    CHECK_RC(muon_link_options_set_durability(lo, (enum muon_durability)3),
             MUON_RESULT_INVALID_ARGUMENT);
    CHECK_RC(muon_link_options_set_durability(lo, (enum muon_durability)-1),
             MUON_RESULT_INVALID_ARGUMENT);
    CHECK_RC(muon_link_options_set_distribution_mode(lo, NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_link_options_add_capability(lo, NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_link_options_add_offered_capability(lo, NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_link_options_add_desired_capability(lo, NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_link_options_set_properties(lo, not_a_map), MUON_RESULT_INVALID_ARGUMENT);
    muon_link_options_free(lo);
    muon_link_options_free(NULL);
    muon_value_free(not_a_map);

    /* A real connection, to check NULL arguments next to valid handles. */
    muon_listener lis;
    OK(muon_loop_listen(loop, "127.0.0.1:0", NULL, NULL, NULL, &lis));
    char url[64];
    snprintf(url, sizeof url, "127.0.0.1:%u", (unsigned)muon_listener_port(lis));
    OK(muon_loop_connect(loop, url, NULL, NULL, NULL, &c));
    CHECK_RC(muon_connection_close_with(c, NULL, NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_connection_close_with(c, "", NULL), MUON_RESULT_INVALID_ARGUMENT);
    CHECK(!muon_connection_remote_offers_capability(c, NULL));
    s = sentinel_s;
    OK(muon_connection_open_sender(c, "q", NULL, NULL, NULL, &s));
    CHECK(!SAME(s, sentinel_s));
    d = sentinel_d;
    CHECK_RC(muon_sender_send(s, NULL, &d), MUON_RESULT_NULL_ARGUMENT);
    CHECK(SAME(d, sentinel_d));
    CHECK_RC(muon_sender_set_source_address(s, NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_sender_close_with(s, NULL, "x"), MUON_RESULT_NULL_ARGUMENT);
    /* A sender handle passed off as a receiver is not a receiver. */
    muon_receiver fake = {s.owner, s.index, s.generation};
    CHECK_RC(muon_receiver_flow(fake, 1), MUON_RESULT_STALE_HANDLE);

    /* Freed with a connection and a listener still open: no leak, no
     * callback. */
    muon_message_free(m);
    OK(muon_loop_try_free(loop));
    puts("api_null: ok");
    return 0;
}
