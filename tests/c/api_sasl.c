/* The security C API end to end over real sockets: one loop listens on
 * 127.0.0.1:0 and connects to itself, once per case, with the listener's
 * SASL configured each way a server can check logins (none, a user table
 * from passwords, a user table from muon_scram_hash_password lines, the
 * on_sasl_authenticate callback) and the client logging in with each
 * mechanism. Each case checks whether the client got in, the condition it
 * was refused with, the user the server saw, and what the callback was
 * shown. Then the size query of muon_scram_hash_password, stale handles
 * and NULL arguments of every security function. */
#define _POSIX_C_SOURCE 200809L
#include "api_check.h"

enum answer {
    CB_SILENT,           /* answers nothing: the login is refused */
    CB_PASSWORD,         /* accepts alice/secret, refuses anything else */
    CB_REFUSE,           /* refuses whatever comes */
    CB_SCRAM,            /* hands over `line` for alice, NULL for others */
    CB_SCRAM_NULL,       /* hands over NULL: no such user */
    CB_SCRAM_OTHER_HASH, /* hands over `other`: INVALID_ARGUMENT, then nothing */
    CB_SCRAM_RETRY,      /* `other` (INVALID_ARGUMENT), then `line` */
    CB_TOKEN,            /* accepts alice with token tok-good */
};

struct run {
    /* the case */
    enum answer answer;
    const char *line;  /* SCRAM-SHA-256 credentials of alice/secret */
    const char *other; /* SCRAM-SHA-1 credentials of alice/secret */
    /* what happened */
    muon_listener lis;
    muon_connection client, server;
    int client_open, server_open, client_final;
    char cond[64], desc[256];
    char user[64]; /* muon_connection_user on the server, "(null)" if NULL */
    char server_mech[32];
    int cb_calls;
    char cb_mech[32], cb_user[64], cb_password[64], cb_token[64];
};

static void copy(char *dst, size_t cap, const char *s) {
    snprintf(dst, cap, "%s", s ? s : "(null)");
}

static void on_accepted(void *ud, const muon_event *ev) {
    struct run *r = ud;
    r->server = muon_event_connection(ev);
}

static void on_authenticate(void *ud, const muon_event *ev) {
    struct run *r = ud;
    muon_connection c = muon_event_connection(ev);
    CHECK(SAME(c, r->server));
    r->cb_calls++;
    copy(r->cb_mech, sizeof r->cb_mech, muon_connection_sasl_mechanism(c));
    const char *user = muon_connection_sasl_request_user(c);
    const char *password = muon_connection_sasl_request_password(c);
    const char *token = muon_connection_sasl_request_token(c);
    copy(r->cb_user, sizeof r->cb_user, user);
    copy(r->cb_password, sizeof r->cb_password, password);
    copy(r->cb_token, sizeof r->cb_token, token);
    bool scram = strncmp(r->cb_mech, "SCRAM-", 6) == 0;
    bool alice = user != NULL && strcmp(user, "alice") == 0;
    /* Answering the wrong way for the mechanism changes nothing. */
    if (scram) {
        CHECK(password == NULL);
        CHECK_RC(muon_connection_sasl_accept(c, true), MUON_RESULT_WRONG_STATE);
    } else {
        CHECK_RC(muon_connection_sasl_scram_credentials(c, NULL), MUON_RESULT_WRONG_STATE);
    }
    switch (r->answer) {
    case CB_SILENT:
        break;
    case CB_PASSWORD:
        OK(muon_connection_sasl_accept(c, alice && password && strcmp(password, "secret") == 0));
        /* Answered: nothing is waiting any more. */
        CHECK_RC(muon_connection_sasl_accept(c, true), MUON_RESULT_WRONG_STATE);
        CHECK(muon_connection_sasl_request_user(c) == NULL);
        break;
    case CB_REFUSE:
        OK(muon_connection_sasl_accept(c, false));
        break;
    case CB_SCRAM:
        OK(muon_connection_sasl_scram_credentials(c, alice ? r->line : NULL));
        CHECK_RC(muon_connection_sasl_scram_credentials(c, r->line), MUON_RESULT_WRONG_STATE);
        break;
    case CB_SCRAM_NULL:
        OK(muon_connection_sasl_scram_credentials(c, NULL));
        break;
    case CB_SCRAM_OTHER_HASH:
        CHECK_RC(muon_connection_sasl_scram_credentials(c, r->other), MUON_RESULT_INVALID_ARGUMENT);
        break;
    case CB_SCRAM_RETRY:
        CHECK_RC(muon_connection_sasl_scram_credentials(c, r->other), MUON_RESULT_INVALID_ARGUMENT);
        CHECK_RC(muon_connection_sasl_scram_credentials(c, "SCRAM-SHA-256$x"),
                 MUON_RESULT_INVALID_ARGUMENT);
        OK(muon_connection_sasl_scram_credentials(c, r->line));
        break;
    case CB_TOKEN:
        OK(muon_connection_sasl_accept(c, alice && token && strcmp(token, "tok-good") == 0));
        break;
    }
}

