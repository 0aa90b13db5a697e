// hello.cpp: hello.c's program in C++17, built by tests/packaging.rs
// against an installed muon with CMake's find_package: it includes muon.h
// (and muon.hpp too, when the installed muon has one), listens on a free
// port, connects to itself, sends its first argument and prints it when it
// arrives. Exit status 0 once the message has arrived, 1 on any failure.
#include <muon.h>
#if __has_include(<muon.hpp>)
#include <muon.hpp>
#endif

#include <array>
#include <cstdio>
#include <string>

namespace {

struct App {
    muon_loop *loop = nullptr;
    muon_listener listener{};
    muon_connection client{};
    std::string text;
    bool received = false;

    void finish() {
        (void)muon_connection_close(client);
        (void)muon_listener_close(listener);
    }
};

App &app_of(void *userdata) { return *static_cast<App *>(userdata); }

void on_message(void *userdata, const muon_event *ev) {
    App &app = app_of(userdata);
    std::array<char, 256> text{};
    muon_value_format(muon_message_body(muon_event_message(ev)), text.data(), text.size());
    std::printf("%s\n", text.data());
    app.received = true;
    app.finish();
}

void on_link_flow(void *userdata, const muon_event *ev) {
    App &app = app_of(userdata);
    muon_sender sender = muon_event_sender(ev);
    muon_message *m = nullptr;
    if (muon_message_new(&m) != MUON_RESULT_OK || muon_message_set_body_string(m, app.text.c_str()) != MUON_RESULT_OK ||
        muon_sender_send(sender, m, nullptr) != MUON_RESULT_OK) {
        std::fprintf(stderr, "hello++: cannot send\n");
        app.finish();
    }
    muon_message_free(m);
    (void)muon_sender_close(sender);
}

void on_connection_remote_open(void *userdata, const muon_event *ev) {
    muon_handler sender = MUON_HANDLER_INIT;
    sender.on_link_flow = on_link_flow;
    if (muon_connection_open_sender(muon_event_connection(ev), "examples", nullptr, &sender,
                                    userdata, nullptr) != MUON_RESULT_OK) {
        app_of(userdata).finish();
    }
}

void on_failure(void *userdata, const muon_event *ev) {
    const muon_condition *c = muon_event_condition(ev);
    std::fprintf(stderr, "hello++: %s: %s\n", c ? muon_condition_name(c) : "closed",
                 c ? muon_condition_description(c) : "");
    app_of(userdata).finish();
}

}  // namespace

int main(int argc, char **argv) {
    App app;
    app.text = argc > 1 ? argv[1] : "Hello World!";
    if (muon_loop_new(&app.loop) != MUON_RESULT_OK) return 1;

    muon_handler server = MUON_HANDLER_INIT;
    server.on_message = on_message;
    muon_result rc = muon_loop_listen(app.loop, "127.0.0.1:0", nullptr, &server, &app, &app.listener);
    if (rc == MUON_RESULT_OK) {
        std::string url = "127.0.0.1:" + std::to_string(muon_listener_port(app.listener));
        muon_handler client = MUON_HANDLER_INIT;
        client.on_connection_remote_open = on_connection_remote_open;
        client.on_disconnected = on_failure;
        rc = muon_loop_connect(app.loop, url.c_str(), nullptr, &client, &app, &app.client);
    }
    if (rc == MUON_RESULT_OK) rc = muon_loop_run(app.loop);
    if (rc != MUON_RESULT_OK) std::fprintf(stderr, "hello++: %s\n", muon_result_message(rc));
    if (muon_loop_try_free(app.loop) != MUON_RESULT_OK) return 1;
    return rc == MUON_RESULT_OK && app.received ? 0 : 1;
}
