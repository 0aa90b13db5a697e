/* muon_driver: connections over transports the application owns, all
 * moved by the application's own poll() loop (run by tests/embed.rs).
 *
 *   embed_driver socketpair  two drivers over a socketpair: a client with
 *                            its own loop, a server on a loop run from
 *                            muon_loop_fd
 *   embed_driver pipes       the same over two pipes (one each way)
 *   embed_driver listener    a client driver over a TCP socket of the
 *                            application's, to a muon listener on a loop
 *                            run from muon_loop_fd
 *   embed_driver errors      end of stream, transport errors, a handshake
 *                            time-out, misuse of the driver calls
 *
 * An optional second argument sets the number of messages (for the slower
 * sanitizer build).
 *
 * The first three send 20,000 messages (far past the receiver's credit
 * window of 10 and the session windows), one in 50 of 20 KB, over 4 KB
 * frames (so split across frames), check each arrives once and in order
 * and is accepted, then idle for 2.5 s with an idle time-out of 2 s
 * (heartbeats must flow through the drivers' deadlines), then close. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <time.h>

#include "api_check.h"

static int N = 20000; /* or the count given after the mode */
#define BIG 20000
#define SMALL 64

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nonblocking(int fd) {
    int fl = fcntl(fd, F_GETFL);
    CHECK(fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0);
}

/* ---- one end: a driver and the descriptors of its transport ----------- */

struct end {
    const char *name;
    muon_driver *d;
    int rfd, wfd;   /* the same descriptor for a socket */
    bool socket;
    bool rclosed, wclosed;
};

/* Moves what the driver has to write to its transport; true if some went. */
static bool pump_out(struct end *e) {
    bool moved = false;
    while (!e->wclosed) {
        const uint8_t *p;
        size_t len;
        muon_result rc = muon_driver_write_buffer(e->d, &p, &len);
        if (rc == MUON_RESULT_CLOSED) {
            /* Nothing more will be written: the transport's write side ends. */
            if (e->socket)
                shutdown(e->wfd, SHUT_WR);
            else
                close(e->wfd);
            e->wclosed = true;
            break;
        }
        CHECK_RC(rc, MUON_RESULT_OK);
        if (len == 0)
            break;
        ssize_t n = write(e->wfd, p, len);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        CHECK(n > 0);
        OK(muon_driver_written(e->d, (size_t)n));
        moved = true;
    }
    return moved;
}

/* Moves what the transport has read to the driver. */
static void pump_in(struct end *e) {
    uint8_t buf[16384];
    while (!e->rclosed) {
        ssize_t n = read(e->rfd, buf, sizeof buf);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            e->rclosed = true;
            muon_result rc = muon_driver_read_closed(e->d);
            CHECK(rc == MUON_RESULT_OK || rc == MUON_RESULT_CLOSED);
            return;
        }
        muon_result rc = muon_driver_read(e->d, buf, (size_t)n);
        CHECK(rc == MUON_RESULT_OK || rc == MUON_RESULT_CLOSED);
    }
}

static bool wants_write(struct end *e) {
    const uint8_t *p;
    size_t len = 0;
    if (e->wclosed)
        return false;
    muon_result rc = muon_driver_write_buffer(e->d, &p, &len);
    return rc == MUON_RESULT_CLOSED || len > 0;
}

/* ---- the messaging: a sender on the client, the server receives ------- */

struct app {
    int sent, received, accepted, finals, disconnects;
    int next_expected;
    bool closing;
    long long idle_until;
    muon_connection client;
    char last_condition[256];
};

static size_t size_of(int i) { return i % 50 == 49 ? BIG : SMALL; }

static void on_link_flow(void *ud, const muon_event *ev) {
    struct app *a = ud;
    muon_sender s = muon_event_sender(ev);
    if (IS_NULL_HANDLE(s))
        return;
    static uint8_t body[BIG];
    while (a->sent < N && muon_sender_credit(s) > 0) {
        size_t len = size_of(a->sent);
        memset(body, 'a' + a->sent % 26, len);
        memcpy(body, &a->sent, sizeof a->sent);
        muon_message *m;
        OK(muon_message_new(&m));
        OK(muon_message_set_body_binary(m, body, len));
        OK(muon_sender_send(s, m, NULL));
        muon_message_free(m);
        a->sent++;
    }
}

static void on_message(void *ud, const muon_event *ev) {
    struct app *a = ud;
    muon_bytes b;
    OK(muon_message_body_data(muon_event_message(ev), 0, &b));
    int i;
    CHECK(b.len >= sizeof i);
    memcpy(&i, b.ptr, sizeof i);
    CHECK(i == a->next_expected);
    CHECK(b.len == size_of(i));
    CHECK(b.ptr[b.len - 1] == (uint8_t)('a' + i % 26) || b.len == sizeof i);
    a->next_expected++;
    a->received++;
}

