/*
 * hello.c: the smallest real muon program, built by tests/packaging.rs
 * against an installed muon (CMake's find_package, and pkg-config). It
 * listens on a free port, connects to itself, sends one message (its first
 * argument) and prints it when it arrives, then closes everything.
 * Exit status 0 once the message has arrived, 1 on any failure.
 */
#include <muon.h>
#include <stdio.h>

struct app {
    muon_loop *loop;
    muon_listener listener;
    muon_connection client;
    const char *text;
    int received;
};

/* Ends the program: both sides closed, the loop runs out of work. */
static void finish(struct app *app) {
    (void)muon_connection_close(app->client); /* stale once closed: no matter */
    (void)muon_listener_close(app->listener);
}

/* The listening side: the message arrived. */
static void on_message(void *userdata, const muon_event *ev) {
    struct app *app = userdata;
    char text[256];
    muon_value_format(muon_message_body(muon_event_message(ev)), text, sizeof text);
    printf("%s\n", text);
    app->received = 1;
    finish(app);
}

/* The sender has credit: send the message once. */
static void on_link_flow(void *userdata, const muon_event *ev) {
    struct app *app = userdata;
    muon_sender sender = muon_event_sender(ev);
    muon_message *m = NULL;
    if (muon_message_new(&m) != MUON_RESULT_OK || muon_message_set_body_string(m, app->text) != MUON_RESULT_OK ||
        muon_sender_send(sender, m, NULL) != MUON_RESULT_OK) {
        fprintf(stderr, "hello: cannot send\n");
        finish(app);
    }
    muon_message_free(m);
    (void)muon_sender_close(sender);
}

/* The client's connection is open: attach a sender. */
static void on_connection_remote_open(void *userdata, const muon_event *ev) {
    struct app *app = userdata;
    muon_handler sender = MUON_HANDLER_INIT;
    sender.on_link_flow = on_link_flow;
    if (muon_connection_open_sender(muon_event_connection(ev), "examples", NULL, &sender, app,
                                    NULL) != MUON_RESULT_OK) {
        finish(app);
    }
}

static void on_failure(void *userdata, const muon_event *ev) {
    const muon_condition *c = muon_event_condition(ev);
    fprintf(stderr, "hello: %s: %s\n", c ? muon_condition_name(c) : "closed",
            c ? muon_condition_description(c) : "");
    finish(userdata);
}

int main(int argc, char **argv) {
    struct app app = {0};
    app.text = argc > 1 ? argv[1] : "Hello World!";
    if (muon_loop_new(&app.loop) != MUON_RESULT_OK) return 1;

    muon_handler server = MUON_HANDLER_INIT;
    server.on_message = on_message;
    muon_result rc = muon_loop_listen(app.loop, "127.0.0.1:0", NULL, &server, &app, &app.listener);
    if (rc == MUON_RESULT_OK) {
        char url[64];
        snprintf(url, sizeof url, "127.0.0.1:%u", (unsigned)muon_listener_port(app.listener));
        muon_handler client = MUON_HANDLER_INIT;
        client.on_connection_remote_open = on_connection_remote_open;
        client.on_disconnected = on_failure;
        rc = muon_loop_connect(app.loop, url, NULL, &client, &app, &app.client);
    }
    if (rc == MUON_RESULT_OK) rc = muon_loop_run(app.loop);
    if (rc != MUON_RESULT_OK) fprintf(stderr, "hello: %s\n", muon_result_message(rc));
    if (muon_loop_try_free(app.loop) != MUON_RESULT_OK) return 1;
    return rc == MUON_RESULT_OK && app.received ? 0 : 1;
}
