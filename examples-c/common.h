/*
 * common.h: small helpers shared by the muon C examples, header-only.
 *
 *   - command-line options: -a URL, -m COUNT, -v, the TLS options --ca FILE,
 *     --cert FILE and --key FILE, and the arguments left over;
 *   - splitting "host:port/address" into the part to connect to and the address;
 *   - connecting (amqps:// URLs use TLS, verified against the platform's trust
 *     store or SSL_CERT_FILE, plus --ca), with SASL PLAIN allowed when the URL
 *     carries a user;
 *   - checking a muon_result and stopping with a clear message;
 *   - the tutorial's reconnect backoff (0.1 s, doubling, at most 10 s) and a
 *     client that reconnects with it (simple_send, simple_recv);
 *   - stopping a loop cleanly on SIGINT and SIGTERM (a thread waits for the
 *     signal and wakes the loop, muon's one thread-safe call).
 *
 * Everything is `static inline`, so an example that uses only part of it
 * compiles cleanly with -Wall -Wextra -Werror.
 */
#ifndef MUON_EXAMPLES_COMMON_H
#define MUON_EXAMPLES_COMMON_H

#define _POSIX_C_SOURCE 200809L /* sigwait, pthread_sigmask */

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "muon.h"

#define DEFAULT_URL "localhost:5672/examples"

/* What the command line asked for. */
struct options {
    const char *url;   /* -a: [amqp://][user[:password]@]host[:port][/address] */
    char host[512];    /* url without the /address part: what to connect to */
    char peer[512];    /* host without user:password: what messages name */
    const char *address; /* the address (url's path), "" if none */
    long count;        /* -m COUNT */
    bool count_given;  /* whether -m was on the command line */
    bool verbose;      /* -v */
    int argc;          /* arguments that are not options */
    char **argv;
};

static inline void usage_exit(const char *prog, const char *usage) {
    fprintf(stderr, "usage: %s %s\n", prog, usage);
    fprintf(stderr, "  amqps:// URLs use TLS, trusting the platform's CAs (or SSL_CERT_FILE);\n"
                    "  --ca FILE trusts another CA, --cert FILE --key FILE send a client certificate\n");
    exit(2);
}

/* TLS settings from the command line, used by connect_to (one set per program). */
static const char *tls_ca_file;   /* --ca FILE: a CA to trust beside the platform's */
static const char *tls_cert_file; /* --cert FILE: a client certificate (mutual TLS) */
static const char *tls_key_file;  /* --key FILE: its private key */

/* Parses -a URL, -m COUNT, -v and the TLS options; other arguments stay in
 * opts->argv. */
static inline void parse_options(int argc, char **argv, const char *usage,
                                 long default_count, struct options *opts) {
    memset(opts, 0, sizeof *opts);
    opts->url = DEFAULT_URL;
    opts->count = default_count;
    opts->argv = argv + 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-a") == 0 && i + 1 < argc) {
            opts->url = argv[++i];
        } else if (strcmp(a, "-m") == 0 && i + 1 < argc) {
            char *end;
            opts->count = strtol(argv[++i], &end, 10);
            if (*end != '\0' || opts->count < 0) usage_exit(argv[0], usage);
            opts->count_given = true;
        } else if (strcmp(a, "-v") == 0) {
            opts->verbose = true;
        } else if (strcmp(a, "--ca") == 0 && i + 1 < argc) {
            tls_ca_file = argv[++i];
        } else if (strcmp(a, "--cert") == 0 && i + 1 < argc) {
            tls_cert_file = argv[++i];
        } else if (strcmp(a, "--key") == 0 && i + 1 < argc) {
            tls_key_file = argv[++i];
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0 ||
                   (a[0] == '-' && a[1] != '\0')) {
            usage_exit(argv[0], usage);
        } else {
            opts->argv[opts->argc++] = argv[i];
        }
    }
    if ((tls_cert_file == NULL) != (tls_key_file == NULL)) usage_exit(argv[0], usage);
    /* The address is what follows the first '/' after the host part. */
    const char *start = strstr(opts->url, "://");
    start = start ? start + 3 : opts->url;
    const char *slash = strchr(start, '/');
    size_t host_len = slash ? (size_t)(slash - opts->url) : strlen(opts->url);
    if (host_len >= sizeof opts->host) usage_exit(argv[0], usage);
    memcpy(opts->host, opts->url, host_len);
    opts->host[host_len] = '\0';
    const char *at = strchr(opts->host + (start - opts->url), '@');
    snprintf(opts->peer, sizeof opts->peer, "%.*s%s", (int)(start - opts->url), opts->url,
             at ? at + 1 : opts->host + (start - opts->url));
    opts->address = slash ? slash + 1 : "";
}

/* The listening form of host:port: an amqp:// prefix dropped. */
static inline const char *listen_address(const struct options *opts) {
    const char *start = strstr(opts->host, "://");
    return start ? start + 3 : opts->host;
}

