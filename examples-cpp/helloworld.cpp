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

struct hello_world : example::client {
    using client::client;

    void on_connection_remote_open(muon::event &) override {
        opened = true;
        conn.open_receiver(opts.address);
    }

    void on_link_remote_open(muon::event &e) override {
        if (e.is_receiver()) conn.open_sender(opts.address);
    }

    void on_link_flow(muon::event &e) override { // the receiver's flows come here too
        if (e.is_receiver()) return;
        e.sender().send(muon::message("Hello World!"));
        e.sender().close();
    }

    void on_message(muon::event &e) override {
        std::cout << e.message().body() << std::endl;
        e.connection().close();
    }
};

int main(int argc, char **argv) {
    example::options opts(argc, argv, "[-a URL]", 0);
    if (!opts.args.empty()) opts.usage_exit();
    hello_world hw(opts);
    return example::run(hw, [&](muon::loop &loop) { hw.conn = opts.connect(loop, hw); });
}
