/*
 * example.hpp: what the muon C++ examples share (the counterpart of
 * examples-c/common.h and reconnect.h, and of the options.hpp of Qpid
 * Proton's C++ examples), header-only. The examples print what the C
 * examples print, byte for byte.
 *
 *   - example::app, the base of every example's handler: the command line
 *     (-a URL, checked by muon::url; -m COUNT, -r ADDRESS and arguments for
 *     the programs that take them; --ca, --cert, --key; -h describes them
 *     all), connecting (TLS with --ca, --cert and --key; SASL PLAIN in clear
 *     allowed when the URL names a user), and the tutorial's closed() made
 *     complete: a connection or link the peer closed with an error, a
 *     message it did not accept, a connection lost or never made, each is
 *     reported on stderr and ends the program with status 1; SIGINT and
 *     SIGTERM (muon::loop_ref::wake_on_signal) end it with status 0;
 *   - example::reconnecting: the tutorial's reconnect (at once, then after
 *     0.1 s, doubling up to 10 s), for simple_send and simple_recv;
 *   - example::run: makes the loop, lets the program start, runs the loop
 *     and returns the exit status (1, saying why, when a call failed).
 */
#ifndef MUON_EXAMPLE_HPP
#define MUON_EXAMPLE_HPP

#include "muon.hpp"

#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace example {

/* The base of the examples' handlers: the command line and the failures. */
struct app : muon::messaging_handler {
    std::string program, url_text = "localhost:5672/examples", reply_to, ca, cert, key;
    std::string address, peer; // the URL's address; its host:port as messages show it
    std::optional<muon::url> url;
    std::vector<std::string> args; // the arguments after the options
    long count = 0;                // -m COUNT, 0 to 2147483647
    bool has_reply_to = false, done = false;
    int exit_code = 0;
    muon::loop_ref loop;
    muon::connection conn; // the program's connection
    muon::listener listener;
    muon::timer timer;

    /* Reads the command line as common.h's setup() does: `m` and `r`, when
     * not empty, say what -m COUNT and -r ADDRESS are; `defaults`, when
     * given, that arguments may follow (and the ones used when none do). */
    app(const char *name, int argc, char **argv, const char *about, const char *m = "", const char *r = "",
        std::optional<std::vector<std::string>> defaults = std::nullopt, const char *count_text = nullptr)
        : program(name) {
        struct opt { const char *name, *arg, *help; std::string *value; };
        const opt opts[] = {
            {"-a", "URL", "[amqp[s]://][user[:password]@]host[:port][/address], by default\n"
                          "                 localhost:5672/examples", &url_text},
            {"-m", "COUNT", *m ? m : nullptr, &count_},
            {"-r", "ADDRESS", *r ? r : nullptr, &reply_to},
            {"--ca", "FILE", "for amqps://: trust the CA in FILE (PEM) besides the platform's", &ca},
            {"--cert", "FILE", "for amqps://: this program's certificate (PEM), with --key", &cert},
            {"--key", "FILE", "the private key (PEM) of --cert", &key},
        };
        auto usage = [&](int status) {
            FILE *f = status ? stderr : stdout;
            std::fprintf(f, "usage: %s [OPTION]...%s\n%s\n  -h, --help     print this help\n", name,
                         defaults ? " [ARGUMENT]..." : "", about);
            for (const opt &o : opts)
                if (o.help) std::fprintf(f, "  %-6s %-7s %s\n", o.name, o.arg, o.help);
            std::exit(status);
        };
        bool counted = count_text != nullptr;
        if (counted) count_ = count_text;
        for (int i = 1; i < argc; i++) {
            std::string a = argv[i];
            const opt *o = nullptr;
            for (const opt &x : opts) o = o ? o : (a == x.name && x.help ? &x : nullptr);
            if (a == "-h" || a == "--help") usage(0);
            if (a[0] != '-' && defaults) args.push_back(a);
            else if (o == nullptr || i + 1 == argc) usage(2);
            else *o->value = argv[++i], counted |= o->value == &count_, has_reply_to |= o->value == &reply_to;
        }
        if (defaults && args.empty()) args = *defaults;
        if (counted) {
            char *end = nullptr;
            errno = 0;
            long long n = std::strtoll(count_.c_str(), &end, 10);
            if (end == count_.c_str() || *end || n < 0 || n > 2147483647) {
                std::fprintf(stderr, "%s: -m %s: not a number from 0 to 2147483647\n", name, count_.c_str());
                std::exit(2);
            }
            count = long(n);
        }
        if (cert.empty() != key.empty()) usage(2);
        try {
            url.emplace(url_text);
        } catch (const muon::error &e) {
            std::cerr << program << ": -a: " << muon::last_error().value_or(e.what()) << "\n";
            std::exit(2);
        }
        address = url->address();
        peer = url->origin().substr(url_text.find("://") != std::string::npos ? 0 : url->scheme().size() + 3);
    }