static void on_remote_open(void *ud, const muon_event *ev) {
    struct run *r = ud;
    muon_connection c = muon_event_connection(ev);
    if (SAME(c, r->client)) {
        r->client_open = 1;
        OK(muon_connection_close(c));
        return;
    }
    CHECK(SAME(c, r->server));
    r->server_open = 1;
    copy(r->user, sizeof r->user, muon_connection_user(c));
    copy(r->server_mech, sizeof r->server_mech, muon_connection_sasl_mechanism(c));
    /* No login is waiting now, and an accepted connection has no token. */
    CHECK_RC(muon_connection_sasl_accept(c, true), MUON_RESULT_WRONG_STATE);
    CHECK_RC(muon_connection_sasl_scram_credentials(c, NULL), MUON_RESULT_WRONG_STATE);
    CHECK(muon_connection_sasl_request_user(c) == NULL);
    CHECK(muon_connection_sasl_request_password(c) == NULL);
    CHECK(muon_connection_sasl_request_token(c) == NULL);
    CHECK_RC(muon_connection_set_token(c, "t"), MUON_RESULT_WRONG_STATE);
}

static void note_condition(struct run *r, const muon_event *ev) {
    const muon_condition *cond = muon_event_condition(ev);
    if (!SAME(muon_event_connection(ev), r->client) || r->cond[0] != '\0' || cond == NULL)
        return;
    copy(r->cond, sizeof r->cond, muon_condition_name(cond));
    copy(r->desc, sizeof r->desc, muon_condition_description(cond));
}

static void on_disconnected(void *ud, const muon_event *ev) { note_condition(ud, ev); }

static void on_final(void *ud, const muon_event *ev) {
    struct run *r = ud;
    if (!SAME(muon_event_connection(ev), r->client))
        return;
    r->client_final = 1;
    OK(muon_listener_close(r->lis));
}

/* One login: a listener with `server` options, a client with `client`
 * options (either may be NULL), until the client's final event. */
static void attempt(struct run *r, const muon_connection_options *server,
                    const muon_connection_options *client) {
    muon_loop *loop = NULL;
    OK(muon_loop_new(&loop));
    CHECK(loop != NULL);
    muon_handler h = MUON_HANDLER_INIT;
    h.on_connection_accepted = on_accepted;
    h.on_sasl_authenticate = on_authenticate;
    h.on_connection_remote_open = on_remote_open;
    h.on_disconnected = on_disconnected;
    h.on_connection_final = on_final;
    OK(muon_loop_set_handler(loop, &h, r));
    OK(muon_loop_listen(loop, "127.0.0.1:0", server, NULL, NULL, &r->lis));
    char url[64];
    snprintf(url, sizeof url, "amqp://127.0.0.1:%u", (unsigned)muon_listener_port(r->lis));
    OK(muon_loop_connect(loop, url, client, NULL, NULL, &r->client));
    OK(muon_loop_run(loop));
    CHECK(r->client_final == 1);
    /* After its final event the handle is stale. */
    CHECK_RC(muon_connection_set_token(r->client, "t"), MUON_RESULT_STALE_HANDLE);
    CHECK(muon_connection_user(r->client) == NULL);
    CHECK(muon_connection_sasl_mechanism(r->client) == NULL);
    CHECK_RC(muon_connection_sasl_accept(r->client, true), MUON_RESULT_STALE_HANDLE);
    CHECK_RC(muon_connection_sasl_scram_credentials(r->client, NULL), MUON_RESULT_STALE_HANDLE);
    muon_loop_free(loop);
}

