/*
 * helloworld.cpp: send one message to a broker and receive it back.
 *
 * The tutorial's first program, as examples-c/helloworld.c: once the
 * connection is open it attaches a receiver; once the broker has opened the
 * receiver it attaches a sender; when the sender gets credit it sends
 * "Hello World!" and closes; when the message comes back it is printed and
 * the connection closed.
 *
 *   helloworld [-a URL]      URL defaults to localhost:5672/examples
 *
 * Prints: Hello World!
 */
#include "example.hpp"

struct hello_world : example::app {
    using app::app;

    void on_connection_remote_open(muon::event &) override { conn.open_receiver(address); }

    void on_link_remote_open(muon::event &e) override { // the receiver is open: now the sender
        if (e.is_receiver()) conn.open_sender(address);
    }

    void on_link_flow(muon::event &e) override { // the receiver's flows come here too
        if (e.is_receiver()) return;
        e.sender().send(muon::message("Hello World!"));
        e.sender().close();
    }

    void on_message(muon::event &e) override {
        std::cout << e.message().body() << "\n";
        finish();
    }
};

int main(int argc, char **argv) {
    hello_world hw("helloworld", argc, argv, "Sends \"Hello World!\" to the URL's address, receives it "
                   "back and prints it.");
    return example::run(hw, [&] { hw.connect_to(hw.url_text); });
}
