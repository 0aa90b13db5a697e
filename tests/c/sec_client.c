/* sec_client: logs in to a broker and closes, for tests/security.rs.
 *
 *   sec_client -a URL [--failover URL]... [--ca FILE] [--cert FILE --key FILE]
 *              [--mechanisms LIST]
 *
 * With --failover the built-in reconnect is on (20 ms, at most 8 attempts)
 * and rotates from -a through the failover URLs. --mechanisms restricts
 * the SASL mechanisms (e.g. "PLAIN"); PLAIN is allowed in clear. On open it
 * prints "open: user USER mechanism MECH" and exits 0; a failed login or
 * too many failed attempts prints "failed: CONDITION: DESCRIPTION" on
 * stderr and exits 1. Every attempt that fails is reported on stderr as
 * "disconnected: ...". */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "muon.h"

static int exit_code = 1;
static int attempts = 0;

static void must(muon_result rc, const char *what) {
    if (rc != MUON_RESULT_OK) {
        fprintf(stderr, "sec_client: %s: %s\n", what, muon_result_name(rc));
        exit(2);
    }
}

static void print_condition(const char *what, const muon_event *ev) {
    const muon_condition *c = muon_event_condition(ev);
    const char *d = c ? muon_condition_description(c) : NULL;
    fprintf(stderr, "%s: %s: %s\n", what, c ? muon_condition_name(c) : "(none)", d ? d : "");
}

static void on_open(void *ud, const muon_event *ev) {
    (void)ud;
    muon_connection c = muon_event_connection(ev);
    const char *user = muon_connection_user(c);
    const char *mech = muon_connection_sasl_mechanism(c);
    printf("open: user %s mechanism %s\n", user ? user : "(none)", mech ? mech : "(none)");
    exit_code = 0;
    must(muon_connection_close(c), "muon_connection_close");
}

/* Every failed attempt is reported here, once. A refused login ends it; a
 * lost transport is retried. */
static void on_disconnected(void *ud, const muon_event *ev) {
    (void)ud;
    print_condition("disconnected", ev);
    const muon_condition *c = muon_event_condition(ev);
    bool refused = c && strcmp(muon_condition_name(c), "amqp:unauthorized-access") == 0;
    if (refused || ++attempts >= 8) {
        print_condition("failed", ev);
        (void)muon_connection_close(muon_event_connection(ev));
    }
}

int main(int argc, char **argv) {
    const char *url = NULL, *ca = NULL, *mechanisms = NULL, *cert = NULL, *key = NULL;
    muon_connection_options *co;
    must(muon_connection_options_new(&co), "muon_connection_options_new");
    bool failover = false;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "-a") == 0) {
            url = argv[i + 1];
        } else if (strcmp(argv[i], "--failover") == 0) {
            must(muon_connection_options_add_failover_url(co, argv[i + 1]), "--failover");
            failover = true;
        } else if (strcmp(argv[i], "--ca") == 0) {
            ca = argv[i + 1];
        } else if (strcmp(argv[i], "--cert") == 0) {
            cert = argv[i + 1];
        } else if (strcmp(argv[i], "--key") == 0) {
            key = argv[i + 1];
        } else if (strcmp(argv[i], "--mechanisms") == 0) {
            mechanisms = argv[i + 1];
        } else {
            fprintf(stderr, "usage: %s -a URL [--failover URL]... [--ca FILE] "
                            "[--cert FILE --key FILE] [--mechanisms LIST]\n",
                    argv[0]);
            return 2;
        }
    }
    if (url == NULL) return 2;
    if (ca != NULL) {
        muon_result rc = muon_connection_options_add_tls_ca_file(co, ca);
        if (rc != MUON_RESULT_OK) {
            fprintf(stderr, "sec_client: --ca: %s\n", muon_connection_options_error(co));
            return 2;
        }
    }
    if ((cert == NULL) != (key == NULL)) return 2;
    if (cert != NULL) {
        muon_result rc = muon_connection_options_set_tls_cert_file(co, cert, key);
        if (rc != MUON_RESULT_OK) {
            fprintf(stderr, "sec_client: --cert: %s\n", muon_connection_options_error(co));
            return 2;
        }
    }
    if (mechanisms != NULL) must(muon_connection_options_set_sasl_mechanisms(co, mechanisms), "--mechanisms");
    must(muon_connection_options_set_allow_insecure_plain(co, true), "allow_insecure_plain");
    if (failover) must(muon_connection_options_set_reconnect(co, 20, 200, 0), "set_reconnect");

    muon_loop *loop = NULL;
    if (muon_loop_new(&loop) != MUON_RESULT_OK) return 2;
    muon_handler h = MUON_HANDLER_INIT;
    h.on_connection_remote_open = on_open;
    h.on_disconnected = on_disconnected;
    must(muon_loop_connect(loop, url, co, &h, NULL, NULL), "muon_loop_connect");
    muon_connection_options_free(co);
    must(muon_loop_run(loop), "muon_loop_run");
    muon_loop_free(loop);
    return exit_code;
}
