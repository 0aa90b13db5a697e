/*
 * tcp_reader.c: the receiving half of the "limit" pair. Listens on
 * 127.0.0.1:PORT (0 picks one; the port is printed as "listening on N"),
 * accepts one connection and reads it to end of stream, discarding the
 * bytes: the least a receiver can do with a byte stream. Then prints
 * "bytes B seconds S", S from the accept to the end of the stream.
 *
 * usage: tcp_reader PORT
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 1) != 0) {
        perror("tcp_reader: listen");
        return 1;
    }
    socklen_t al = sizeof a;
    getsockname(ls, (struct sockaddr *)&a, &al);
    printf("listening on %u\n", ntohs(a.sin_port));
    fflush(stdout);
    int s = accept(ls, NULL, NULL);
    if (s < 0) {
        perror("tcp_reader: accept");
        return 1;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    static char buf[1 << 18];
    unsigned long long total = 0;
    for (;;) {
        ssize_t n = read(s, buf, sizeof buf);
        if (n > 0) {
            total += (unsigned long long)n;
        } else if (n == 0) {
            break;
        } else {
            perror("tcp_reader: read");
            return 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("bytes %llu seconds %.6f\n", total,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    close(s);
    close(ls);
    return 0;
}
