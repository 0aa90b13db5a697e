/*
 * simple_send.cpp: reliable sending, with reconnect.
 *
 * As examples-c/simple_send.c: sends COUNT messages whose body is the map
 * {"sequence": n} (n from 1) and whose message-id is n, only as fast as the
 * receiver's credit allows, and counts the deliveries the peer accepts. If
 * the connection is lost it resumes from the last confirmed message,
 * reconnecting at once the first time, then after 0.1 s, 0.2 s, ... up to
 * 10 s. Messages sent but not confirmed before a disconnect are sent again,
 * so the receiver may see duplicates.
 *
 *   simple_send [-a URL] [-m COUNT]   URL defaults to localhost:5672/examples,
 *                                     COUNT to 100
 *
 * Prints: all messages confirmed  (and a line for each reconnect)
 */
#include "example.hpp"

#include <map>

struct simple_send : example::reconnecting {
    int64_t total, sent = 0, confirmed = 0;
    simple_send(const example::options &o) : reconnecting(o), total(o.count) {}

    // The connection is up (again): resume from the last confirmed message.
    void on_open() override {
        sent = confirmed;
        conn.open_sender(opts.address).offered(uint32_t(total - confirmed));
    }

    void on_link_flow(muon::event &e) override {
        muon::sender s = e.sender();
        while (s.credit() > 0 && sent < total) {
            ++sent;
            muon::message m(std::map<std::string, int64_t>{{"sequence", sent}});
            s.send(m.id(uint64_t(sent)));
        }
    }

    void on_accepted(muon::event &e) override {
        if (++confirmed == total) {
            std::cout << "all messages confirmed" << std::endl;
            done = true;
            e.sender().close();
            conn.close();
        }
    }
};

int main(int argc, char **argv) {
    example::options opts(argc, argv, "[-a URL] [-m COUNT]", 100);
    if (!opts.args.empty()) opts.usage_exit();
    simple_send s(opts);
    if (s.total == 0) {
        std::cout << "all messages confirmed" << std::endl;
        return 0;
    }
    int rc = example::run(s, [&](muon::loop &loop) { s.start(loop); });
    if (rc == 0 && s.confirmed < s.total) {
        std::cerr << "simple_send: closed after " << s.confirmed << " of " << s.total
                  << " messages were confirmed\n";
        return 1;
    }
    return rc;
}
