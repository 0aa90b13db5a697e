/* The process-wide log through the C API, over real connections on
 * 127.0.0.1: a SASL PLAIN login with a wrong password (both ends log a
 * SASL error; the password is in no line, frame trace included), and a
 * connection that loses its transport and reconnects through its failover
 * URL (reconnect lines, the loss, the failover choice; the statistics
 * count the reconnect). The frame trace of a loop with no log of its own
 * comes to the callback as category frames, level debug, in the spec's
 * notation with a timestamp and the connection's id.
 *
 * With the argument "env" no callback and no level are set: tests/ops.rs
 * runs it with MUON_LOG and MUON_TRACE and reads standard error. */
#define _POSIX_C_SOURCE 200809L
#include "api_check.h"

#define PASSWORD "hunter2-wrong-pw"
#define MAX_LINES 4096

static struct {
    muon_log_level level;
    muon_log_category category;
    char text[512];
} lines[MAX_LINES];
static int nlines;
static int reentrant_checked;
/* The loop and client of wrong_password while it runs: the callback is
 * called in the middle of that loop's work, and every call on the loop
 * from there is refused (calling it would borrow the loop a second time). */
static muon_loop *logging_loop;
static muon_connection logging_client;
static int loop_calls_refused;

static void on_log(void *context, muon_log_level level, muon_log_category category,
                   const char *message) {
    CHECK(context == (void *)lines);
    if (!reentrant_checked++)
        CHECK_RC(muon_set_log_callback(NULL, NULL), MUON_RESULT_REENTRANT);
    CHECK(strstr(message, PASSWORD) == NULL);
    if (logging_loop != NULL) {
        CHECK_RC(muon_loop_stop(logging_loop), MUON_RESULT_REENTRANT);
        CHECK_RC(muon_loop_run_once(logging_loop, 0), MUON_RESULT_REENTRANT);
        CHECK_RC(muon_loop_try_free(logging_loop), MUON_RESULT_REENTRANT);
        muon_loop_free(logging_loop); /* does nothing: refused too */
        CHECK(!muon_connection_is_open(logging_client));
        CHECK_RC(muon_connection_close(logging_client), MUON_RESULT_REENTRANT);
        loop_calls_refused++;
    }
    if (nlines < MAX_LINES) {
        lines[nlines].level = level;
        lines[nlines].category = category;
        snprintf(lines[nlines].text, sizeof lines[nlines].text, "%s", message);
        nlines++;
    }
}

/* The first line of `category` at `level` holding every needle, or NULL. */
static const char *find(muon_log_category category, muon_log_level level, const char *a,
                        const char *b) {
    for (int i = 0; i < nlines; i++)
        if (lines[i].category == category && lines[i].level == level &&
            strstr(lines[i].text, a) && (b == NULL || strstr(lines[i].text, b)))
            return lines[i].text;
    return NULL;
}

