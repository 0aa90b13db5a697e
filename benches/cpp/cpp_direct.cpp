/*
 * cpp_direct.cpp: benches/c/mu_direct.c written with the C++ API
 * (muon.hpp), to measure what the C++ layer costs (scripts/bench --only
 * cpp).
 *
 * Listens on HOST:PORT ("listening on N" is printed), receives COUNT
 * messages on whatever link a peer attaches, prints each body (as
 * mu_direct), accepts it (when on_message returns), then closes the
 * connection and the listener and exits. Credit is kept topped up to
 * --window W (default 1000), granted in batches when half of it is used.
 *
 * usage: cpp_direct HOST PORT ADDRESS COUNT [--window W]
 */
#include "muon.hpp"

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

namespace {

struct app : muon::messaging_handler {
    muon::listener listener;
    int count = 0, received = 0;
    uint32_t window = 1000;
    bool closing = false;

    void on_listener_open(muon::event &e) override {
        std::cout << "listening on " << e.listener().port() << std::endl;
    }
    void on_link_remote_open(muon::event &e) override {
        if (e.is_receiver()) e.receiver().flow(window);
    }
    void on_message(muon::event &e) override {
        std::cout << e.message().body() << '\n';
        muon::receiver r = e.receiver();
        if (++received == count) {
            std::cout << received << " messages received" << std::endl;
            closing = true;
            e.connection().close();
            listener.close();
        } else if (r.credit() <= window / 2) {
            r.flow(window);
        }
    }
    void on_connection_remote_close(muon::event &e) override { failed("closed by peer", e); }
    void on_link_remote_close(muon::event &e) override { failed("closed by peer", e); }
    void on_disconnected(muon::event &e) override {
        if (!closing) throw std::runtime_error("disconnected: " + e.condition().value_or(muon::condition()).str());
    }
    void failed(const char *what, muon::event &e) {
        if (auto c = e.condition()) throw std::runtime_error(std::string(what) + ": " + c->str());
    }
};

} // namespace

int main(int argc, char **argv) {
    if (argc < 5) {
        std::cerr << "usage: " << argv[0] << " HOST PORT ADDRESS COUNT [--window W]\n";
        return 2;
    }
    std::ios::sync_with_stdio(false);
    try {
        app a;
        a.count = std::atoi(argv[4]);
        for (int i = 5; i + 1 < argc; ++i) {
            if (std::strcmp(argv[i], "--window") == 0) a.window = uint32_t(std::atol(argv[i + 1]));
        }
        muon::loop loop;
        std::string host = *argv[1] ? argv[1] : "127.0.0.1";
        a.listener = loop.listen(host + ":" + argv[2], a);
        loop.run();
    } catch (const std::exception &e) {
        std::cerr << "cpp_direct: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