static void expect_in(const struct run *r, const char *user, const char *mech) {
    if (!r->client_open) {
        fprintf(stderr, "refused: %s: %s\n", r->cond, r->desc);
        CHECK(r->client_open);
    }
    CHECK(r->server_open);
    CHECK(r->cond[0] == '\0');
    CHECK_STR(r->user, user);
    CHECK_STR(r->server_mech, mech);
}

static void expect_refused(const struct run *r, const char *in_description) {
    CHECK(!r->client_open);
    CHECK(!r->server_open);
    CHECK_STR(r->cond, "amqp:unauthorized-access");
    if (strstr(r->desc, in_description) == NULL) {
        fprintf(stderr, "description \"%s\" lacks \"%s\"\n", r->desc, in_description);
        CHECK(strstr(r->desc, in_description) != NULL);
    }
}

/* Client options: user and password (either may be NULL), the mechanisms
 * allowed (NULL: all), PLAIN allowed in clear. */
static muon_connection_options *client(const char *user, const char *password,
                                       const char *mechanisms) {
    muon_connection_options *co;
    OK(muon_connection_options_new(&co));
    if (user)
        OK(muon_connection_options_set_user(co, user));
    if (password)
        OK(muon_connection_options_set_password(co, password));
    if (mechanisms)
        OK(muon_connection_options_set_sasl_mechanisms(co, mechanisms));
    OK(muon_connection_options_set_allow_insecure_plain(co, true));
    return co;
}

static void login(const muon_connection_options *server, muon_connection_options *co,
                  struct run *r) {
    attempt(r, server, co);
    muon_connection_options_free(co);
}

/* ---- a listener with no authenticator ---------------------------------- */

static void no_authenticator(void) {
    muon_connection_options *so;
    OK(muon_connection_options_new(&so));
    OK(muon_connection_options_set_allow_insecure_plain(so, true));
    struct run r;

    /* PLAIN with any password: never accepted (not even offered). */
    memset(&r, 0, sizeof r);
    login(so, client("alice", "anything", "PLAIN"), &r);
    expect_refused(&r, "the server offers [ANONYMOUS]");
    memset(&r, 0, sizeof r);
    login(so, client("alice", "anything", NULL), &r);
    expect_refused(&r, "the server offers [ANONYMOUS]");

    /* ANONYMOUS gets in; the server's user is NULL, as
     * muon_connection_user documents for ANONYMOUS. */
    memset(&r, 0, sizeof r);
    attempt(&r, so, NULL);
    expect_in(&r, "(null)", "ANONYMOUS");
    muon_connection_options_free(so);
}

/* ---- a user table ------------------------------------------------------- */

static void user_table(muon_connection_options *so, const char *how) {
    struct run r;
    fprintf(stderr, "user table (%s)\n", how);
    static const char *const scram[] = {"SCRAM-SHA-256", "SCRAM-SHA-512", "SCRAM-SHA-1"};
    for (size_t i = 0; i < 3; i++) {
        memset(&r, 0, sizeof r);
        login(so, client("alice", "secret", scram[i]), &r);
        expect_in(&r, "alice", scram[i]);
        memset(&r, 0, sizeof r);
        login(so, client("alice", "wrong", scram[i]), &r);
        expect_refused(&r, "authentication failed: outcome Auth");
    }
    /* An unknown user fails as a wrong password does. */
    memset(&r, 0, sizeof r);
    login(so, client("mallory", "secret", "SCRAM-SHA-256"), &r);
    expect_refused(&r, "authentication failed: outcome Auth");
    /* Unforced, the strongest. */
    memset(&r, 0, sizeof r);
    login(so, client("alice", "secret", NULL), &r);
    expect_in(&r, "alice", "SCRAM-SHA-512");

    /* PLAIN in clear, allowed on both sides. */
    memset(&r, 0, sizeof r);
    login(so, client("alice", "secret", "PLAIN"), &r);
    expect_in(&r, "alice", "PLAIN");
    memset(&r, 0, sizeof r);
    login(so, client("alice", "wrong", "PLAIN"), &r);
    expect_refused(&r, "authentication failed: outcome Auth");

    /* No credentials: ANONYMOUS is not offered beside a user table. */
    memset(&r, 0, sizeof r);
    attempt(&r, so, NULL);
    expect_refused(&r, "no mechanism both sides allow");
    CHECK(strstr(r.desc, "ANONYMOUS") == NULL);
    CHECK(strstr(r.desc, "SCRAM-SHA-256") != NULL);
    /* ... unless allowed. */
    OK(muon_connection_options_set_allow_anonymous(so, true));
    memset(&r, 0, sizeof r);
    attempt(&r, so, NULL);
    expect_in(&r, "(null)", "ANONYMOUS");
    /* Credentials still do not fall back to it. */
    memset(&r, 0, sizeof r);
    login(so, client("alice", "wrong", NULL), &r);
    expect_refused(&r, "authentication failed: outcome Auth");
    OK(muon_connection_options_set_allow_anonymous(so, false));
}

