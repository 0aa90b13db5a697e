/*
 * embed_poll.c: muon inside the application's own poll() loop.
 *
 * Reads lines from standard input and sends each, as a string message, to
 * the URL's address; once standard input ends and every message was
 * accepted, closes the connection and exits. The program owns the loop:
 * one poll() on standard input and on muon's descriptor (muon_loop_fd),
 * with muon's next deadline (muon_loop_timeout) as its time-out, and
 * muon_loop_run_once(loop, 0) whenever muon's descriptor is readable.
 * Standard input is read only while the sender has credit, so a slow peer
 * slows the reading down instead of filling memory.
 *
 *   embed_poll [-a URL]   URL defaults to localhost:5672/examples
 *
 * Prints: all N lines confirmed
 */
#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "common.h"

static muon_sender sender;
static long sent, confirmed;
static bool input_over, closed;
#define CAPACITY 65536
static char line[CAPACITY + 1]; /* + 1: room for a NUL after a full buffer */
static size_t have; /* bytes of standard input read and not yet sent */

static void on_accepted(void *app, const muon_event *ev) {
    (void)app, (void)ev;
    confirmed++;
}

static void on_connection_final(void *app, const muon_event *ev) {
    (void)app, (void)ev;
    closed = true;
}

/* Sends the complete lines read so far (all of it once input ended), while
 * the sender has credit. */
static void send_lines(void) {
    char *nl;
    while (have > 0 && muon_sender_credit(sender) > 0 &&
           ((nl = memchr(line, '\n', have)) != NULL || input_over || have == CAPACITY)) {
        size_t len = nl ? (size_t)(nl - line) : have;
        muon_message *m;
        line[len] = '\0';
        CHECK(muon_message_new(&m));
        CHECK(muon_message_set_body_string(m, line));
        CHECK(muon_sender_send(sender, m, NULL));
        muon_message_free(m);
        sent++;
        len += nl != NULL;
        memmove(line, line + len, have - len);
        have -= len;
    }
}

int main(int argc, char **argv) {
    setup("embed_poll", argc, argv, "Sends each line of standard input to the URL's address, "
          "from one poll() loop of its own.", NULL, NULL, NULL);
    connect_to(url_text, HANDLER(.on_connection_final = on_connection_final));
    CHECK(muon_connection_open_sender(conn, address, NULL, HANDLER(.on_accepted = on_accepted),
                                      NULL, &sender));
    int fd;
    CHECK(muon_loop_fd(loop, &fd));
    while (!closed) {
        int64_t timeout;
        bool want_input = !input_over && !done && muon_sender_credit(sender) > 0 &&
                          !memchr(line, '\n', have) && have < CAPACITY;
        struct pollfd fds[2] = {{.fd = fd, .events = POLLIN}, {.fd = 0, .events = POLLIN}};
        CHECK(muon_loop_timeout(loop, &timeout));
        if (poll(fds, want_input ? 2 : 1, timeout > 60000 ? 60000 : (int)timeout) < 0 &&
            errno != EINTR) {
            perror("embed_poll: poll");
            return 1;
        }
        if (fds[0].revents || timeout == 0) CHECK(muon_loop_run_once(loop, 0));
        if (want_input && fds[1].revents) {
            ssize_t n = read(0, line + have, CAPACITY - have);
            if (n > 0) have += (size_t)n;
            else if (n == 0 || errno != EINTR) input_over = true;
        }
        if (!done) send_lines();
        if (!done && input_over && have == 0 && confirmed == sent) {
            printf("all %ld lines confirmed\n", sent);
            finish();
        }
    }
    return run(); /* what is left (nothing, once the connection is final) */
}
