/*
 * cpp_send.cpp: benches/c/mu_send.c written with the C++ API (muon.hpp), to
 * measure what the C++ layer costs (scripts/bench --only cpp).
 *
 * Connects to HOST:PORT, opens a sender to ADDRESS and sends COUNT messages
 * (message-id n, body {"sequence": n}, as mu_send) as fast as credit allows,
 * then waits until every one is accepted and closes. --presettled sends them
 * settled and closes after the last; --payload N adds "payload": N 'x's.
 *
 * usage: cpp_send HOST PORT ADDRESS COUNT [--payload N] [--presettled]
 */
#include "muon.hpp"

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <string>

namespace {

const char *option(int argc, char **argv, const char *name, const char *dflt) {
    for (int i = 5; i + 1 < argc; ++i) {
        if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
    }
    return dflt;
}

bool flag(int argc, char **argv, const char *name) {
    for (int i = 5; i < argc; ++i) {
        if (std::strcmp(argv[i], name) == 0) return true;
    }
    return false;
}

struct app : muon::messaging_handler {
    muon::connection conn;
    muon::message msg; // reused, as mu_send reuses its message
    std::map<std::string, int32_t> body{{"sequence", 0}}; // and its body
    std::string payload;
    int count = 0, sent = 0, accepted = 0;
    bool presettled = false, closing = false;

    void finish(const char *what, int n) {
        std::cout << n << " messages " << what << std::endl;
        closing = true;
        conn.close();
    }

    void on_link_flow(muon::event &e) override {
        muon::sender s = e.sender();
        while (sent < count && s.credit() > 0) {
            int n = sent + 1;
            msg.id(uint64_t(n));
            if (payload.empty()) {
                body["sequence"] = n;
                msg.body(body);
            } else {
                msg.body(std::map<std::string, muon::value>{{"sequence", int32_t(n)}, {"payload", payload}});
            }
            std::error_code ec;
            s.send(msg, ec);
            if (ec == muon::errc::wrong_state) return; // output backlog: on_link_flow comes again
            if (ec) throw std::system_error(ec, "send");
            ++sent;
        }
        if (presettled && sent == count && !closing) finish("sent", sent);
    }

    void on_accepted(muon::event &) override {
        if (++accepted == count) finish("sent and acknowledged", accepted);
    }
    void on_rejected(muon::event &) override { throw std::runtime_error("a message was not accepted"); }
    void on_released(muon::event &) override { throw std::runtime_error("a message was not accepted"); }
    void on_modified(muon::event &) override { throw std::runtime_error("a message was not accepted"); }

    void on_connection_remote_close(muon::event &e) override { failed("closed by peer", e); }
    void on_link_remote_close(muon::event &e) override { failed("closed by peer", e); }
    void on_disconnected(muon::event &e) override {
        if (!closing) failed("disconnected", e);
    }
    void failed(const char *what, muon::event &e) {
        if (auto c = e.condition()) throw std::runtime_error(std::string(what) + ": " + c->str());
        if (std::strcmp(what, "disconnected") == 0) throw std::runtime_error(what);
    }
};

} // namespace

int main(int argc, char **argv) {
    if (argc < 5) {
        std::cerr << "usage: " << argv[0] << " HOST PORT ADDRESS COUNT [--payload N] [--presettled]\n";
        return 2;
    }
    std::ios::sync_with_stdio(false);
    try {
        app a;
        a.count = std::atoi(argv[4]);
        a.payload.assign(std::size_t(std::atol(option(argc, argv, "--payload", "0"))), 'x');
        a.presettled = flag(argc, argv, "--presettled");
        muon::loop loop;
        std::string host = *argv[1] ? argv[1] : "127.0.0.1";
        a.conn = loop.connect(host + ":" + argv[2], a);
        a.conn.open_sender(std::string(argv[3]), muon::link_options().presettled(a.presettled));
        loop.run();
        if (!a.presettled && a.accepted < a.count) {
            std::cerr << "cpp_send: connection ended with " << a.accepted << " of " << a.count
                      << " messages acknowledged\n";
            return 1;
        }
    } catch (const std::exception &e) {
        std::cerr << "cpp_send: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