#define EXPECT(cat_, lvl_, a_, b_)                                                 \
    do {                                                                           \
        if (find(cat_, lvl_, a_, b_) == NULL) {                                    \
            fprintf(stderr, "%s:%d: no %s line with \"%s\" \"%s\"; lines:\n",     \
                    __FILE__, __LINE__, #cat_, a_, #b_);                           \
            for (int i = 0; i < nlines; i++)                                       \
                fprintf(stderr, "  %d %d %s\n", (int)lines[i].category,            \
                        (int)lines[i].level, lines[i].text);                       \
            exit(1);                                                               \
        }                                                                          \
    } while (0)

/* ---- a SASL PLAIN login with a wrong password ----------------------------- */

struct sasl_run {
    muon_listener lis;
    muon_connection client;
    int disconnected;
};

static void sasl_disconnected(void *ud, const muon_event *ev) {
    struct sasl_run *r = ud;
    if (SAME(muon_event_connection(ev), r->client))
        r->disconnected++;
}

static void sasl_final(void *ud, const muon_event *ev) {
    struct sasl_run *r = ud;
    if (SAME(muon_event_connection(ev), r->client))
        OK(muon_listener_close(r->lis));
}

static void wrong_password(bool trace) {
    struct sasl_run r;
    memset(&r, 0, sizeof r);
    muon_loop *loop = NULL;
    OK(muon_loop_new(&loop));
    if (trace)
        OK(muon_loop_set_trace(loop, MUON_TRACE_FRAMES));
    muon_handler h = MUON_HANDLER_INIT;
    h.on_disconnected = sasl_disconnected;
    h.on_connection_final = sasl_final;
    OK(muon_loop_set_handler(loop, &h, &r));
    muon_connection_options *so = NULL;
    OK(muon_connection_options_new(&so));
    OK(muon_connection_options_set_allow_insecure_plain(so, true));
    OK(muon_connection_options_add_user(so, "alice", "secret"));
    OK(muon_connection_options_set_container_id(so, "ops-server"));
    OK(muon_loop_listen(loop, "127.0.0.1:0", so, NULL, NULL, &r.lis));
    muon_connection_options_free(so);
    muon_connection_options *co = NULL;
    OK(muon_connection_options_new(&co));
    OK(muon_connection_options_set_user(co, "alice"));
    OK(muon_connection_options_set_password(co, PASSWORD));
    OK(muon_connection_options_set_sasl_mechanisms(co, "PLAIN"));
    OK(muon_connection_options_set_allow_insecure_plain(co, true));
    OK(muon_connection_options_set_container_id(co, "ops-client"));
    char url[64];
    snprintf(url, sizeof url, "127.0.0.1:%u", (unsigned)muon_listener_port(r.lis));
    OK(muon_loop_connect(loop, url, co, NULL, NULL, &r.client));
    muon_connection_options_free(co);
    logging_loop = loop;
    logging_client = r.client;
    OK(muon_loop_run(loop));
    logging_loop = NULL;
    CHECK(r.disconnected == 1);
    muon_loop_free(loop);
}

/* ---- a reconnect through the failover URL --------------------------------- */

struct rc_run {
    muon_loop *loop;
    muon_listener lis;
    muon_connection client;
    int server_opens, reconnected;
};

static void rc_server_open(void *ud, const muon_event *ev) {
    struct rc_run *r = ud;
    /* The first server-side connection is cut: the client reconnects. */
    if (r->server_opens++ == 0)
        OK(muon_connection_abort(muon_event_connection(ev)));
}

static void rc_reconnected(void *ud, const muon_event *ev) {
    struct rc_run *r = ud;
    r->reconnected++;
    muon_connection_stats s = MUON_CONNECTION_STATS_INIT;
    OK(muon_connection_get_stats(muon_event_connection(ev), &s));
    CHECK(s.reconnects == 1);
    CHECK(s.connected);
}

static void rc_client_open(void *ud, const muon_event *ev) {
    struct rc_run *r = ud;
    if (r->reconnected == 1) {
        muon_connection_stats s = MUON_CONNECTION_STATS_INIT;
        OK(muon_connection_get_stats(muon_event_connection(ev), &s));
        /* Two opens read in all: counts span both transports. */
        CHECK(s.frames_in >= 2 && s.reconnects == 1);
        OK(muon_connection_close(muon_event_connection(ev)));
        OK(muon_listener_close(r->lis));
    }
}

static void reconnect(bool trace) {
    struct rc_run r;
    memset(&r, 0, sizeof r);
    OK(muon_loop_new(&r.loop));
    if (trace)
        OK(muon_loop_set_trace(r.loop, MUON_TRACE_FRAMES));
    muon_handler lh = MUON_HANDLER_INIT;
    lh.on_connection_remote_open = rc_server_open;
    OK(muon_loop_listen(r.loop, "127.0.0.1:0", NULL, &lh, &r, &r.lis));
    char url[64];
    snprintf(url, sizeof url, "127.0.0.1:%u", (unsigned)muon_listener_port(r.lis));
    muon_connection_options *co = NULL;
    OK(muon_connection_options_new(&co));
    OK(muon_connection_options_set_reconnect(co, 10, 100, 5));
    OK(muon_connection_options_add_failover_url(co, url));
    OK(muon_connection_options_set_container_id(co, "ops-reconnecting"));
    muon_handler ch = MUON_HANDLER_INIT;
    ch.on_reconnected = rc_reconnected;
    ch.on_connection_remote_open = rc_client_open;
    OK(muon_loop_connect(r.loop, url, co, &ch, &r, &r.client));
    muon_connection_options_free(co);
    /* A sender, so that the trace has an attach, flow and transfer. */
    OK(muon_connection_open_sender(r.client, "q", NULL, NULL, NULL, NULL));
    OK(muon_loop_run(r.loop));
    CHECK(r.reconnected == 1 && r.server_opens == 2);
    muon_loop_free(r.loop);
}

int main(int argc, char **argv) {
    alarm(WATCHDOG_S);
    if (argc > 1 && strcmp(argv[1], "env") == 0) {
        wrong_password(false);
        reconnect(false);
        wrong_password(false); /* a second loop: MUON_* are not reported again */
        puts("ops_log: ok");
        return 0;
    }
    /* Bad levels change nothing and are named. */
    CHECK_RC(muon_set_log_level("reconnect:loud"), MUON_RESULT_INVALID_ARGUMENT);
    CHECK(strstr(muon_last_error(), "reconnect:loud") != NULL);
    CHECK_RC(muon_set_log_level("nonsense,info"), MUON_RESULT_INVALID_ARGUMENT);
    CHECK(strstr(muon_last_error(), "nonsense") != NULL);
    CHECK_RC(muon_set_log_level(NULL), MUON_RESULT_NULL_ARGUMENT);
    OK(muon_set_log_level("info,reconnect:debug,frames:debug"));
    CHECK(muon_last_error() == NULL);
    OK(muon_set_log_callback(on_log, lines));

    wrong_password(true);
    CHECK(loop_calls_refused > 0);
    EXPECT(MUON_LOG_CATEGORY_SASL, MUON_LOG_LEVEL_ERROR, "container \"ops-client\"", "SASL");
    EXPECT(MUON_LOG_CATEGORY_SASL, MUON_LOG_LEVEL_ERROR, "container \"ops-server\"", "SASL");
    EXPECT(MUON_LOG_CATEGORY_FRAMES, MUON_LOG_LEVEL_DEBUG, "-> @sasl-init(65) [mechanism=:PLAIN",
           "password <redacted>");
    int before = nlines;

    reconnect(true);
    EXPECT(MUON_LOG_CATEGORY_CONNECTION, MUON_LOG_LEVEL_ERROR, "disconnected: ",
           "container \"ops-reconnecting\"");
    EXPECT(MUON_LOG_CATEGORY_RECONNECT, MUON_LOG_LEVEL_INFO, "reconnect attempt 1 in ", NULL);
    EXPECT(MUON_LOG_CATEGORY_RECONNECT, MUON_LOG_LEVEL_INFO, "reconnect attempt 1 to 127.0.0.1:",
           "(failover: address 2 of 2)");
    EXPECT(MUON_LOG_CATEGORY_RECONNECT, MUON_LOG_LEVEL_INFO, "reconnected", "127.0.0.1:");
    /* The frame trace: timestamp, connection id, spec names. */
    EXPECT(MUON_LOG_CATEGORY_FRAMES, MUON_LOG_LEVEL_DEBUG, "[c1] 0 -> @open(16) [container-id=",
           "\"ops-reconnecting\"");
    EXPECT(MUON_LOG_CATEGORY_FRAMES, MUON_LOG_LEVEL_DEBUG, "<- @flow(19) [", "link-credit=");
    EXPECT(MUON_LOG_CATEGORY_FRAMES, MUON_LOG_LEVEL_DEBUG, "-> @attach(18) [name=",
           "role=sender");
    for (int i = before; i < nlines; i++) {
        if (lines[i].category != MUON_LOG_CATEGORY_FRAMES)
            continue;
        const char *t = lines[i].text; /* 2026-12-06T05:10:00.123456Z [c1] ... */
        CHECK(strlen(t) > 30 && t[4] == '-' && t[10] == 'T' && t[26] == 'Z' && t[27] == ' ');
        CHECK(t[28] == '[' && t[29] == 'c');
        CHECK(strstr(t, "_") == NULL || strstr(t, "\"") != NULL); /* no link_credit */
    }

    /* Off: nothing more comes. */
    OK(muon_set_log_callback(NULL, NULL));
    OK(muon_set_log_level("off"));
    int now = nlines;
    wrong_password(false);
    CHECK(nlines == now);
    puts("ops_log: ok");
    return 0;
}
