/*
 * example.hpp: what the muon C++ examples share, header-only: the
 * counterpart of examples-c/common.h and reconnect.h (and of the
 * options.hpp of Qpid Proton's C++ examples), so that each C++ example
 * takes the same options and prints the same as its C twin.
 *
 * example::app, the base of each example's handler, is the loop's default
 * handler, and so gets every event no other handler takes:
 *   - setup(): the command line (-a URL, checked by muon::url; -m COUNT,
 *     -r ADDRESS and arguments for the programs that take them; --ca,
 *     --cert, --key; -h describes them all), the loop, and SIGINT and
 *     SIGTERM waking it (on_wake finishes: exit status 0);
 *   - the tutorial's closed() made complete: a connection or link the peer
 *     closed with an error, a message it did not accept, a connection lost
 *     or never made, each is reported on stderr and ends the program with
 *     status 1;
 *   - connect_to(): connects (TLS with --ca, --cert and --key; SASL PLAIN in
 *     clear allowed when the URL names a user, since muon otherwise refuses
 *     to send a password unencrypted and never falls back to ANONYMOUS);
 *   - finish(): the program is done: close the connection (and listener);
 *     run(): run the loop and return the exit status.
 *
 * example::reconnecting adds the tutorial's reconnect, for simple_send and
 * simple_recv: when the connection is lost after it had opened, connect
 * again at once, then after 0.1 s, doubling up to 10 s, saying so on
 * stdout; anything else (a refused login, a TLS failure) would only happen
 * again and ends the program as app does.
 */
#ifndef MUON_EXAMPLE_HPP
#define MUON_EXAMPLE_HPP

#include "muon.hpp"

#include <signal.h>

#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace example {

struct app : muon::messaging_handler {
    std::string program = "example";
    std::string url_text = "localhost:5672/examples";
    std::optional<std::string> count_text, reply_to, ca_file, cert_file, key_file;
    std::vector<std::string> args; // the arguments after the options, or the defaults
    long long count = 0;           // -m COUNT, 0 to 2147483647
    std::optional<muon::url> url;
    std::string address, peer; // the URL's address, and the URL as messages show it
    muon::loop loop;
    muon::connection conn; // the program's connection
    muon::listener listener;
    muon::timer timer; // the next reconnect attempt
    bool done = false;
    int exit_code = 0;

    /* Reads the command line of the program `name`. `about` says what the
     * program does; `m` and `r`, when not null, what -m COUNT and -r ADDRESS
     * are; `defaults`, when not null, that arguments may follow the options,
     * and the ones to use when none do. */
    void setup(const char *name, int argc, char **argv, const char *about, const char *m,
               const char *r, const std::vector<std::string> *defaults = nullptr) {
        program = name;
        struct option {
            const char *name, *arg, *help;
            std::optional<std::string> *value;
        } opts[] = {
            {"-a", "URL", "[amqp[s]://][user[:password]@]host[:port][/address], by default\n"
                          "                 localhost:5672/examples", nullptr},
            {"-m", "COUNT", m, &count_text},
            {"-r", "ADDRESS", r, &reply_to},
            {"--ca", "FILE", "for amqps://: trust the CA in FILE (PEM) besides the platform's", &ca_file},
            {"--cert", "FILE", "for amqps://: this program's certificate (PEM), with --key", &cert_file},
            {"--key", "FILE", "the private key (PEM) of --cert", &key_file},
        };
        auto usage = [&](int status) {
            std::ostream &out = status ? std::cerr : std::cout;
            out << "usage: " << program << " [OPTION]..." << (defaults ? " [ARGUMENT]..." : "") << "\n"
                << about << "\n  -h, --help     print this help\n";
            for (const auto &o : opts) {
                if (o.help) out << "  " << pad(o.name, 6) << " " << pad(o.arg, 7) << " " << o.help << "\n";
            }
            std::exit(status);
        };
        for (int i = 1; i < argc; i++) {
            std::string a = argv[i];
            const option *o = nullptr;
            for (const auto &x : opts) o = o == nullptr && a == x.name && x.help ? &x : o;
            if (a == "-h" || a == "--help") usage(0);
            if (a[0] != '-' && defaults) args.push_back(a);
            else if (o == nullptr || i + 1 == argc) usage(2);
            else if (o->value) *o->value = argv[++i];
            else url_text = argv[++i];
        }
        if (defaults && args.empty()) args = *defaults;
        char *end = nullptr;
        if (count_text) count = std::strtoll(count_text->c_str(), &end, 10);
        if (count_text && (end == count_text->c_str() || *end || count < 0 || count > 2147483647)) {
            std::cerr << program << ": -m " << *count_text << ": not a number from 0 to 2147483647\n";
            std::exit(2);
        }
        if (cert_file.has_value() != key_file.has_value()) usage(2);
        try {
            url.emplace(url_text);
        } catch (const muon::error &e) {
            std::cerr << program << ": -a: " << e.reason() << "\n";
            std::exit(2);
        }
        address = url->address();
        peer = url->origin();
        loop.set_handler(*this);
        loop.wake_on_signal(SIGINT);
        loop.wake_on_signal(SIGTERM);
    }