/* A heap copy of `s`; stops the program when memory runs out. */
static inline char *copy_text(const char *s) {
    char *c = malloc(strlen(s) + 1);
    if (c == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return strcpy(c, s);
}

/* Stops the program if `rc` is not MUON_RESULT_OK: an API call failed. */
static inline void check(muon_result rc, const char *what) {
    if (rc != MUON_RESULT_OK) {
        fprintf(stderr, "error: %s: %s (%s)\n", what, muon_result_message(rc),
                muon_result_name(rc));
        exit(1);
    }
}

/* "name: description" of an AMQP condition, or `fallback` if there is none. */
static inline const char *condition_text(const muon_condition *c, char *buf, size_t cap,
                                         const char *fallback) {
    if (c == NULL) return fallback;
    const char *d = muon_condition_description(c);
    if (d != NULL && d[0] != '\0') {
        snprintf(buf, cap, "%s: %s", muon_condition_name(c), d);
    } else {
        snprintf(buf, cap, "%s", muon_condition_name(c));
    }
    return buf;
}

/*
 * Connects to `host` (opts->host: [amqp://][user[:password]@]host[:port]).
 * A user and password in the URL are the application's explicit choice of
 * SASL PLAIN, so PLAIN is allowed over a connection without TLS, where muon
 * otherwise refuses it (it never falls back to ANONYMOUS instead). Without a
 * user in the URL, the defaults apply (ANONYMOUS).
 */
/* Stops the program if a TLS option could not be used, saying why. */
static inline void check_tls(muon_connection_options *o, muon_result rc, const char *what) {
    if (rc != MUON_RESULT_OK) {
        const char *why = muon_connection_options_error(o);
        fprintf(stderr, "error: %s: %s\n", what, why ? why : muon_result_message(rc));
        exit(1);
    }
}

static inline muon_result connect_to(muon_loop *loop, const char *host,
                                     const muon_handler *handler, void *userdata,
                                     muon_connection *out) {
    const char *start = strstr(host, "://");
    bool has_user = strchr(start ? start + 3 : host, '@') != NULL;
    muon_connection_options *options = NULL;
    if (has_user || tls_ca_file != NULL || tls_cert_file != NULL) {
        check(muon_connection_options_new(&options), "muon_connection_options_new");
    }
    if (has_user) {
        check(muon_connection_options_set_allow_insecure_plain(options, true),
              "muon_connection_options_set_allow_insecure_plain");
    }
    if (tls_ca_file != NULL) {
        check_tls(options, muon_connection_options_add_tls_ca_file(options, tls_ca_file), "--ca");
    }
    if (tls_cert_file != NULL) {
        check_tls(options,
                  muon_connection_options_set_tls_cert_file(options, tls_cert_file, tls_key_file),
                  "--cert/--key");
    }
    muon_result rc = muon_loop_connect(loop, host, options, handler, userdata, out);
    muon_connection_options_free(options);
    return rc;
}

/*
 * Whether a transport error only says that the connection was lost, which
 * reconnecting may mend: the socket closed or failed without an AMQP close
 * (amqp:connection:forced), or the peer went silent past the idle timeout
 * (amqp:resource-limit-exceeded). A failed login or a protocol error would
 * only happen again.
 */
static inline bool is_connection_lost(const muon_condition *c) {
    if (c == NULL) return true;
    const char *name = muon_condition_name(c);
    return strcmp(name, "amqp:connection:forced") == 0 ||
           strcmp(name, "amqp:resource-limit-exceeded") == 0;
}

/*
 * The tutorial's reconnect backoff. `delay_ms` is 0 while connected; after a
 * disconnect the first attempt is immediate, then 100 ms, doubling up to 10 s.
 * backoff_next returns how long to wait before the next attempt (0: now).
 */
struct backoff {
    unsigned delay_ms;
};

static inline unsigned backoff_next(struct backoff *b) {
    unsigned wait = b->delay_ms;
    if (b->delay_ms == 0) {
        b->delay_ms = 100;
    } else {
        b->delay_ms = b->delay_ms * 2 > 10000 ? 10000 : b->delay_ms * 2;
    }
    return wait;
}

static inline void backoff_reset(struct backoff *b) { b->delay_ms = 0; }

/*
 * A client that keeps its connection: the tutorial's manual reconnect
 * pattern, shared by simple_send and simple_recv. Put a `struct reconnecting`
 * first in the program's state, set its fields, and call reconnect_now. The
 * connection's handler is set here; its userdata is that state, so the
 * program's link handlers (passed the same pointer) see their own fields.
 *
 *   - on_open(rc) runs each time the connection is up: open the links there;
 *   - a lost connection is retried at once, then after 0.1 s, doubling up to
 *     10 s, printing what it does; a connection that never opened, a failed
 *     login or an error from the peer ends the program with a message.
 */
struct reconnecting {
    muon_loop *loop;
    const char *program;           /* for messages */
    const char *host, *peer;       /* peer: the host without credentials */
    void (*on_open)(struct reconnecting *rc);
    muon_connection conn;
    struct backoff backoff;
    bool opened_once, done;
    int exit_code;
};

static inline void reconnect_now(struct reconnecting *rc);

static inline void reconnecting_closed(struct reconnecting *rc, const char *what,
                                       const muon_condition *error) {
    char buf[512];
    if (error != NULL) {
        printf("Closed due to %s\n", condition_text(error, buf, sizeof buf, ""));
        fprintf(stderr, "%s: %s %s: %s\n", rc->program, what, rc->peer, buf);
        rc->exit_code = 1;
        rc->done = true;
    }
    (void)muon_connection_close(rc->conn); /* may be closed already */
}

static inline void reconnecting_on_remote_open(void *app, const muon_event *ev) {
    struct reconnecting *rc = app;
    (void)ev;
    rc->opened_once = true;
    backoff_reset(&rc->backoff);
    rc->on_open(rc);
}

static inline void reconnecting_on_link_remote_close(void *app, const muon_event *ev) {
    reconnecting_closed(app, "link closed by", muon_event_condition(ev));
}

static inline void reconnecting_on_remote_close(void *app, const muon_event *ev) {
    reconnecting_closed(app, "connection closed by", muon_event_condition(ev));
}

static inline void reconnecting_on_timer(void *app, const muon_event *ev) {
    (void)ev;
    printf("Reconnecting...\n");
    fflush(stdout);
    reconnect_now(app);
}

/* A failed login or a protocol error: say why and give up (a lost
 * connection is reconnected instead). */
static inline void reconnecting_give_up(void *app, const muon_event *ev) {
    struct reconnecting *rc = app;
    char buf[512];
    const muon_condition *why = muon_event_condition(ev);
    if (rc->done || is_connection_lost(why)) return;
    fprintf(stderr, "%s: connection to %s failed: %s\n", rc->program, rc->peer,
            condition_text(why, buf, sizeof buf, "no reason given"));
    rc->exit_code = 1;
    rc->done = true;
}

static inline void reconnecting_on_disconnected(void *app, const muon_event *ev) {
    struct reconnecting *rc = app;
    char buf[512];
    if (rc->done) return;
    /* on_disconnected is where every failure is reported: one that is not
     * a lost connection would only happen again. */
    if (!is_connection_lost(muon_event_condition(ev))) {
        reconnecting_give_up(app, ev);
        return;
    }
    if (!rc->opened_once) { /* never connected: say why and give up */
        fprintf(stderr, "%s: cannot connect to %s: %s\n", rc->program, rc->peer,
                condition_text(muon_event_condition(ev), buf, sizeof buf, "no reason given"));
        rc->exit_code = 1;
        return;
    }
    unsigned delay = backoff_next(&rc->backoff);
    if (delay == 0) {
        printf("Disconnected, reconnecting...\n");
        reconnect_now(rc);
    } else {
        printf("Disconnected, will try to reconnect after %g seconds\n", delay / 1000.0);
        muon_handler t = MUON_HANDLER_INIT;
        t.on_timer = reconnecting_on_timer;
        check(muon_loop_schedule(rc->loop, delay, &t, rc, NULL), "muon_loop_schedule");
    }
    fflush(stdout);
}

static inline void reconnect_now(struct reconnecting *rc) {
    muon_handler h = MUON_HANDLER_INIT;
    h.on_connection_remote_open = reconnecting_on_remote_open;
    h.on_link_remote_close = reconnecting_on_link_remote_close;
    h.on_connection_remote_close = reconnecting_on_remote_close;
    h.on_disconnected = reconnecting_on_disconnected;
    check(connect_to(rc->loop, rc->host, &h, rc, &rc->conn), "muon_loop_connect");
}

/*
 * SIGINT and SIGTERM as a loop wake-up: signals_start blocks both signals
 * (call it before starting other threads, so that they inherit the mask)
 * and starts a thread that waits for one and calls muon_loop_wake, so the
 * loop's on_wake callback runs on the loop thread. signals_stop ends the
 * thread (with a signal of its own, never pthread_cancel, which could
 * unwind through muon); call it before muon_loop_free.
 */
struct signals {
    pthread_t thread;
    muon_loop *loop;
    atomic_bool stopping;
};

static inline void signal_set(sigset_t *set) {
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
}

static inline void *signals_wait(void *arg) {
    struct signals *s = arg;
    sigset_t set;
    signal_set(&set);
    int sig;
    if (sigwait(&set, &sig) == 0 && !atomic_load(&s->stopping)) {
        check(muon_loop_wake(s->loop), "muon_loop_wake");
    }
    return NULL;
}

static inline void signals_start(struct signals *s, muon_loop *loop) {
    sigset_t set;
    signal_set(&set);
    s->loop = loop;
    atomic_init(&s->stopping, false);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 ||
        pthread_create(&s->thread, NULL, signals_wait, s) != 0) {
        fprintf(stderr, "error: cannot start the signal thread\n");
        exit(1);
    }
}

static inline void signals_stop(struct signals *s) {
    atomic_store(&s->stopping, true);
    pthread_kill(s->thread, SIGTERM); /* ends its sigwait, if it still waits */
    pthread_join(s->thread, NULL);
}

#endif
