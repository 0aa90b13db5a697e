/*
 * tcp_writer.c: the sending half of the "limit" pair. Loads FILE (the byte
 * stream a muon sender wrote, as recorded by tcp_record) into memory, then
 * connects to 127.0.0.1:PORT and writes it all in large writes, with no AMQP
 * work at all, and closes. Together with tcp_reader this is the ceiling that
 * loopback TCP puts on any sender producing that stream.
 *
 * usage: tcp_writer PORT FILE
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s PORT FILE\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[2], "rb");
    if (!f) {
        perror("tcp_writer: open");
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)size + 1);
    if (!data || fread(data, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "tcp_writer: cannot read %s\n", argv[2]);
        return 1;
    }
    fclose(f);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("tcp_writer: connect");
        return 1;
    }
    const size_t chunk = 1 << 18;
    size_t off = 0;
    while (off < (size_t)size) {
        size_t want = (size_t)size - off < chunk ? (size_t)size - off : chunk;
        ssize_t n = write(s, data + off, want);
        if (n < 0) {
            perror("tcp_writer: write");
            return 1;
        }
        off += (size_t)n;
    }
    shutdown(s, SHUT_WR);
    close(s);
    free(data);
    return 0;
}