    /* Connection options from the command line (see the top of this file). */
    muon::connection_options connection_options() const {
        muon::connection_options o;
        o.allow_insecure_plain(url->user().has_value());
        try {
            if (ca_file) o.add_tls_ca_file(*ca_file);
            if (cert_file) o.tls_cert_file(*cert_file, *key_file);
        } catch (const muon::error &e) {
            std::cerr << program << ": " << e.reason() << "\n";
            std::exit(1);
        }
        return o;
    }

    /* Connects to `to`; the connection's events go to `h`, else to this. */
    void connect_to(const std::string &to, muon::handler_binding h = {}) {
        conn = loop.connect(to, connection_options(), std::move(h));
    }

    void finish() {
        done = true;
        conn.close(); // each may be closed or absent already
        listener.close();
        timer.cancel();
    }

    /* Reports the first failure, "PROGRAM: WHAT PEER: WHY" (unless the
     * program was done), and finishes. */
    void fail(const std::string &what, const std::string &why) {
        if (!done) std::cerr << program << ": " << what << " " << peer << ": " << why << "\n";
        exit_code = done ? exit_code : 1;
        finish();
    }

    /* Runs the loop until everything is closed; returns the exit status. */
    int run() {
        try {
            loop.run();
        } catch (const std::exception &e) {
            std::cerr << program << ": " << e.what() << "\n";
            return 1;
        }
        return exit_code;
    }

    /* A connection or link closed by the peer: with an error, the tutorial's
     * "Closed due to"; the connection without one, before the end, too. */
    void on_closed_by_peer(muon::event &e) {
        auto c = e.condition();
        bool link = e.kind() == muon::event_kind::link_remote_close;
        if (c) std::cout << "Closed due to " << *c << "\n";
        if (c || !link) {
            fail(link ? "link closed by" : "connection closed by",
                 c ? c->str() : "closed without an error before the end");
        }
    }
    void on_connection_remote_close(muon::event &e) override { on_closed_by_peer(e); }
    void on_link_remote_close(muon::event &e) override { on_closed_by_peer(e); }

    /* A message the peer rejected, released or modified. */
    void on_not_accepted(muon::event &e) {
        auto c = e.condition();
        bool rejected = e.kind() == muon::event_kind::rejected;
        fail(rejected ? "message rejected by" : "message not delivered by",
             c ? c->str() : e.kind() == muon::event_kind::released ? "released" : "modified");
    }
    void on_rejected(muon::event &e) override { on_not_accepted(e); }
    void on_released(muon::event &e) override { on_not_accepted(e); }
    void on_modified(muon::event &e) override { on_not_accepted(e); }

    /* A connection lost, or never made (a connection the peer opened has its container-id). */
    void on_gone(muon::event &e) {
        fail(e.connection().remote_container_id() ? "disconnected from" : "cannot connect to",
             e.condition().value_or(muon::condition()).str());
    }
    void on_disconnected(muon::event &e) override { on_gone(e); }

    void on_wake(muon::event &) override { finish(); } // SIGINT, SIGTERM

private:
    static std::string pad(std::string s, std::size_t n) { return s.size() < n ? s + std::string(n - s.size(), ' ') : s; }
};

/* The tutorial's reconnect (see the top of this file): on_open() runs each
 * time the connection is up. */
struct reconnecting : app {
    unsigned delay_ms = 0; // before the next attempt: 0, then 100 doubling to 10000
    bool opened = false;
    virtual void on_open(muon::event &e) = 0;

    void reconnect() { connect_to(url_text); }

    void on_connection_remote_open(muon::event &e) override {
        opened = true;
        delay_ms = 0;
        on_open(e);
    }

    void on_disconnected(muon::event &e) override {
        auto c = e.condition();
        bool lost = c && (c->name == "amqp:connection:forced" || c->name == "amqp:resource-limit-exceeded");
        if (!lost || done || !opened) return on_gone(e); // "cannot connect to ..." or "disconnected from ..."
        if (delay_ms == 0) {
            std::cout << "Disconnected, reconnecting...\n";
            reconnect();
        } else {
            std::cout << "Disconnected, will try to reconnect after " << delay_ms / 1000.0 << " seconds\n";
            timer = loop.schedule(std::chrono::milliseconds(delay_ms), [this] {
                std::cout << "Reconnecting..." << std::endl;
                reconnect();
            });
        }
        delay_ms = delay_ms == 0 ? 100 : delay_ms >= 5000 ? 10000 : 2 * delay_ms;
        std::cout.flush();
    }
};

} // namespace example

#endif
