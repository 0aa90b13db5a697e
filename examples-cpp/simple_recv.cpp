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
    long expected, received = 0;
    simple_recv(const example::options &o) : reconnecting(o), expected(o.count) {}

    void on_open() override { conn.open_receiver(opts.address); }

    void on_message(muon::event &e) override {
        if (done) { // over the count, in flight before the close: give it back
            e.delivery().release();
            return;
        }
        std::cout << e.message().body() << std::endl;
        if (++received == expected) {
            done = true;
            e.receiver().close();
            conn.close();
        }
    }
};

int main(int argc, char **argv) {
    example::options opts(argc, argv, "[-a URL] [-m COUNT]", 100);
    if (!opts.args.empty()) opts.usage_exit();
    simple_recv r(opts);
    int rc = example::run(r, [&](muon::loop &loop) { r.start(loop); });
    if (rc == 0 && r.expected > 0 && r.received < r.expected) {
        std::cerr << "simple_recv: closed after " << r.received << " of " << r.expected << " messages\n";
        return 1;
    }
    return rc;
}
