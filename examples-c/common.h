/*
 * common.h: what the C examples share, header-only.
 *
 * For every program (the tutorial's and the broker):
 *   - HANDLER(.on_x = f, ...): a handler table with just those callbacks
 *     (muon copies it where it is passed);
 *   - CHECK(call) and check(rc, what): stop the program when an API call
 *     failed, saying which and why; describe(condition): "name: description";
 *
 * For the tutorial's programs, each one file with one connection (so the
 * state is file-static):
 *   - setup(): the command line (-a URL, checked by muon_url_parse; -m
 *     COUNT, -r ADDRESS and arguments for the programs that take them;
 *     --ca, --cert, --key; -h describes them all) and the loop, whose
 *     handler is the tutorial's closed() made complete: a connection or
 *     link the peer closed with an error, a message it did not accept, a
 *     connection lost or never made, each is reported on stderr and ends
 *     the program with status 1; SIGINT and SIGTERM end it with status 0;
 *   - connect_to(): connects (TLS with --ca, --cert and --key; SASL PLAIN
 *     in clear allowed when the URL names a user, since muon otherwise
 *     refuses to send a password unencrypted and never falls back to
 *     ANONYMOUS);
 *   - finish(): the program is done: close the connection; run(): run the
 *     loop and return the exit status.
 *
 * Functions are `static inline`, so that what a program does not use
 * compiles without a warning.
 */
#ifndef MUON_EXAMPLES_COMMON_H
#define MUON_EXAMPLES_COMMON_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "muon.h"

#define HANDLER(...) (&(const muon_handler){.struct_size = sizeof(muon_handler), __VA_ARGS__})
#define CHECK(call) check((call), #call)

static const char *program = "example";

static inline void check(muon_result rc, const char *what) {
    const char *why = muon_last_error(); /* what muon_loop_connect or _listen says went wrong */
    if (rc == MUON_RESULT_OK) return;
    if (why != NULL) fprintf(stderr, "%s: %s\n", program, why);
    else fprintf(stderr, "%s: %s: %s\n", program, what, muon_result_message(rc));
    exit(1);
}

/* "name: description" of a condition, in a buffer reused by the next call. */
static inline const char *describe(const muon_condition *c) {
    static char text[1024];
    const char *d = muon_condition_description(c);
    snprintf(text, sizeof text, "%s%s%s", muon_condition_name(c), *d ? ": " : "", d);
    return text;
}

/* ---- the tutorial's programs --------------------------------------------------- */

static const char *url_text = "localhost:5672/examples", *count_text, *reply_to;
static const char *ca_file, *cert_file, *key_file, *address;
static struct {
    const char *name, *arg, *help, **value;
} opt[] = {
    {"-a", "URL", "[amqp[s]://][user[:password]@]host[:port][/address], by default\n"
                  "                 localhost:5672/examples", &url_text},
    {"-m", "COUNT", NULL, &count_text}, /* programs that take -m or -r say what they are */
    {"-r", "ADDRESS", NULL, &reply_to},
    {"--ca", "FILE", "for amqps://: trust the CA in FILE (PEM) besides the platform's", &ca_file},
    {"--cert", "FILE", "for amqps://: this program's certificate (PEM), with --key", &cert_file},
    {"--key", "FILE", "the private key (PEM) of --cert", &key_file},
};
static const char *peer;     /* -a's host:port as messages show it (with the scheme if given) */
static char **args;          /* the arguments after the options, then NULL */
static int n_args, exit_code;
static long long count;      /* -m COUNT, 0 to 2147483647 */
static muon_url *url;
static muon_loop *loop;
static muon_connection conn; /* the program's connection */
static muon_listener listener; /* helloworld_direct's */
static muon_timer timer;     /* reconnect.h's next attempt */
static bool done;

/* A message's body as text ("Hello World!", "{'sequence': 1}"), in a buffer
 * the caller may change. */
static inline char *body_of(const muon_message *m) {
    static char text[4096];
    muon_value_format(muon_message_body(m), text, sizeof text);
    return text;
}

static inline void finish(void) {
    done = true;
    (void)muon_connection_close(conn); /* each may be closed or absent already */
    (void)muon_listener_close(listener);
    (void)muon_timer_cancel(timer);
}

/* Reports the first failure, "PROGRAM: WHAT PEER: WHY" (unless the program
 * was done), and finishes. */
static inline void fail(const char *what, const char *why) {
    if (!done) fprintf(stderr, "%s: %s %s: %s\n", program, what, peer, why);
    exit_code = done ? exit_code : 1;
    finish();
}

/* ---- the loop's handler ---- */

/* A connection or link closed by the peer: with an error, the tutorial's
 * "Closed due to"; the connection without one, before the end, too. */
static inline void on_closed_by_peer(void *app, const muon_event *ev) {
    const muon_condition *c = muon_event_condition(ev);
    bool link = muon_event_get_kind(ev) == MUON_EVENT_KIND_LINK_REMOTE_CLOSE;
    (void)app;
    if (c != NULL) printf("Closed due to %s\n", describe(c));
    if (c != NULL || !link) {
        fail(link ? "link closed by" : "connection closed by",
             c != NULL ? describe(c) : "closed without an error before the end");
    }
}