/* A SCRAM line of `password` for `mech`, 4096 iterations. */
static void hash(const char *mech, const char *password, char *line, size_t cap) {
    size_t len = 0;
    OK(muon_scram_hash_password(mech, password, 0, line, cap, &len));
    CHECK(len == strlen(line));
    CHECK(strncmp(line, mech, strlen(mech)) == 0);
    CHECK(strncmp(line + strlen(mech), "$4096$", 6) == 0);
    CHECK(strstr(line, password) == NULL);
}

static void scram_lines(void) {
    /* The size query. */
    size_t len = 12345;
    CHECK_RC(muon_scram_hash_password("SCRAM-SHA-256", "secret", 64, NULL, 0, &len),
             MUON_RESULT_BUFFER_TOO_SMALL);
    size_t need = len;
    CHECK(need > 40 && need < 512);
    char small[512];
    memset(small, 'x', sizeof small);
    len = 0;
    CHECK_RC(muon_scram_hash_password("SCRAM-SHA-256", "secret", 64, small, need - 1, &len),
             MUON_RESULT_BUFFER_TOO_SMALL);
    CHECK(len == need);
    CHECK(small[0] == 'x' && small[need - 2] == 'x'); /* untouched */
    len = 0;
    OK(muon_scram_hash_password("SCRAM-SHA-256", "secret", 64, small, need, &len));
    CHECK(len == need - 1 && strlen(small) == need - 1);
    CHECK(strncmp(small, "SCRAM-SHA-256$64$", 17) == 0);
    /* Not SCRAM; and out-params untouched on error. */
    len = 7;
    CHECK_RC(muon_scram_hash_password("PLAIN", "secret", 0, small, sizeof small, &len),
             MUON_RESULT_INVALID_ARGUMENT);
    CHECK_RC(muon_scram_hash_password("SCRAM-SHA-3", "secret", 0, small, sizeof small, &len),
             MUON_RESULT_INVALID_ARGUMENT);
    CHECK(len == 7);

    /* A user table made of such lines, one per hash. */
    char l512[512], l256[512], l1[512];
    hash("SCRAM-SHA-512", "secret", l512, sizeof l512);
    hash("SCRAM-SHA-256", "secret", l256, sizeof l256);
    hash("SCRAM-SHA-1", "secret", l1, sizeof l1);
    muon_connection_options *so;
    OK(muon_connection_options_new(&so));
    OK(muon_connection_options_set_allow_insecure_plain(so, true));
    OK(muon_connection_options_add_user_scram(so, "alice", l512));
    OK(muon_connection_options_add_user_scram(so, "alice", l256));
    OK(muon_connection_options_add_user_scram(so, "alice", l1));
    CHECK(muon_connection_options_error(so) == NULL);
    /* Malformed lines are refused with a reason. */
    CHECK_RC(muon_connection_options_add_user_scram(so, "bob", "SCRAM-SHA-256$4096$bad"),
             MUON_RESULT_INVALID_ARGUMENT);
    CHECK(muon_connection_options_error(so) != NULL);
    CHECK(strstr(muon_connection_options_error(so), "bob") != NULL);
    CHECK_RC(muon_connection_options_add_user_scram(so, "bob", "secret"),
             MUON_RESULT_INVALID_ARGUMENT);
    CHECK_RC(muon_connection_options_add_user_scram(so, "", l256), MUON_RESULT_INVALID_ARGUMENT);
    user_table(so, "muon_connection_options_add_user_scram");

    /* A table with SCRAM-SHA-256 credentials only offers only that hash. */
    muon_connection_options *one;
    OK(muon_connection_options_new(&one));
    OK(muon_connection_options_add_user_scram(one, "bob", l256));
    struct run r;
    memset(&r, 0, sizeof r);
    login(one, client("bob", "secret", NULL), &r);
    expect_in(&r, "bob", "SCRAM-SHA-256");
    memset(&r, 0, sizeof r);
    login(one, client("bob", "secret", "SCRAM-SHA-512"), &r);
    expect_refused(&r, "no mechanism both sides allow");
    muon_connection_options_free(one);
    muon_connection_options_free(so);
}