static void on_accepted(void *ud, const muon_event *ev) {
    (void)ev;
    struct app *a = ud;
    a->accepted++;
    if (a->accepted == N)
        a->idle_until = now_ms() + 2500; /* then close: see the main loop */
}

static void on_disconnected(void *ud, const muon_event *ev) {
    struct app *a = ud;
    const muon_condition *c = muon_event_condition(ev);
    snprintf(a->last_condition, sizeof a->last_condition, "%s: %s",
             c ? muon_condition_name(c) : "(none)",
             c && muon_condition_description(c) ? muon_condition_description(c) : "");
    a->disconnects++;
}

static void on_final(void *ud, const muon_event *ev) {
    (void)ev;
    struct app *a = ud;
    a->finals++;
}

static muon_handler handler(void) {
    muon_handler h = MUON_HANDLER_INIT;
    h.on_link_flow = on_link_flow;
    h.on_message = on_message;
    h.on_accepted = on_accepted;
    h.on_disconnected = on_disconnected;
    h.on_connection_final = on_final;
    return h;
}

static muon_connection_options *options(void) {
    muon_connection_options *o;
    OK(muon_connection_options_new(&o));
    OK(muon_connection_options_set_max_frame_size(o, 4096));
    OK(muon_connection_options_set_idle_timeout(o, 2000));
    return o;
}

/* Runs the application's poll loop until both connections are final.
 * `b` may have no driver (the listener case: its loop's sockets are
 * muon's). `lp` is the loop run from its descriptor. */
static void run(struct app *a, struct end *c, struct end *s, muon_loop *lp) {
    int lfd;
    OK(muon_loop_fd(lp, &lfd));
    int fd2;
    OK(muon_loop_fd(lp, &fd2));
    CHECK(fd2 == lfd); /* the same descriptor every time */
    long long deadline = now_ms() + 60000;
    struct end *ends[2] = {c, s};
    while (a->finals < 2) {
        CHECK(now_ms() < deadline);
        if (a->idle_until && !a->closing && now_ms() >= a->idle_until) {
            if (a->disconnects) fprintf(stderr, "lost: %s\n", a->last_condition);
            CHECK(a->disconnects == 0); /* heartbeats kept it up */
            CHECK(muon_connection_is_connected(a->client));
            OK(muon_connection_close(a->client));
            a->closing = true;
                }
        struct pollfd fds[5];
        int n = 0;
        for (int i = 0; i < 2; i++) {
            struct end *e = ends[i];
            if (!e || !e->d)
                continue;
            if (!e->rclosed) {
                fds[n++] = (struct pollfd){.fd = e->rfd, .events = POLLIN};
            }
            if (wants_write(e)) {
                fds[n++] = (struct pollfd){.fd = e->wfd, .events = POLLOUT};
            }
        }
        fds[n++] = (struct pollfd){.fd = lfd, .events = POLLIN};
        /* The client driver has its own loop: its deadlines are its own. */
        int64_t t1 = -1, t2 = -1;
        muon_result rc = muon_driver_timeout(c->d, &t1);
        CHECK(rc == MUON_RESULT_OK || rc == MUON_RESULT_CLOSED);
        OK(muon_loop_timeout(lp, &t2));
        int64_t t = t1 < 0 ? t2 : (t2 < 0 ? t1 : (t1 < t2 ? t1 : t2));
        if (a->idle_until && !a->closing) {
            long long left = a->idle_until - now_ms();
            if (left < 0)
                left = 0;
            if (t < 0 || t > left)
                t = left;
        }
        int r = poll(fds, (nfds_t)n, t < 0 ? 1000 : (int)(t > 1000 ? 1000 : t));
        CHECK(r >= 0 || errno == EINTR);
        /* What was read goes in first, then what is due runs: a deadline
         * is not judged before the bytes that arrived in time are seen. */
        for (int i = 0; i < 2; i++)
            if (ends[i] && ends[i]->d)
                pump_in(ends[i]);
        /* Bytes fed to the server's driver made the descriptor readable. */
        struct pollfd lp_fd = {.fd = lfd, .events = POLLIN};
        if (poll(&lp_fd, 1, 0) == 1)
            OK(muon_loop_run_once(lp, 0));
        OK(muon_driver_process(c->d));
        for (int i = 0; i < 2; i++)
            if (ends[i] && ends[i]->d)
                pump_out(ends[i]);
    }
    if (a->accepted != N || a->disconnects)
        fprintf(stderr, "sent %d, received %d, accepted %d, lost: %s\n", a->sent, a->received,
                a->accepted, a->last_condition);
    CHECK(a->sent == N && a->received == N && a->accepted == N);
    CHECK(a->disconnects == 0);
    /* After the close each side's output ended: the transports closed. */
    for (int i = 0; i < 2; i++) {
        if (!ends[i] || !ends[i]->d)
            continue;
        const uint8_t *p;
        size_t len;
        CHECK_RC(muon_driver_write_buffer(ends[i]->d, &p, &len), MUON_RESULT_CLOSED);
        CHECK_RC(muon_driver_read(ends[i]->d, (const uint8_t *)"x", 1), MUON_RESULT_CLOSED);
    }
}

