/*
 * tcp_record.c: a relay that records what a client writes. Listens on
 * 127.0.0.1:LISTEN_PORT (0 picks one; printed as "listening on N"), accepts
 * one connection, connects to 127.0.0.1:TARGET_PORT, and relays bytes both
 * ways until both sides have closed, appending every byte the client sent to
 * FILE. The benchmark puts it between a muon sender and a muon receiver once,
 * untimed, to capture the exact byte stream that tcp_writer then replays.
 *
 * usage: tcp_record LISTEN_PORT TARGET_PORT FILE
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static int relay(int from, int to, FILE *rec) {
    static char buf[1 << 18];
    ssize_t n = read(from, buf, sizeof buf);
    if (n <= 0) return 0;
    if (rec && fwrite(buf, 1, (size_t)n, rec) != (size_t)n) return -1;
    for (ssize_t off = 0; off < n;) {
        ssize_t w = write(to, buf + off, (size_t)(n - off));
        if (w < 0) return -1;
        off += w;
    }
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s LISTEN_PORT TARGET_PORT FILE\n", argv[0]);
        return 2;
    }
    FILE *rec = fopen(argv[3], "wb");
    if (!rec) {
        perror("tcp_record: open");
        return 1;
    }
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 1) != 0) {
        perror("tcp_record: listen");
        return 1;
    }
    socklen_t al = sizeof a;
    getsockname(ls, (struct sockaddr *)&a, &al);
    printf("listening on %u\n", ntohs(a.sin_port));
    fflush(stdout);
    int c = accept(ls, NULL, NULL);
    int u = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in t = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
    t.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (c < 0 || connect(u, (struct sockaddr *)&t, sizeof t) != 0) {
        perror("tcp_record: connect");
        return 1;
    }
    struct pollfd p[2] = {{.fd = c, .events = POLLIN}, {.fd = u, .events = POLLIN}};
    int open_c = 1, open_u = 1;
    while (open_c || open_u) {
        if (poll(p, 2, -1) < 0) break;
        if (open_c && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
            int r = relay(c, u, rec);
            if (r <= 0) {
                open_c = 0;
                p[0].fd = -1;
                shutdown(u, SHUT_WR);
            }
        }
        if (open_u && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            int r = relay(u, c, NULL);
            if (r <= 0) {
                open_u = 0;
                p[1].fd = -1;
                shutdown(c, SHUT_WR);
            }
        }
    }
    fclose(rec);
    close(c);
    close(u);
    close(ls);
    return 0;
}