/* A message the peer rejected, released or modified. */
static inline void on_not_accepted(void *app, const muon_event *ev) {
    const muon_condition *c = muon_event_condition(ev);
    muon_event_kind k = muon_event_get_kind(ev);
    (void)app;
    fail(k == MUON_EVENT_KIND_REJECTED ? "message rejected by" : "message not delivered by",
         c != NULL ? describe(c) : k == MUON_EVENT_KIND_RELEASED ? "released" : "modified");
}

static inline void on_gone(void *app, const muon_event *ev) { /* on_disconnected */
    (void)app; /* a connection the peer opened has its container-id */
    fail(muon_connection_remote_container_id(muon_event_connection(ev)) ? "disconnected from"
         : "cannot connect to", describe(muon_event_condition(ev)));
}

static inline void on_interrupt(void *app, const muon_event *ev) { /* on_wake: SIGINT, SIGTERM */
    (void)app, (void)ev;
    finish();
}

static inline void usage(const char *about, int status) {
    FILE *f = status ? stderr : stdout;
    fprintf(f, "usage: %s [OPTION]...%s\n%s\n  -h, --help     print this help\n", program,
            args ? " [ARGUMENT]..." : "", about);
    for (size_t i = 0; i < sizeof opt / sizeof *opt; i++)
        if (opt[i].help) fprintf(f, "  %-6s %-7s %s\n", opt[i].name, opt[i].arg, opt[i].help);
    exit(status);
}

/* Reads the command line of the program `name` and makes the loop.
 * `about` says what the program does; `m` and `r`, when not NULL, what -m COUNT and -r ADDRESS
 * are; `defaults`, when not NULL, that arguments may follow the options,
 * and the ones to use when none do (a NULL-terminated list). */
static inline void setup(const char *name, int argc, char **argv, const char *about, const char *m,
                         const char *r, char **defaults) {
    char *end = NULL;
    program = name;
    opt[1].help = m;
    opt[2].help = r;
    args = defaults ? argv + 1 : NULL;
    for (int i = 1; i < argc; i++) {
        size_t k = 0, n = sizeof opt / sizeof *opt;
        while (k < n && (strcmp(argv[i], opt[k].name) || opt[k].help == NULL)) k++;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) usage(about, 0);
        if (argv[i][0] != '-' && args != NULL) args[n_args++] = argv[i];
        else if (k == n || i + 1 == argc) usage(about, 2);
        else *opt[k].value = argv[++i];
    }
    if (defaults != NULL && n_args == 0) args = defaults;
    else if (defaults != NULL) args[n_args] = NULL; /* args ends with NULL, like argv */
    count = count_text ? strtoll(count_text, &end, 10) : 0; /* programs with -m set its default */
    if (count_text && (end == count_text || *end || count < 0 || count > 2147483647)) {
        fprintf(stderr, "%s: -m %s: not a number from 0 to 2147483647\n", program, count_text);
        exit(2);
    }
    if (!cert_file != !key_file) usage(about, 2);
    if (muon_url_parse(url_text, &url) != MUON_RESULT_OK) {
        fprintf(stderr, "%s: -a: %s\n", program, muon_last_error());
        exit(2);
    }
    address = muon_url_address(url);
    peer = muon_url_origin(url) + (strstr(url_text, "://") ? 0 : strlen(muon_url_scheme(url)) + 3);
    CHECK(muon_loop_new(&loop));
    CHECK(muon_loop_set_handler(loop, HANDLER(.on_connection_remote_close = on_closed_by_peer,
        .on_link_remote_close = on_closed_by_peer, .on_rejected = on_not_accepted,
        .on_released = on_not_accepted, .on_modified = on_not_accepted,
        .on_disconnected = on_gone, .on_wake = on_interrupt), NULL));
    CHECK(muon_loop_wake_on_signal(loop, SIGINT));
    CHECK(muon_loop_wake_on_signal(loop, SIGTERM));
}

/* Connection options from the command line (see the top of this file). */
static inline muon_connection_options *connection_options(void) {
    muon_connection_options *o;
    CHECK(muon_connection_options_new(&o));
    CHECK(muon_connection_options_set_allow_insecure_plain(o, muon_url_user(url) != NULL));
    if ((ca_file && muon_connection_options_add_tls_ca_file(o, ca_file) != MUON_RESULT_OK) ||
        (cert_file && muon_connection_options_set_tls_cert_file(o, cert_file, key_file))) {
        fprintf(stderr, "%s: %s\n", program, muon_connection_options_error(o));
        exit(1);
    }
    return o;
}

/* Connects to `to`; the connection's events go to `h` (may be NULL), else
 * to the loop's handler. */
static inline void connect_to(const char *to, const muon_handler *h) {
    muon_connection_options *o = connection_options();
    CHECK(muon_loop_connect(loop, to, o, h, NULL, &conn));
    muon_connection_options_free(o);
}

/* Runs the loop until everything is closed; returns the exit status. */
static inline int run(void) {
    muon_result rc = muon_loop_run(loop);
    muon_loop_free(loop);
    muon_url_free(url);
    if (rc != MUON_RESULT_OK) fprintf(stderr, "%s: %s\n", program, muon_result_message(rc));
    return rc != MUON_RESULT_OK ? 1 : exit_code;
}

#endif
