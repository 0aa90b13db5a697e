/*
 * handler_init.c: include/muon.h and MUON_HANDLER_INIT under strict
 * warnings. tests/packaging.rs compiles this one file as C11 and as C++17
 * (-x c++), with gcc and with clang, each with -Wall -Wextra -Werror
 * -pedantic, links it to libmuon.a and runs it. It uses MUON_HANDLER_INIT
 * the ways a program does (a local, a static, a member of an aggregate) and
 * checks what it gives: struct_size set, every callback NULL.
 */
#include <muon.h>
#if defined(__cplusplus) && defined(__has_include)
#if __has_include(<muon.hpp>)
#include <muon.hpp>
#endif
#endif

#include <stdio.h>
#include <string.h>

#ifdef __cplusplus
#define LANGUAGE "C++"
#else
#define LANGUAGE "C"
#endif

static void on_message(void *userdata, const muon_event *ev) {
    (void)userdata;
    (void)ev;
}

static muon_handler file_scope = MUON_HANDLER_INIT;

struct app {
    muon_handler handler;
    int number;
};
static struct app nested = {MUON_HANDLER_INIT, 7};

/* 0 when `h` is what MUON_HANDLER_INIT should give, with `on_message` set
 * to `expected_on_message` (then cleared for the byte check). */
static int check(const char *what, muon_handler h, muon_callback expected_on_message) {
    static const unsigned char zero[sizeof(muon_handler)] = {0};
    if (h.struct_size != sizeof(muon_handler)) {
        printf("%s: struct_size is %zu, not %zu\n", what, h.struct_size, sizeof(muon_handler));
        return 1;
    }
    if (h.on_message != expected_on_message) {
        printf("%s: on_message is not as set\n", what);
        return 1;
    }
    h.struct_size = 0;
    h.on_message = NULL;
    if (memcmp(&h, zero, sizeof h) != 0) {
        printf("%s: a callback is not NULL\n", what);
        return 1;
    }
    return 0;
}

int main(void) {
    muon_handler local = MUON_HANDLER_INIT;
    local.on_message = on_message;
    int failures = check("local", local, on_message) + check("static", file_scope, NULL) +
                   check("member", nested.handler, NULL) + (nested.number != 7);

    /* And the library takes it. */
    muon_loop *loop = NULL;
    if (muon_loop_new(&loop) != MUON_RESULT_OK ||
        muon_loop_set_handler(loop, &local, NULL) != MUON_RESULT_OK ||
        muon_loop_try_free(loop) != MUON_RESULT_OK) {
        printf("the loop refused the handler\n");
        failures++;
    }
    if (failures == 0) printf("MUON_HANDLER_INIT ok in %s\n", LANGUAGE);
    return failures == 0 ? 0 : 1;
}