/* ---- the authenticate callback ------------------------------------------ */

static void callback(void) {
    char line[512], other[512];
    hash("SCRAM-SHA-256", "secret", line, sizeof line);
    hash("SCRAM-SHA-1", "secret", other, sizeof other);
    muon_connection_options *so;
    OK(muon_connection_options_new(&so));
    OK(muon_connection_options_set_allow_insecure_plain(so, true));
    OK(muon_connection_options_set_authenticate_callback(so, true));
    struct run r;

    /* PLAIN: the callback sees mechanism, user and password. */
    memset(&r, 0, sizeof r);
    r.answer = CB_PASSWORD;
    login(so, client("alice", "secret", "PLAIN"), &r);
    expect_in(&r, "alice", "PLAIN");
    CHECK(r.cb_calls == 1);
    CHECK_STR(r.cb_mech, "PLAIN");
    CHECK_STR(r.cb_user, "alice");
    CHECK_STR(r.cb_password, "secret");
    CHECK_STR(r.cb_token, "(null)");
    memset(&r, 0, sizeof r);
    r.answer = CB_PASSWORD;
    login(so, client("alice", "wrong", "PLAIN"), &r);
    expect_refused(&r, "authentication failed: outcome Auth");
    CHECK(r.cb_calls == 1);
    CHECK_STR(r.cb_password, "wrong");
    memset(&r, 0, sizeof r);
    r.answer = CB_REFUSE;
    login(so, client("alice", "secret", "PLAIN"), &r);
    expect_refused(&r, "authentication failed: outcome Auth");
    CHECK(r.cb_calls == 1);
    /* A callback that does not answer refuses. */
    memset(&r, 0, sizeof r);
    r.answer = CB_SILENT;
    login(so, client("alice", "secret", "PLAIN"), &r);
    expect_refused(&r, "authentication failed: outcome Auth");
    CHECK(r.cb_calls == 1);

    /* SCRAM: the application hands over stored credentials. */
    memset(&r, 0, sizeof r);
    r.answer = CB_SCRAM;
    r.line = line;
    login(so, client("alice", "secret", "SCRAM-SHA-256"), &r);
    expect_in(&r, "alice", "SCRAM-SHA-256");
    CHECK(r.cb_calls == 1);
    CHECK_STR(r.cb_mech, "SCRAM-SHA-256");
    CHECK_STR(r.cb_user, "alice");
    CHECK_STR(r.cb_password, "(null)");
    memset(&r, 0, sizeof r);
    r.answer = CB_SCRAM;
    r.line = line;
    login(so, client("alice", "wrong", "SCRAM-SHA-256"), &r);
    expect_refused(&r, "authentication failed: outcome Auth");
    memset(&r, 0, sizeof r);
    r.answer = CB_SCRAM_NULL;
    login(so, client("alice", "secret", "SCRAM-SHA-256"), &r);
    expect_refused(&r, "authentication failed: outcome Auth");
    CHECK(r.cb_calls == 1);
    memset(&r, 0, sizeof r);
    r.answer = CB_SCRAM_OTHER_HASH;
    r.other = other;
    login(so, client("alice", "secret", "SCRAM-SHA-256"), &r);
    expect_refused(&r, "authentication failed: outcome Auth");
    memset(&r, 0, sizeof r);
    r.answer = CB_SCRAM_RETRY;
    r.line = line;
    r.other = other;
    login(so, client("alice", "secret", "SCRAM-SHA-256"), &r);
    expect_in(&r, "alice", "SCRAM-SHA-256");
    memset(&r, 0, sizeof r);
    r.answer = CB_SILENT;
    login(so, client("alice", "secret", "SCRAM-SHA-256"), &r);
    expect_refused(&r, "authentication failed: outcome Auth");

    /* XOAUTH2: the callback sees user and token. */
    for (int good = 0; good < 2; good++) {
        muon_connection_options *co = client("alice", NULL, NULL);
        OK(muon_connection_options_set_token(co, good ? "tok-good" : "tok-bad"));
        memset(&r, 0, sizeof r);
        r.answer = CB_TOKEN;
        login(so, co, &r);
        CHECK(r.cb_calls == 1);
        CHECK_STR(r.cb_mech, "XOAUTH2");
        CHECK_STR(r.cb_user, "alice");
        CHECK_STR(r.cb_token, good ? "tok-good" : "tok-bad");
        CHECK_STR(r.cb_password, "(null)");
        if (good)
            expect_in(&r, "alice", "XOAUTH2");
        else
            expect_refused(&r, "authentication failed: outcome Auth");
    }

    /* ANONYMOUS: not offered beside the callback unless allowed; then the
     * callback decides it too. */
    memset(&r, 0, sizeof r);
    r.answer = CB_REFUSE;
    attempt(&r, so, NULL);
    expect_refused(&r, "no mechanism both sides allow");
    CHECK(r.cb_calls == 0);
    OK(muon_connection_options_set_allow_anonymous(so, true));
    memset(&r, 0, sizeof r);
    r.answer = CB_REFUSE;
    attempt(&r, so, NULL);
    expect_refused(&r, "authentication failed: outcome Auth");
    CHECK(r.cb_calls == 1);
    CHECK_STR(r.cb_mech, "ANONYMOUS");
    CHECK_STR(r.cb_user, "(null)");
    muon_connection_options_free(so);
}

