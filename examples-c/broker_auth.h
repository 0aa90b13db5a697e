/*
 * broker_auth.h: who may use the example broker, and for what.
 *
 *   --users FILE   one user per line: "NAME CREDENTIAL..." where each
 *                  credential is a SCRAM line made by `broker --hash-password
 *                  NAME` (the password is not stored, only what verifies it),
 *                  or "plain:PASSWORD" (for tests; the broker warns).
 *                  With users, the broker offers SCRAM-SHA-512/256/1, PLAIN
 *                  over TLS and EXTERNAL to verified client certificates;
 *                  ANONYMOUS only with --allow-anonymous.
 *   --acl FILE     rules "USER send|receive|all PREFIX", one per line: USER
 *                  may be "*" (anyone, anonymous included) and PREFIX "*"
 *                  (every address). A link is allowed when a rule of its user
 *                  covers its address; with --acl, everything else is refused
 *                  (amqp:unauthorized-access). Dynamic (temporary) queues are
 *                  always allowed to their consumer. Without --acl, every
 *                  logged-in user may do everything.
 *
 * Lines starting with '#' and blank lines are ignored in both files.
 */
#ifndef MUON_EXAMPLES_BROKER_AUTH_H
#define MUON_EXAMPLES_BROKER_AUTH_H

#include "broker_util.h"

#include <ctype.h>

enum acl_right { ACL_SEND = 1, ACL_RECEIVE = 2 };

struct acl_rule {
    char *user;   /* "*": anyone */
    char *prefix; /* "*": any address */
    int rights;
};

struct acl {
    struct acl_rule *rules;
    size_t n;
    bool on; /* --acl given: deny what no rule allows */
};

/* Splits `line` in place into at most `max` words; returns how many. */
static inline size_t split_words(char *line, char **words, size_t max) {
    size_t n = 0;
    char *p = line;
    while (*p != '\0' && n < max) {
        while (isspace((unsigned char)*p)) p++;
        if (*p == '\0' || *p == '#') break;
        words[n++] = p;
        while (*p != '\0' && !isspace((unsigned char)*p)) p++;
        if (*p != '\0') *p++ = '\0';
    }
    return n;
}

/* Loads --users into the listener options; exits with a message on error. */
static inline void load_users(const char *path, muon_connection_options *co) {
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        perror(path);
        exit(1);
    }
    char line[4096];
    unsigned lineno = 0, users = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        lineno++;
        char *w[8];
        size_t n = split_words(line, w, 8);
        if (n == 0) continue;
        if (n < 2) {
            fprintf(stderr, "broker: %s:%u: want \"NAME CREDENTIAL...\"\n", path, lineno);
            exit(1);
        }
        for (size_t i = 1; i < n; i++) {
            muon_result rc;
            if (strncmp(w[i], "plain:", 6) == 0) {
                fprintf(stderr, "broker: WARNING: %s:%u: user %s has a plain-text password in "
                                "the file (for tests only; use --hash-password)\n",
                        path, lineno, w[0]);
                rc = muon_connection_options_add_user(co, w[0], w[i] + 6);
            } else {
                rc = muon_connection_options_add_user_scram(co, w[0], w[i]);
            }
            if (rc != MUON_RESULT_OK) {
                const char *why = muon_connection_options_error(co);
                fprintf(stderr, "broker: %s:%u: %s\n", path, lineno,
                        why ? why : muon_result_message(rc));
                exit(1);
            }
        }
        users++;
    }
    fclose(f);
    fprintf(stderr, "broker: %u users from %s\n", users, path);
}

static inline void load_acl(const char *path, struct acl *acl) {
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        perror(path);
        exit(1);
    }
    acl->on = true;
    char line[1024];
    unsigned lineno = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        lineno++;
        char *w[4];
        size_t n = split_words(line, w, 4);
        if (n == 0) continue;
        int rights = n < 3                         ? 0
                     : strcmp(w[1], "send") == 0    ? ACL_SEND
                     : strcmp(w[1], "receive") == 0 ? ACL_RECEIVE
                     : strcmp(w[1], "all") == 0     ? ACL_SEND | ACL_RECEIVE
                                                    : 0;
        if (n != 3 || rights == 0) {
            fprintf(stderr, "broker: %s:%u: want \"USER send|receive|all PREFIX\"\n", path, lineno);
            exit(1);
        }
        struct acl_rule *r = realloc(acl->rules, (acl->n + 1) * sizeof *r);
        if (r == NULL) exit(1);
        acl->rules = r;
        acl->rules[acl->n++] = (struct acl_rule){copy_text(w[0]), copy_text(w[2]), rights};
    }
    fclose(f);
    fprintf(stderr, "broker: %zu access rules from %s\n", acl->n, path);
}

/* Whether `user` (NULL: anonymous) may use `address` for `right`. */
static inline bool acl_allows(const struct acl *acl, const char *user, const char *address,
                              int right) {
    if (!acl->on) return true;
    for (size_t i = 0; i < acl->n; i++) {
        const struct acl_rule *r = &acl->rules[i];
        if ((r->rights & right) == 0) continue;
        if (strcmp(r->user, "*") != 0 && (user == NULL || strcmp(r->user, user) != 0)) continue;
        if (strcmp(r->prefix, "*") == 0 ||
            (address != NULL && strncmp(address, r->prefix, strlen(r->prefix)) == 0)) {
            return true;
        }
    }
    return false;
}

static inline void free_acl(struct acl *acl) {
    for (size_t i = 0; i < acl->n; i++) {
        free(acl->rules[i].user);
        free(acl->rules[i].prefix);
    }
    free(acl->rules);
}

/* broker --hash-password NAME: reads the password from stdin and prints the
 * user's line for --users. */
static inline int hash_password(const char *user) {
    char pw[1024];
    if (fgets(pw, sizeof pw, stdin) == NULL) {
        fprintf(stderr, "broker: give the password on stdin\n");
        return 1;
    }
    pw[strcspn(pw, "\r\n")] = '\0';
    printf("%s", user);
    const char *mechs[] = {"SCRAM-SHA-512", "SCRAM-SHA-256", "SCRAM-SHA-1"};
    for (size_t i = 0; i < 3; i++) {
        char line[512];
        size_t len;
        check(muon_scram_hash_password(mechs[i], pw, 0, line, sizeof line, &len),
              "muon_scram_hash_password");
        printf(" %s", line);
    }
    printf("\n");
    memset(pw, 0, sizeof pw);
    return 0;
}

#endif
