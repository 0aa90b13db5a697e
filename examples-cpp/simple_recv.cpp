/*
 * simple_recv.cpp: reliable receiving, with reconnect.
 *
 * As examples-c/simple_recv.c: receives messages from an address and prints
 * each body, one per line ({'sequence': 1} for simple_send's messages). Each
 * message is accepted when on_message returns. If the connection is lost it
 * reconnects as simple_send does. It stops after COUNT messages; -m 0
 * receives until interrupted.
 *
 *   simple_recv [-a URL] [-m COUNT]   URL defaults to localhost:5672/examples,
 *                                     COUNT to 100
 *
 * Prints: each message body, one per line (and a line for each reconnect)
 */
#include "example.hpp"

struct simple_recv : example::reconnecting {
    long received = 0;
    using reconnecting::reconnecting;

    void on_open() override { conn.open_receiver(address); }

    void on_message(muon::event &e) override {
        if (done) { // over the count, in flight before the close: give it back
            e.delivery().release();
            return;
        }
        std::cout << e.message().body() << std::endl; // one line at a time, even into a pipe
        if (++received == count) finish();
    }
};

int main(int argc, char **argv) {
    simple_recv r("simple_recv", argc, argv, "Receives messages from the URL's address and prints "
                  "their bodies.", "how many to receive (default 100; 0: until interrupted)", "",
                  std::nullopt, "100");
    return example::run(r, [&] { r.reconnect(); });
}
