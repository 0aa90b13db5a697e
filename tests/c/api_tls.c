/* api_tls.c: the TLS options of the C API, through real sockets.
 *
 *   api_tls CA.pem SERVER.pem SERVER.key UNRELATED-CA.pem
 *
 * One loop listens with TLS (certificate and key from memory) and connects
 * to itself three times over amqps://localhost:
 *   1. trusting only the test CA given from memory: the connection opens;
 *   2. trusting only an unrelated CA from a file: refused, and the
 *      condition says the issuer is unknown;
 *   3. with verification off (insecure_skip_verify) and no CA: opens.
 * Before that, the setters' errors: NULL arguments, a missing file, a file
 * without a certificate or key, each with muon_connection_options_error
 * saying why. Prints "tls: ok" when every check passed. */
#include "api_check.h"

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    CHECK(fseek(f, 0, SEEK_END) == 0);
    long n = ftell(f);
    CHECK(n > 0);
    rewind(f);
    char *buf = malloc((size_t)n);
    CHECK(buf != NULL);
    CHECK(fread(buf, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

struct attempt {
    const char *name;
    int opened;              /* the remote open arrived */
    int failed;              /* a transport error arrived */
    char condition[512];     /* its "name: description" */
};

static void on_open(void *ud, const muon_event *ev) {
    struct attempt *a = ud;
    a->opened = 1;
    /* The statistics name the TLS in use and the SASL mechanism. */
    muon_connection_stats s = MUON_CONNECTION_STATS_INIT;
    OK(muon_connection_get_stats(muon_event_connection(ev), &s));
    CHECK(s.tls && s.connected);
    CHECK(strncmp(s.tls_protocol, "TLSv1.", 6) == 0);
    CHECK(strncmp(s.tls_cipher, "TLS", 3) == 0);
    CHECK(strcmp(s.sasl_mechanism, "ANONYMOUS") == 0);
    CHECK(s.bytes_in > 0 && s.frames_in > 0);
    OK(muon_connection_close(muon_event_connection(ev)));
}

/* TLS failures reach the process-wide log (category tls). */
static int tls_errors;
static void on_log(void *ctx, muon_log_level level, muon_log_category category, const char *msg) {
    (void)ctx;
    if (category == MUON_LOG_CATEGORY_TLS && level == MUON_LOG_LEVEL_ERROR &&
        strstr(msg, "unknown certificate authority") != NULL && strstr(msg, "[c") != NULL)
        tls_errors++;
}

static void on_error(void *ud, const muon_event *ev) {
    struct attempt *a = ud;
    const muon_condition *c = muon_event_condition(ev);
    CHECK(c != NULL);
    a->failed = 1;
    snprintf(a->condition, sizeof a->condition, "%s: %s", muon_condition_name(c),
             muon_condition_description(c));
}

static void run_attempt(muon_loop *loop, unsigned port, muon_connection_options *opts,
                        struct attempt *a) {
    char url[128];
    snprintf(url, sizeof url, "amqps://localhost:%u", port);
    muon_handler h = MUON_HANDLER_INIT;
    h.on_connection_remote_open = on_open;
    h.on_disconnected = on_error;
    muon_connection conn;
    OK(muon_loop_connect(loop, url, opts, &h, a, &conn));
    for (int i = 0; i < 500 && !a->opened && !a->failed; i++) {
        OK(muon_loop_run_once(loop, 20));
    }
    /* Let the close (or the failure) finish. */
    for (int i = 0; i < 20; i++) OK(muon_loop_run_once(loop, 5));
}

static void listener_open(void *ud, const muon_event *ev) {
    (void)ev;
    *(int *)ud = 1;
}

int main(int argc, char **argv) {
    alarm(WATCHDOG_S);
    CHECK(argc == 5);
    const char *ca = argv[1], *cert = argv[2], *key = argv[3], *other_ca = argv[4];
    size_t ca_len, cert_len, key_len;
    char *ca_pem = slurp(ca, &ca_len);
    char *cert_pem = slurp(cert, &cert_len);
    char *key_pem = slurp(key, &key_len);

    /* ---- setters: NULL and bad input ---- */
    CHECK_RC(muon_connection_options_add_tls_ca_file(NULL, ca), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_connection_options_add_tls_ca_pem(NULL, (const uint8_t *)ca_pem, ca_len),
             MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_connection_options_set_tls_system_trust(NULL, false), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_connection_options_set_tls_cert_file(NULL, cert, key), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_connection_options_set_tls_cert_pem(NULL, (const uint8_t *)cert_pem, cert_len,
                                                      (const uint8_t *)key_pem, key_len),
             MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_connection_options_set_tls_insecure_skip_verify(NULL, true),
             MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_connection_options_add_tls_client_ca_file(NULL, ca), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_connection_options_set_tls_require_client_cert(NULL, true),
             MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_connection_options_set_tls_insecure_allow_plain(NULL, true),
             MUON_RESULT_NULL_ARGUMENT);
    CHECK(muon_connection_options_error(NULL) == NULL);
    CHECK_RC(muon_connection_options_set_handshake_timeout(NULL, 1000), MUON_RESULT_NULL_ARGUMENT);

    muon_connection_options *bad;
    OK(muon_connection_options_new(&bad));
    CHECK(muon_connection_options_error(bad) == NULL);
    CHECK_RC(muon_connection_options_add_tls_ca_file(bad, NULL), MUON_RESULT_NULL_ARGUMENT);
    CHECK_RC(muon_connection_options_add_tls_ca_file(bad, "/nonexistent/ca.pem"),
             MUON_RESULT_IO_ERROR);
    CHECK(strstr(muon_connection_options_error(bad), "/nonexistent/ca.pem") != NULL);
    /* A key file holds no certificate. */
    CHECK_RC(muon_connection_options_add_tls_ca_file(bad, key), MUON_RESULT_INVALID_ARGUMENT);
    CHECK(strstr(muon_connection_options_error(bad), "CERTIFICATE") != NULL);
    /* A certificate where the key should be. */
    CHECK_RC(muon_connection_options_set_tls_cert_file(bad, cert, cert),
             MUON_RESULT_INVALID_ARGUMENT);
    CHECK(strstr(muon_connection_options_error(bad), "key") != NULL);
    CHECK_RC(muon_connection_options_add_tls_ca_pem(bad, (const uint8_t *)"junk", 4),
             MUON_RESULT_INVALID_ARGUMENT);
    /* A good call clears the error. */
    OK(muon_connection_options_add_tls_ca_file(bad, ca));
    CHECK(muon_connection_options_error(bad) == NULL);
    muon_connection_options_free(bad);

    /* ---- the TLS listener, its certificate from memory ---- */
    muon_loop *loop = NULL;
    OK(muon_loop_new(&loop));
    CHECK(loop != NULL);
    muon_connection_options *lo;
    OK(muon_connection_options_new(&lo));
    OK(muon_connection_options_set_tls_cert_pem(lo, (const uint8_t *)cert_pem, cert_len,
                                                (const uint8_t *)key_pem, key_len));
    int listening = 0;
    muon_handler lh = MUON_HANDLER_INIT;
    lh.on_listener_open = listener_open;
    muon_listener listener;
    OK(muon_loop_listen(loop, "127.0.0.1:0", lo, &lh, &listening, &listener));
    muon_connection_options_free(lo);
    unsigned port = muon_listener_port(listener);
    CHECK(port != 0);

    /* 1. Only the test CA, from memory. */
    muon_connection_options *o1;
    OK(muon_connection_options_new(&o1));
    OK(muon_connection_options_set_tls_system_trust(o1, false));
    OK(muon_connection_options_add_tls_ca_pem(o1, (const uint8_t *)ca_pem, ca_len));
    OK(muon_connection_options_set_handshake_timeout(o1, 5000)); /* ample: it opens */
    struct attempt a1 = {.name = "trusted"};
    run_attempt(loop, port, o1, &a1);
    muon_connection_options_free(o1);
    if (!a1.opened) fprintf(stderr, "trusted: %s\n", a1.condition);
    CHECK(a1.opened && !a1.failed);

    /* 2. Only an unrelated CA, from a file. */
    muon_connection_options *o2;
    OK(muon_connection_options_new(&o2));
    OK(muon_connection_options_set_tls_system_trust(o2, false));
    OK(muon_connection_options_add_tls_ca_file(o2, other_ca));
    OK(muon_set_log_level("tls:error"));
    OK(muon_set_log_callback(on_log, NULL));
    struct attempt a2 = {.name = "untrusted"};
    run_attempt(loop, port, o2, &a2);
    muon_connection_options_free(o2);
    CHECK(!a2.opened && a2.failed);
    CHECK(tls_errors > 0);
    OK(muon_set_log_callback(NULL, NULL)); /* the insecure warning below goes to stderr */
    CHECK(strstr(a2.condition, "amqp:unauthorized-access") != NULL);
    CHECK(strstr(a2.condition, "unknown certificate authority") != NULL);

    /* 3. Verification off: opens whatever the certificate. */
    muon_connection_options *o3;
    OK(muon_connection_options_new(&o3));
    OK(muon_connection_options_set_tls_system_trust(o3, false));
    OK(muon_connection_options_set_tls_insecure_skip_verify(o3, true));
    struct attempt a3 = {.name = "insecure"};
    run_attempt(loop, port, o3, &a3);
    muon_connection_options_free(o3);
    CHECK(a3.opened && !a3.failed);

    OK(muon_listener_close(listener));
    OK(muon_loop_run(loop));
    muon_loop_free(loop);
    free(ca_pem);
    free(cert_pem);
    free(key_pem);
    printf("tls: ok\n");
    return 0;
}