/* Two drivers: the client with its own loop, the server on `lp`. */
static void two_drivers(struct app *a, int c_r, int c_w, int s_r, int s_w, bool sock) {
    muon_loop *lp;
    OK(muon_loop_new(&lp));
    muon_handler h = handler();
    muon_connection_options *o = options();
    struct end c = {.name = "client", .rfd = c_r, .wfd = c_w, .socket = sock};
    struct end s = {.name = "server", .rfd = s_r, .wfd = s_w, .socket = sock};
    OK(muon_driver_new(NULL, false, o, &h, a, &c.d));
    OK(muon_driver_new(lp, true, o, &h, a, &s.d));
    muon_connection_options_free(o);
    CHECK(muon_driver_loop(s.d) == lp);
    muon_loop *own = muon_driver_loop(c.d);
    CHECK(own != NULL && own != lp);
    a->client = muon_driver_connection(c.d);
    CHECK(!IS_NULL_HANDLE(a->client));
    CHECK(muon_connection_is_connected(a->client));
    OK(muon_connection_open_sender(a->client, "q", NULL, NULL, NULL, NULL));
    run(a, &c, &s, lp);
    muon_driver_free(c.d);
    muon_driver_free(s.d);
    muon_loop_free(lp);
    close(c_r);
    close(s_r);
    if (!sock) {
        /* the write ends were closed when their output ended */
    }
}

static void mode_socketpair(void) {
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    nonblocking(sv[0]);
    nonblocking(sv[1]);
    struct app a = {0};
    two_drivers(&a, sv[0], sv[0], sv[1], sv[1], true);
}

static void mode_pipes(void) {
    int up[2], down[2]; /* client -> server, server -> client */
    CHECK(pipe(up) == 0 && pipe(down) == 0);
    for (int i = 0; i < 2; i++) {
        nonblocking(up[i]);
        nonblocking(down[i]);
    }
    struct app a = {0};
    two_drivers(&a, down[0], up[1], up[0], down[1], false);
}

/* A driver over a TCP socket the application made, to a muon listener. */
static void on_accepted_conn(void *ud, const muon_event *ev) {
    (void)ev;
    (void)ud;
}

static void mode_listener(void) {
    muon_loop *lp;
    OK(muon_loop_new(&lp));
    struct app a = {0};
    muon_handler h = handler();
    h.on_connection_accepted = on_accepted_conn;
    muon_connection_options *o = options();
    muon_listener l;
    OK(muon_loop_listen(lp, "127.0.0.1:0", o, &h, &a, &l));
    uint16_t port = muon_listener_port(l);
    CHECK(port != 0);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    nonblocking(fd);
    struct end c = {.name = "client", .rfd = fd, .wfd = fd, .socket = true};
    OK(muon_driver_new(NULL, false, o, &h, &a, &c.d));
    muon_connection_options_free(o);
    a.client = muon_driver_connection(c.d);
    OK(muon_connection_open_sender(a.client, "q", NULL, NULL, NULL, NULL));
    run(&a, &c, NULL, lp);
    OK(muon_listener_close(l));
    OK(muon_loop_run(lp));
    muon_driver_free(c.d);
    muon_loop_free(lp);
    close(fd);
}

/* ---- errors ------------------------------------------------------------- */

/* Runs a standalone driver's loop until its connection is final, feeding
 * nothing; its output is dropped. */
static void drain_until_final(struct app *a, muon_driver *d) {
    long long deadline = now_ms() + 10000;
    while (a->finals == 0) {
        CHECK(now_ms() < deadline);
        const uint8_t *p;
        size_t len;
        if (muon_driver_write_buffer(d, &p, &len) == MUON_RESULT_OK && len > 0)
            OK(muon_driver_written(d, len));
        int64_t t;
        muon_result rc = muon_driver_timeout(d, &t);
        if (rc == MUON_RESULT_CLOSED)
            break;
        OK(rc);
        CHECK(t >= -1);
        struct timespec ts = {0, (t < 0 || t > 50 ? 50 : t) * 1000000L};
        nanosleep(&ts, NULL);
        OK(muon_driver_process(d));
    }
}