/* ---- NULL arguments ------------------------------------------------------ */

static void null_arguments(void) {
    muon_connection_options *co;
    OK(muon_connection_options_new(&co));
    const muon_result N = MUON_RESULT_NULL_ARGUMENT;
    CHECK_RC(muon_connection_options_set_token(NULL, "t"), N);
    CHECK_RC(muon_connection_options_set_token(co, NULL), N);
    CHECK_RC(muon_connection_options_add_user(NULL, "u", "p"), N);
    CHECK_RC(muon_connection_options_add_user(co, NULL, "p"), N);
    CHECK_RC(muon_connection_options_add_user(co, "u", NULL), N);
    CHECK_RC(muon_connection_options_add_user(co, "", "p"), MUON_RESULT_INVALID_ARGUMENT);
    CHECK(muon_connection_options_error(co) != NULL);
    CHECK_RC(muon_connection_options_add_user_scram(NULL, "u", "l"), N);
    CHECK_RC(muon_connection_options_add_user_scram(co, NULL, "l"), N);
    CHECK_RC(muon_connection_options_add_user_scram(co, "u", NULL), N);
    CHECK_RC(muon_connection_options_set_allow_anonymous(NULL, true), N);
    CHECK_RC(muon_connection_options_set_authenticate_callback(NULL, true), N);
    size_t len = 3;
    char buf[512];
    CHECK_RC(muon_scram_hash_password(NULL, "p", 0, buf, sizeof buf, &len), N);
    CHECK_RC(muon_scram_hash_password("SCRAM-SHA-1", NULL, 0, buf, sizeof buf, &len), N);
    CHECK_RC(muon_scram_hash_password("SCRAM-SHA-1", "p", 0, buf, sizeof buf, NULL), N);
    CHECK(len == 3);
    /* TLS options. */
    CHECK_RC(muon_connection_options_add_tls_ca_file(NULL, "ca.pem"), N);
    CHECK_RC(muon_connection_options_add_tls_ca_file(co, NULL), N);
    CHECK_RC(muon_connection_options_add_tls_ca_pem(NULL, (const uint8_t *)"x", 1), N);
    CHECK_RC(muon_connection_options_add_tls_ca_pem(co, NULL, 1), N);
    CHECK_RC(muon_connection_options_set_tls_system_trust(NULL, false), N);
    CHECK_RC(muon_connection_options_set_tls_cert_file(NULL, "c.pem", "c.key"), N);
    CHECK_RC(muon_connection_options_set_tls_cert_file(co, NULL, "c.key"), N);
    CHECK_RC(muon_connection_options_set_tls_cert_file(co, "c.pem", NULL), N);
    CHECK_RC(muon_connection_options_set_tls_cert_pem(NULL, (const uint8_t *)"x", 1,
                                                      (const uint8_t *)"y", 1), N);
    CHECK_RC(muon_connection_options_set_tls_cert_pem(co, NULL, 1, (const uint8_t *)"y", 1), N);
    CHECK_RC(muon_connection_options_set_tls_cert_pem(co, (const uint8_t *)"x", 1, NULL, 1), N);
    CHECK_RC(muon_connection_options_set_tls_insecure_skip_verify(NULL, true), N);
    CHECK_RC(muon_connection_options_add_tls_client_ca_file(NULL, "ca.pem"), N);
    CHECK_RC(muon_connection_options_add_tls_client_ca_file(co, NULL), N);
    CHECK_RC(muon_connection_options_set_tls_require_client_cert(NULL, true), N);
    CHECK_RC(muon_connection_options_set_tls_insecure_allow_plain(NULL, true), N);
    CHECK(muon_connection_options_error(NULL) == NULL);
    /* A file that does not exist: refused, with a reason. */
    CHECK_RC(muon_connection_options_add_tls_ca_file(co, "/nonexistent/ca.pem"),
             MUON_RESULT_IO_ERROR);
    CHECK(muon_connection_options_error(co) != NULL);
    muon_connection_options_free(co);

    /* Connection functions on the null handle. */
    muon_connection none;
    memset(&none, 0, sizeof none);
    CHECK_RC(muon_connection_set_token(none, "t"), N);
    CHECK_RC(muon_connection_sasl_accept(none, true), N);
    CHECK_RC(muon_connection_sasl_scram_credentials(none, NULL), N);
    CHECK(muon_connection_sasl_mechanism(none) == NULL);
    CHECK(muon_connection_sasl_request_user(none) == NULL);
    CHECK(muon_connection_sasl_request_password(none) == NULL);
    CHECK(muon_connection_sasl_request_token(none) == NULL);
    CHECK(muon_connection_user(none) == NULL);

    /* A live client connection: NULL token; its own token; no login to judge. */
    muon_loop *loop = NULL;
    OK(muon_loop_new(&loop));
    muon_connection c;
    OK(muon_loop_connect(loop, "127.0.0.1:1", NULL, NULL, NULL, &c));
    CHECK_RC(muon_connection_set_token(c, NULL), N);
    OK(muon_connection_set_token(c, "fresh"));
    CHECK_RC(muon_connection_sasl_accept(c, true), MUON_RESULT_WRONG_STATE);
    CHECK_RC(muon_connection_sasl_scram_credentials(c, NULL), MUON_RESULT_WRONG_STATE);
    CHECK(muon_connection_sasl_request_user(c) == NULL);
    muon_loop_free(loop);
}

int main(void) {
    alarm(WATCHDOG_S * 3);
    null_arguments();
    no_authenticator();
    muon_connection_options *so;
    OK(muon_connection_options_new(&so));
    OK(muon_connection_options_set_allow_insecure_plain(so, true));
    OK(muon_connection_options_add_user(so, "alice", "secret"));
    CHECK(muon_connection_options_error(so) == NULL);
    user_table(so, "muon_connection_options_add_user");
    muon_connection_options_free(so);
    scram_lines();
    callback();
    puts("api_sasl: ok");
    return 0;
}
