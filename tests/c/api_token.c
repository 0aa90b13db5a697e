/* api_token.c: a fresh XOAUTH2 token for each reconnect.
 *
 * A listener decides logins in on_sasl_authenticate and takes only the
 * token "fresh". A client with the built-in reconnect starts with the token
 * "stale": its login is refused, and in on_disconnected it hands the
 * connection the fresh token with muon_connection_set_token; the next
 * attempt logs in with it. XOAUTH2 in clear needs allow_insecure_plain on
 * both sides (a bearer token is as good as a password). Prints
 * "api_token: ok". */
#include "api_check.h"

struct state {
    muon_connection client;
    int refused;          /* logins the listener refused */
    int accepted;         /* logins the listener accepted */
    int disconnects;      /* on_disconnected on the client */
    int opened;           /* the client's connection opened */
    char last_token[64];  /* what the listener saw last */
};

static void on_authenticate(void *ud, const muon_event *ev) {
    struct state *s = ud;
    muon_connection c = muon_event_connection(ev);
    CHECK_STR(muon_connection_sasl_mechanism(c), "XOAUTH2");
    CHECK_STR(muon_connection_sasl_request_user(c), "ursula");
    CHECK(muon_connection_sasl_request_password(c) == NULL);
    const char *token = muon_connection_sasl_request_token(c);
    CHECK(token != NULL);
    snprintf(s->last_token, sizeof s->last_token, "%s", token);
    bool ok = strcmp(token, "fresh") == 0;
    OK(muon_connection_sasl_accept(c, ok));
    if (ok) s->accepted++; else s->refused++;
}

static void on_disconnected(void *ud, const muon_event *ev) {
    struct state *s = ud;
    (void)ev;
    s->disconnects++;
    OK(muon_connection_set_token(s->client, "fresh"));
}

static void on_open(void *ud, const muon_event *ev) {
    struct state *s = ud;
    s->opened = 1;
    OK(muon_connection_close(muon_event_connection(ev)));
}

int main(void) {
    alarm(WATCHDOG_S);
    struct state s = {0};
    muon_loop *loop = NULL;
    OK(muon_loop_new(&loop));
    CHECK(loop != NULL);

    muon_connection_options *lo;
    OK(muon_connection_options_new(&lo));
    OK(muon_connection_options_set_authenticate_callback(lo, true));
    OK(muon_connection_options_set_allow_insecure_plain(lo, true));
    muon_handler lh = MUON_HANDLER_INIT;
    lh.on_sasl_authenticate = on_authenticate;
    muon_listener listener;
    OK(muon_loop_listen(loop, "127.0.0.1:0", lo, &lh, &s, &listener));
    muon_connection_options_free(lo);
    char url[64];
    snprintf(url, sizeof url, "127.0.0.1:%u", (unsigned)muon_listener_port(listener));

    muon_connection_options *co;
    OK(muon_connection_options_new(&co));
    OK(muon_connection_options_set_user(co, "ursula"));
    OK(muon_connection_options_set_token(co, "stale"));
    OK(muon_connection_options_set_allow_insecure_plain(co, true));
    OK(muon_connection_options_set_reconnect(co, 10, 100, 5));
    muon_handler ch = MUON_HANDLER_INIT;
    ch.on_disconnected = on_disconnected;
    ch.on_connection_remote_open = on_open;
    OK(muon_loop_connect(loop, url, co, &ch, &s, &s.client));
    muon_connection_options_free(co);

    for (int i = 0; i < 1000 && !s.opened; i++) OK(muon_loop_run_once(loop, 10));
    CHECK(s.opened);
    CHECK(s.refused == 1);
    CHECK(s.accepted == 1);
    CHECK(s.disconnects == 1);
    CHECK_STR(s.last_token, "fresh");
    OK(muon_listener_close(listener));
    OK(muon_loop_run(loop));
    /* The connection is gone: its handle is stale now. */
    CHECK_RC(muon_connection_set_token(s.client, "later"), MUON_RESULT_STALE_HANDLE);
    muon_loop_free(loop);
    printf("api_token: ok\n");
    return 0;
}
