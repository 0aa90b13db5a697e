/*
 * runstat.c: runs a program and reports what it cost, for scripts/bench.
 *
 * Linux carries a process's peak RSS across exec, so a program started
 * straight from the (much larger) Python harness would report the harness's
 * RSS as its own floor. This small launcher forks and execs the program
 * instead, so the program starts from the launcher's tiny footprint, waits for
 * it, and writes to FILE:
 *
 *   pid PID                                   (as soon as it has started)
 *   status S utime SECONDS stime SECONDS maxrss KB
 *
 * SIGTERM, SIGINT and SIGHUP are passed on to the program. The launcher exits
 * with the program's exit code (128 + the signal if it was killed).
 *
 * usage: runstat FILE PROGRAM [ARGS...]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile pid_t child;

static void forward(int sig) {
    if (child > 0) kill(child, sig);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s FILE PROGRAM [ARGS...]\n", argv[0]);
        return 2;
    }
    FILE *out = fopen(argv[1], "w");
    if (!out) {
        perror("runstat");
        return 2;
    }
    struct sigaction sa = {0};
    sa.sa_handler = forward;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("runstat: fork");
        return 2;
    }
    if (pid == 0) {
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        execvp(argv[2], argv + 2);
        perror("runstat: exec");
        _exit(127);
    }
    child = pid;
    fprintf(out, "pid %d\n", (int)pid);
    fflush(out);
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            perror("runstat: wait4");
            return 2;
        }
    }
    fprintf(out, "status %d utime %ld.%06ld stime %ld.%06ld maxrss %ld\n", status,
            (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec, (long)ru.ru_stime.tv_sec,
            (long)ru.ru_stime.tv_usec, ru.ru_maxrss);
    fclose(out);
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}