    /* The connection options from the command line. */
    muon::connection_options connection_options() const {
        muon::connection_options o;
        o.allow_insecure_plain(url->user().has_value());
        try {
            if (!ca.empty()) o.add_tls_ca_file(ca);
            if (!cert.empty()) o.tls_cert_file(cert, key);
        } catch (const muon::error &e) {
            std::cerr << program << ": " << o.error().value_or(e.what()) << "\n";
            std::exit(1);
        }
        return o;
    }
    /* Connects to `to`; its events go to `h` (by default, this handler). */
    void connect_to(const std::string &to, std::optional<muon::handler_binding> h = std::nullopt) {
        conn = loop.connect(to, connection_options(), h ? std::move(*h) : muon::handler_binding(*this));
    }

    /* The program is done: close what is open. */
    void finish() {
        done = true;
        if (conn) conn.close();
        if (listener) listener.close();
        if (timer) timer.cancel();
    }
    /* Reports the first failure, "PROGRAM: WHAT PEER: WHY" (unless done), and finishes. */
    void fail(const std::string &what, const std::string &why) {
        if (!done) std::cerr << program << ": " << what << " " << peer << ": " << why << "\n";
        exit_code = done ? exit_code : 1;
        finish();
    }

    /* A connection or link closed by the peer: with an error, the tutorial's "Closed due to". */
    void closed_by_peer(muon::event &e, bool link) {
        auto c = e.condition();
        if (c) std::cout << "Closed due to " << *c << "\n";
        if (c || !link)
            fail(link ? "link closed by" : "connection closed by",
                 c ? c->str() : "closed without an error before the end");
    }
    void on_connection_remote_close(muon::event &e) override { closed_by_peer(e, false); }
    void on_link_remote_close(muon::event &e) override { closed_by_peer(e, true); }
    /* A message the peer rejected, released or modified. */
    void not_accepted(muon::event &e, const char *what, const char *fallback) {
        auto c = e.condition();
        fail(what, c ? c->str() : fallback);
    }
    void on_rejected(muon::event &e) override { not_accepted(e, "message rejected by", "rejected"); }
    void on_released(muon::event &e) override { not_accepted(e, "message not delivered by", "released"); }
    void on_modified(muon::event &e) override { not_accepted(e, "message not delivered by", "modified"); }
    void on_disconnected(muon::event &e) override { gone(e); }
    void gone(muon::event &e) { // a connection the peer opened has its container-id
        fail(e.connection().remote_container_id() ? "disconnected from" : "cannot connect to",
             e.condition() ? e.condition()->str() : "");
    }
    void on_wake(muon::event &) override { finish(); } // SIGINT, SIGTERM

private:
    std::string count_;
};

/* The tutorial's reconnect: on_open() runs each time the connection is up. A
 * connection lost after it had opened is made again, at once the first
 * time, then after 0.1 s doubling up to 10 s; anything else ends the program
 * as app does. */
struct reconnecting : app {
    using app::app;
    unsigned delay_ms = 0;
    bool opened = false;
    virtual void on_open() = 0;

    void reconnect() { connect_to(url_text); }
    void on_connection_remote_open(muon::event &) override {
        opened = true;
        delay_ms = 0;
        on_open();
    }
    void on_disconnected(muon::event &e) override {
        auto c = e.condition();
        bool lost = c && (c->name == "amqp:connection:forced" || c->name == "amqp:resource-limit-exceeded");
        if (!lost || done || !opened) return gone(e);
        if (delay_ms == 0) {
            std::cout << "Disconnected, reconnecting..." << std::endl;
            reconnect();
        } else {
            std::cout << "Disconnected, will try to reconnect after " << delay_ms / 1000.0 << " seconds" << std::endl;
            timer = loop.schedule(std::chrono::milliseconds(delay_ms), [this] {
                std::cout << "Reconnecting..." << std::endl;
                reconnect();
            });
        }
        delay_ms = delay_ms == 0 ? 100 : delay_ms >= 5000 ? 10000 : 2 * delay_ms;
    }
};

/* Makes the loop (SIGINT and SIGTERM wake it), lets `start` connect or
 * listen, runs the loop; returns the exit status: 1, with "PROGRAM: WHY", if
 * a call failed; else the app's. */
inline int run(app &a, const std::function<void()> &start) {
    try {
        muon::loop loop;
        a.loop = loop;
        loop.set_handler(a);
        loop.wake_on_signal(SIGINT);
        loop.wake_on_signal(SIGTERM);
        start();
        loop.run();
    } catch (const std::exception &e) {
        std::cerr << a.program << ": " << muon::last_error().value_or(e.what()) << "\n";
        return 1;
    }
    return a.exit_code;
}

} // namespace example

#endif
