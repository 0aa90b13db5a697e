/* The helpers that keep C programs short, from C:
 *   1. muon_url_parse and its getters: schemes, default ports, IPv6 in
 *      brackets, percent-decoded user, password and address, the origin
 *      (never the password).
 *   2. Malformed URLs: each refused with muon_last_error() naming the URL
 *      and the bad part, never the password; muon_loop_connect and
 *      muon_loop_listen report a bad URL the same way, and an address in
 *      use; a success clears muon_last_error().
 *   3. Application property shortcuts: typed setters, typed getters with
 *      MUON_RESULT_NOT_FOUND and MUON_RESULT_WRONG_TYPE, integers of every
 *      width read as a long, through an encode/decode round trip.
 *   4. Request/response over loopback TCP (a listener in the same loop is
 *      the client's peer): muon_connection_send_reply answers on the
 *      sender muon_connection_sender_to opened for the reply-to address
 *      and reuses, with the request's correlation-id, else its message-id;
 *      a request without reply-to is MUON_RESULT_NOT_FOUND; a sender
 *      closed here is not reused. The client sends on muon_connection_sender_to
 *      too.
 *   5. muon_loop_wake_on_signal: a raised SIGUSR1 becomes on_wake; signals
 *      that must keep their default action are refused. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>

#include "api_check.h"

/* ---- 1. parsing ------------------------------------------------------------- */

