/*
 * tcp_pingpong.c: the latency floor of a round trip over loopback TCP, with
 * no AMQP work: the client writes SIZE bytes, the server echoes them back,
 * COUNT times in sequence, over blocking sockets with TCP_NODELAY. The client
 * prints the percentiles in the form rr_client uses.
 *
 * usage: tcp_pingpong server PORT
 *        tcp_pingpong client PORT COUNT [SIZE]     (SIZE default 100)
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int full(int s, char *buf, size_t n, int writing) {
    size_t off = 0;
    while (off < n) {
        ssize_t r = writing ? write(s, buf + off, n - off) : read(s, buf + off, n - off);
        if (r <= 0) return -1;
        off += (size_t)r;
    }
    return 0;
}

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s server PORT | client PORT COUNT [SIZE]\n", argv[0]);
        return 2;
    }
    int one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char buf[65536];
    if (strcmp(argv[1], "server") == 0) {
        int ls = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 1) != 0) {
            perror("tcp_pingpong: listen");
            return 1;
        }
        int s = accept(ls, NULL, NULL);
        setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        for (;;) {
            ssize_t n = read(s, buf, sizeof buf);
            if (n <= 0) break;
            if (full(s, buf, (size_t)n, 1) != 0) break;
        }
        return 0;
    }
    if (argc < 4) return 2;
    int count = atoi(argv[3]);
    size_t size = argc > 4 ? (size_t)atol(argv[4]) : 100;
    if (size > sizeof buf) size = sizeof buf;
    memset(buf, 'x', size);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("tcp_pingpong: connect");
        return 1;
    }
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    double *us = calloc((size_t)count, sizeof *us);
    for (int i = 0; i < count; ++i) {
        double t0 = now_us();
        if (full(s, buf, size, 1) != 0 || full(s, buf, size, 0) != 0) {
            fprintf(stderr, "tcp_pingpong: connection lost\n");
            return 1;
        }
        us[i] = now_us() - t0;
    }
    qsort(us, (size_t)count, sizeof *us, cmp);
    printf("rr count=%d p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f\n", count,
           us[count / 2], us[(int)(count * 0.99)], us[(int)(count * 0.999)], us[count - 1]);
    free(us);
    close(s);
    return 0;
}
