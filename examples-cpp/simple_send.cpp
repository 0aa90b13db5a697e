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
    long sent = 0, confirmed = 0;
    using reconnecting::reconnecting;

    // The connection is up (again): resume from the last confirmed message.
    void on_open() override {
        sent = confirmed;
        conn.open_sender(address).offered(uint32_t(count - confirmed));
    }

    void on_link_flow(muon::event &e) override {
        muon::sender s = e.sender();
        while (s.credit() > 0 && sent < count) {
            ++sent;
            muon::message m(std::map<std::string, int64_t>{{"sequence", sent}});
            s.send(m.id(uint64_t(sent)));
        }
    }

    void on_accepted(muon::event &) override {
        if (++confirmed == count) {
            std::cout << "all messages confirmed\n";
            finish();
        }
    }
};

int main(int argc, char **argv) {
    simple_send s("simple_send", argc, argv, "Sends COUNT messages {'sequence': n} to the URL's address "
                  "and waits until the peer has accepted each.", "how many to send (default 100)", "",
                  std::nullopt, "100");
    return example::run(s, [&] {
        if (s.count > 0) s.reconnect();
        else std::cout << "all messages confirmed\n";
    });
}