static void mode_errors(void) {
    muon_handler h = handler();
    /* End of stream before any AMQP close: lost, amqp:connection:forced. */
    {
        struct app a = {0};
        muon_driver *d;
        OK(muon_driver_new(NULL, false, NULL, &h, &a, &d));
        const uint8_t *p;
        size_t len;
        OK(muon_driver_write_buffer(d, &p, &len));
        CHECK(len == 8 && memcmp(p, "AMQP\3\1\0\0", 8) == 0); /* the SASL header */
        CHECK_RC(muon_driver_written(d, len + 1), MUON_RESULT_INVALID_ARGUMENT);
        OK(muon_driver_written(d, 3));
        OK(muon_driver_write_buffer(d, &p, &len));
        CHECK(len == 5 && memcmp(p, "P\3\1\0\0", 5) == 0);
        OK(muon_driver_written(d, len));
        OK(muon_driver_read_closed(d));
        CHECK(a.disconnects == 1 && a.finals == 1);
        CHECK(strncmp(a.last_condition, "amqp:connection:forced", 22) == 0);
        CHECK_RC(muon_driver_read_closed(d), MUON_RESULT_CLOSED);
        CHECK_RC(muon_driver_write_buffer(d, &p, &len), MUON_RESULT_CLOSED);
        muon_driver_free(d);
    }
    /* A transport error: its description is the condition's. */
    {
        struct app a = {0};
        muon_driver *d;
        OK(muon_driver_new(NULL, true, NULL, &h, &a, &d));
        OK(muon_driver_read(d, (const uint8_t *)"AMQP", 4));
        OK(muon_driver_transport_error(d, "the TLS stack gave up"));
        CHECK(a.disconnects == 1 && a.finals == 1);
        CHECK_STR(a.last_condition, "amqp:connection:forced: transport failed: the TLS stack gave up");
        CHECK_RC(muon_driver_transport_error(d, "again"), MUON_RESULT_CLOSED);
        muon_driver_free(d);
    }
    /* A peer that never answers: the handshake time-out comes from the
     * driver's own deadline (muon_driver_timeout, muon_driver_process). */
    {
        struct app a = {0};
        muon_connection_options *o;
        OK(muon_connection_options_new(&o));
        OK(muon_connection_options_set_handshake_timeout(o, 200));
        muon_driver *d;
        OK(muon_driver_new(NULL, false, o, &h, &a, &d));
        muon_connection_options_free(o);
        int64_t t = -1;
        OK(muon_driver_timeout(d, &t));
        CHECK(t == 0); /* just made: its first look is due now */
        OK(muon_driver_process(d));
        OK(muon_driver_timeout(d, &t));
        CHECK(t > 0 && t <= 200);
        long long start = now_ms();
        drain_until_final(&a, d);
        CHECK(now_ms() - start >= 150);
        CHECK(a.disconnects == 1 && a.finals == 1);
        CHECK(strstr(a.last_condition, "handshake") != NULL);
        muon_driver_free(d);
    }
    /* A driver freed while its connection is open on a given loop: the
     * connection is aborted, its final event follows in the loop's run. */
    {
        struct app a = {0};
        muon_loop *lp;
        OK(muon_loop_new(&lp));
        muon_driver *d;
        OK(muon_driver_new(lp, false, NULL, &h, &a, &d));
        muon_connection conn = muon_driver_connection(d);
        muon_driver_free(d);
        OK(muon_loop_run(lp));
        CHECK(a.finals == 1 && a.disconnects == 0);
        CHECK(!muon_connection_is_connected(conn));
        muon_loop_free(lp);
    }
    /* NULL arguments. */
    {
        const uint8_t *p;
        size_t len;
        int64_t t;
        CHECK_RC(muon_driver_new(NULL, false, NULL, NULL, NULL, NULL), MUON_RESULT_NULL_ARGUMENT);
        CHECK_RC(muon_driver_read(NULL, NULL, 0), MUON_RESULT_NULL_ARGUMENT);
        CHECK_RC(muon_driver_write_buffer(NULL, &p, &len), MUON_RESULT_NULL_ARGUMENT);
        CHECK_RC(muon_driver_timeout(NULL, &t), MUON_RESULT_NULL_ARGUMENT);
        CHECK(IS_NULL_HANDLE(muon_driver_connection(NULL)));
        CHECK(muon_driver_loop(NULL) == NULL);
        muon_driver_free(NULL);
    }
}

int main(int argc, char **argv) {
    alarm(90);
    CHECK(argc == 2 || argc == 3);
    if (argc == 3)
        N = atoi(argv[2]);
    CHECK(N >= 50);
    if (strcmp(argv[1], "socketpair") == 0)
        mode_socketpair();
    else if (strcmp(argv[1], "pipes") == 0)
        mode_pipes();
    else if (strcmp(argv[1], "listener") == 0)
        mode_listener();
    else if (strcmp(argv[1], "errors") == 0)
        mode_errors();
    else
        CHECK(!"unknown mode");
    printf("embed_driver %s: ok\n", argv[1]);
    return 0;
}