static void parse_forms(void) {
    muon_url *u;
    OK(muon_url_parse("localhost:5672/examples", &u));
    CHECK_STR(muon_url_scheme(u), "amqp");
    CHECK_STR(muon_url_host(u), "localhost");
    CHECK(muon_url_port(u) == 5672);
    CHECK_STR(muon_url_address(u), "examples");
    CHECK(muon_url_user(u) == NULL && muon_url_password(u) == NULL);
    CHECK_STR(muon_url_origin(u), "amqp://localhost:5672");
    muon_url_free(u);

    OK(muon_url_parse("AMQPS://gu%40st:p%3Ass%2Fw@[::1]/%2Fqueue%2Fq%201", &u));
    CHECK_STR(muon_url_scheme(u), "amqps");
    CHECK_STR(muon_url_user(u), "gu@st");
    CHECK_STR(muon_url_password(u), "p:ss/w");
    CHECK_STR(muon_url_host(u), "::1");
    CHECK(muon_url_port(u) == 5671);
    CHECK_STR(muon_url_address(u), "/queue/q 1");
    CHECK_STR(muon_url_origin(u), "amqps://[::1]:5671");
    muon_url_free(u);

    OK(muon_url_parse("amqp://bob@127.0.0.1:0//queue/x", &u));
    CHECK_STR(muon_url_user(u), "bob");
    CHECK(muon_url_password(u) == NULL);
    CHECK(muon_url_port(u) == 0);
    CHECK_STR(muon_url_address(u), "/queue/x");
    muon_url_free(u);
    CHECK(muon_last_error() == NULL); /* a success clears it */

    /* NULL everywhere is an error or a default, never a crash. */
    CHECK_RC(muon_url_parse(NULL, &u), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_url_parse("h", NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK(muon_url_host(NULL) == NULL && muon_url_port(NULL) == 0);
    CHECK(muon_url_scheme(NULL) == NULL && muon_url_origin(NULL) == NULL);
    muon_url_free(NULL);
    printf("parse: ok\n");
}

/* ---- 2. errors ---------------------------------------------------------------- */

/* `text` is refused with a message that holds `part` and not "s3cret". */
static void refused(const char *text, const char *part) {
    muon_url *u = (muon_url *)&u; /* not NULL: a refusal must leave it alone */
    CHECK_RC(muon_url_parse(text, &u), MUON_RESULT_INVALID_ARGUMENT);
    CHECK(u == (muon_url *)&u);
    const char *why = muon_last_error();
    CHECK(why != NULL);
    if (strstr(why, part) == NULL || strstr(why, "s3cret") != NULL) {
        fprintf(stderr, "%s: unexpected message: %s\n", text, why);
        exit(1);
    }
    printf("%s -> %s\n", text, why);
}

static void parse_errors(void) {
    refused("amqp://:::/x", "the host \":::\" has more than one ':'");
    refused("host:99999/q", "invalid URL \"host:99999/q\": the port 99999 is out of range");
    refused("", "the URL is empty");
    refused("localhost:abc/q", "the port \"abc\" is not a number");
    refused("http://broker.example.com/q", "the scheme \"http\" is not supported");
    refused("amqp://alice:s3cret@host:99999/q", "\"amqp://alice:***@host:99999/q\"");
    refused("amqp://alice:s3cr%zzt@host/q", "bad percent-escape in the password");
    refused("amqp://alice:s3c/ret@host/q", "write '/' in a user name or password as %2F");
    refused("amqp://[::1/q", "has no closing ']'");
    refused("amqp://h/%zz", "bad percent-escape \"%zz\" in the address");

    /* The same reasons from muon_loop_connect and muon_loop_listen. */
    muon_loop *loop;
    OK(muon_loop_new(&loop));
    muon_connection c;
    CHECK_RC(muon_loop_connect(loop, "amqp://bob:s3cret@localhost:abc/q", NULL, NULL, NULL, &c),
             MUON_RESULT_INVALID_ARGUMENT);
    CHECK(strstr(muon_last_error(), "the port \"abc\" is not a number") != NULL);
    CHECK(strstr(muon_last_error(), "bob:***@") != NULL);
    CHECK(strstr(muon_last_error(), "s3cret") == NULL);
    muon_listener l, l2;
    CHECK_RC(muon_loop_listen(loop, "http://127.0.0.1:0", NULL, NULL, NULL, &l),
             MUON_RESULT_INVALID_ARGUMENT);
    CHECK(strstr(muon_last_error(), "the scheme \"http\" is not supported") != NULL);
    OK(muon_loop_listen(loop, "127.0.0.1:0", NULL, NULL, NULL, &l));
    CHECK(muon_last_error() == NULL);
    char taken[64];
    snprintf(taken, sizeof taken, "127.0.0.1:%u", (unsigned)muon_listener_port(l));
    CHECK_RC(muon_loop_listen(loop, taken, NULL, NULL, NULL, &l2), MUON_RESULT_ADDRESS_IN_USE);
    CHECK(strstr(muon_last_error(), "cannot listen on") != NULL);
    CHECK(strstr(muon_last_error(), taken) != NULL);
    printf("listen: %s\n", muon_last_error());
    OK(muon_loop_connect(loop, taken, NULL, NULL, NULL, &c));
    CHECK(muon_last_error() == NULL);
    OK(muon_connection_close(c));
    OK(muon_listener_close(l));
    OK(muon_loop_run(loop));
    muon_loop_free(loop);
    printf("errors: ok\n");
}

/* ---- 3. properties ------------------------------------------------------------ */

static void properties(void) {
    muon_message *m, *back;
    OK(muon_message_new(&m));
    OK(muon_message_set_property_string(m, "colour", "red"));
    OK(muon_message_set_property_long(m, "count", -42));
    OK(muon_message_set_property_bool(m, "urgent", true));
    OK(muon_message_set_property_string(m, "colour", "blue")); /* replaces */
    muon_value *v;
    OK(muon_value_ubyte(200, &v));
    OK(muon_message_set_property(m, "small", v));
    OK(muon_value_ulong(UINT64_MAX, &v));
    OK(muon_message_set_property(m, "huge", v));
    CHECK(muon_message_property_count(m) == 5);

    uint8_t buf[512];
    size_t len;
    OK(muon_message_encode(m, buf, sizeof buf, &len));
    OK(muon_message_decode(buf, len, &back));
    muon_bytes s;
    int64_t n;
    bool b;
    OK(muon_message_get_property_string(back, "colour", &s));
    CHECK(s.len == 4 && memcmp(s.ptr, "blue", 4) == 0);
    OK(muon_message_get_property_long(back, "count", &n));
    CHECK(n == -42);
    OK(muon_message_get_property_long(back, "small", &n));
    CHECK(n == 200);
    OK(muon_message_get_property_bool(back, "urgent", &b));
    CHECK(b);
    n = 7;
    CHECK_RC(muon_message_get_property_long(back, "huge", &n), MUON_RESULT_OUT_OF_RANGE);
    CHECK_RC(muon_message_get_property_long(back, "colour", &n), MUON_RESULT_WRONG_TYPE);
    CHECK_RC(muon_message_get_property_bool(back, "count", &b), MUON_RESULT_WRONG_TYPE);
    CHECK_RC(muon_message_get_property_string(back, "urgent", &s), MUON_RESULT_WRONG_TYPE);
    CHECK_RC(muon_message_get_property_long(back, "absent", &n), MUON_RESULT_NOT_FOUND);
    CHECK(n == 7); /* untouched on every error */
    CHECK_RC(muon_message_get_property_bool(back, NULL, &b), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_message_get_property_string(back, "colour", NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_message_set_property_string(m, "k", NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_message_set_property_string(m, "k", "\xff"), MUON_RESULT_INVALID_UTF8);
    CHECK_RC(muon_message_set_property_long(NULL, "k", 1), MUON_RESULT_NULL_ARGUMENT);
    CHECK_STR(muon_result_name(MUON_RESULT_NOT_FOUND), "MUON_RESULT_NOT_FOUND");
    char text[256];
    muon_value_format(muon_message_property(back, "colour"), text, sizeof text);
    printf("property colour = %s\n", text);
    muon_message_free(back);
    muon_message_free(m);
    printf("properties: ok\n");
}

/* ---- 4. request/response ------------------------------------------------------ */

struct rr {
    muon_loop *loop;
    muon_listener listener;
    muon_connection client;
    muon_sender first_reply_sender; /* what the server's sender_to gave first */
    int served, answers, refused;
};

/* The server side: the connection the listener accepted. */
static void server_on_message(void *app, const muon_event *ev) {
    struct rr *t = app;
    const muon_message *req = muon_event_message(ev);
    muon_connection conn = muon_event_connection(ev);
    muon_message *reply;
    OK(muon_message_new(&reply));
    OK(muon_message_set_body_string(reply, "answer"));
    muon_result rc = muon_connection_send_reply(conn, req, reply, NULL);
    if (muon_message_reply_to(req) == NULL) {
        CHECK_RC(rc, MUON_RESULT_NOT_FOUND);
        CHECK(muon_message_to(reply) == NULL); /* unchanged */
        t->refused++;
        OK(muon_delivery_reject(muon_event_delivery(ev), "amqp:precondition-failed", "no reply-to"));
        muon_message_free(reply);
        return;
    }
    OK(rc);
    CHECK_STR(muon_message_to(reply), muon_message_reply_to(req));
    CHECK_RC(muon_connection_send_reply(conn, req, (muon_message *)req, NULL),
             MUON_RESULT_INVALID_ARGUMENT);
    muon_message_free(reply);

    muon_sender s;
    OK(muon_connection_sender_to(conn, muon_message_reply_to(req), &s));
    if (t->served++ == 0) {
        t->first_reply_sender = s;
        /* A sender closed here is not reused: the next call opens another. */
        muon_sender x, y;
        OK(muon_connection_sender_to(conn, "elsewhere", &x));
        CHECK(!SAME(x, s));
        OK(muon_sender_close(x));
        OK(muon_connection_sender_to(conn, "elsewhere", &y));
        CHECK(!SAME(x, y));
        OK(muon_sender_close(y));
    } else {
        CHECK(SAME(s, t->first_reply_sender)); /* reused */
    }
}

static void send_request(struct rr *t, muon_sender s, const char *reply_to, bool with_corr,
                         uint64_t id) {
    muon_message *m;
    muon_value *v;
    OK(muon_message_new(&m));
    OK(muon_message_set_body_string(m, "question"));
    if (reply_to) OK(muon_message_set_reply_to(m, reply_to));
    OK(muon_value_ulong(id, &v));
    OK(muon_message_set_id(m, v));
    if (with_corr) {
        OK(muon_value_string("conversation", &v));
        OK(muon_message_set_correlation_id(m, v));
    }
    OK(muon_sender_send(s, m, NULL));
    muon_message_free(m);
    (void)t;
}

/* The client side. */
static void client_on_open(void *app, const muon_event *ev) {
    struct rr *t = app;
    muon_sender s;
    (void)ev;
    /* sender_to on the client too: one sender for all four requests. */
    OK(muon_connection_sender_to(t->client, "requests", &s));
    send_request(t, s, "replies", true, 1);
    send_request(t, s, "replies", false, 2);
    send_request(t, s, NULL, false, 3);
    muon_sender again;
    OK(muon_connection_sender_to(t->client, "requests", &again));
    CHECK(SAME(again, s));
    send_request(t, again, "replies", false, 4);
}

/* Replies arrive on links the server's reply senders attached. */
static void client_on_message(void *app, const muon_event *ev) {
    struct rr *t = app;
    const muon_value *corr = muon_message_correlation_id(muon_event_message(ev));
    char text[64];
    muon_value_format(corr, text, sizeof text);
    printf("reply %d: correlation-id %s\n", t->answers + 1, text);
    if (t->answers == 0) CHECK_STR(text, "conversation");
    if (t->answers == 1) CHECK_STR(text, "2");
    if (t->answers == 2) CHECK_STR(text, "4");
    if (++t->answers == 3) {
        OK(muon_connection_close(t->client));
        OK(muon_listener_close(t->listener));
    }
}

static void client_on_rejected(void *app, const muon_event *ev) {
    struct rr *t = app;
    CHECK_STR(muon_condition_name(muon_event_condition(ev)), "amqp:precondition-failed");
    t->refused++;
}

static void request_response(void) {
    struct rr t = {0};
    OK(muon_loop_new(&t.loop));
    muon_handler sh = MUON_HANDLER_INIT;
    sh.on_message = server_on_message;
    OK(muon_loop_listen(t.loop, "127.0.0.1:0", NULL, &sh, &t, &t.listener));
    char url[64];
    snprintf(url, sizeof url, "127.0.0.1:%u", (unsigned)muon_listener_port(t.listener));
    muon_handler ch = MUON_HANDLER_INIT;
    ch.on_connection_remote_open = client_on_open;
    ch.on_message = client_on_message;
    ch.on_rejected = client_on_rejected;
    OK(muon_loop_connect(t.loop, url, NULL, &ch, &t, &t.client));
    /* Bad arguments. */
    muon_sender s;
    muon_connection null_conn = {0};
    CHECK_RC(muon_connection_sender_to(t.client, NULL, &s), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_connection_sender_to(t.client, "x", NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_connection_sender_to(null_conn, "x", &s), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_connection_send_reply(t.client, NULL, NULL, NULL), MUON_RESULT_NULL_ARGUMENT);
    OK(muon_loop_run(t.loop));
    CHECK(t.served == 3 && t.answers == 3 && t.refused == 2);
    muon_loop_free(t.loop);
    printf("request/response: ok\n");
}

/* ---- 5. signals ---------------------------------------------------------------- */

static int wakes;

static void on_wake(void *app, const muon_event *ev) {
    (void)ev;
    wakes++;
    OK(muon_listener_close(*(muon_listener *)app));
}

static void signals(void) {
    muon_loop *loop;
    muon_listener l;
    OK(muon_loop_new(&loop));
    muon_handler h = MUON_HANDLER_INIT;
    h.on_wake = on_wake;
    OK(muon_loop_set_handler(loop, &h, &l));
    OK(muon_loop_listen(loop, "127.0.0.1:0", NULL, NULL, NULL, &l));
    CHECK_RC(muon_loop_wake_on_signal(NULL, SIGUSR1), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_loop_wake_on_signal(loop, 0), MUON_RESULT_INVALID_ARGUMENT);
    CHECK_RC(muon_loop_wake_on_signal(loop, 65), MUON_RESULT_INVALID_ARGUMENT);
    CHECK_RC(muon_loop_wake_on_signal(loop, SIGKILL), MUON_RESULT_INVALID_ARGUMENT);
    CHECK_RC(muon_loop_wake_on_signal(loop, SIGSEGV), MUON_RESULT_INVALID_ARGUMENT);
    OK(muon_loop_wake_on_signal(loop, SIGUSR1));
    OK(muon_loop_wake_on_signal(loop, SIGUSR1)); /* again: the same */
    CHECK(raise(SIGUSR1) == 0); /* would end the process without the handler */
    OK(muon_loop_run(loop)); /* ends once on_wake closed the listener */
    CHECK(wakes == 1);
    muon_loop_free(loop);
    CHECK(raise(SIGUSR1) == 0); /* after the loop is gone: nothing happens */
    printf("signals: ok\n");
}

int main(void) {
    alarm(WATCHDOG_S);
    parse_forms();
    parse_errors();
    properties();
    request_response();
    signals();
    printf("api_url: ok\n");
    return 0;
}
