/*
 * example.hpp: what the muon C++ examples share (the counterpart of
 * examples-c/common.h, and of the options.hpp of Qpid Proton's C++
 * examples), header-only:
 *
 *   - the command line: -a URL, -m COUNT, -v, the TLS options --ca FILE,
 *     --cert FILE and --key FILE, and the arguments left over, split into
 *     the part of the URL to connect to and the address;
 *   - connecting (amqps:// URLs use TLS, verified against the platform's trust
 *     store or SSL_CERT_FILE, plus --ca), with SASL PLAIN allowed when the URL
 *     carries a user;
 *   - example::app, the base of the examples' handlers: a failure is printed
 *     once and makes the exit status 1; example::run makes the loop, runs it
 *     and turns an exception into a message and exit status 1;
 *   - example::reconnecting: the tutorial's reconnect (at once, then after
 *     0.1 s, doubling up to 10 s), shared by simple_send and simple_recv;
 *   - example::signal_waker: SIGINT and SIGTERM wake the loop (a thread waits
 *     for them and calls muon::loop_ref::wake, muon's thread-safe call).
 *
 * The examples print what the C examples print, byte for byte.
 */
#ifndef MUON_EXAMPLE_HPP
#define MUON_EXAMPLE_HPP

#include "muon.hpp"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace example {

/* The command line, parsed as examples-c/common.h does. */
struct options {
    std::string program;                         // argv[0]
    std::string url = "localhost:5672/examples"; // -a
    std::string host;    // url without the /address part: what to connect to
    std::string peer;    // host without user:password: what messages name
    std::string address; // the url's path, "" if none
    long count;          // -m COUNT
    bool verbose = false;
    std::vector<std::string> args; // the arguments that are not options
    std::string ca, cert, key;     // --ca, --cert, --key

    options(int argc, char **argv, const std::string &usage, long default_count)
        : program(argv[0]), count(default_count), usage_(usage) {
        for (int i = 1; i < argc; i++) {
            std::string a = argv[i];
            bool more = i + 1 < argc;
            if (a == "-a" && more) {
                url = argv[++i];
            } else if (a == "-m" && more) {
                char *end;
                count = std::strtol(argv[++i], &end, 10);
                if (*end != '\0' || count < 0) usage_exit();
            } else if (a == "-v") {
                verbose = true;
            } else if ((a == "--ca" || a == "--cert" || a == "--key") && more) {
                (a == "--ca" ? ca : a == "--cert" ? cert : key) = argv[++i];
            } else if (a == "-h" || a == "--help" || (a.size() > 1 && a[0] == '-')) {
                usage_exit();
            } else {
                args.push_back(a);
            }
        }
        if (cert.empty() != key.empty()) usage_exit();
        std::size_t scheme = url.find("://");
        std::size_t start = scheme == std::string::npos ? 0 : scheme + 3;
        std::size_t slash = url.find('/', start);
        host = url.substr(0, slash);
        if (host.size() >= 512) usage_exit();
        std::size_t at = host.find('@', start);
        peer = host.substr(0, start) + (at == std::string::npos ? host.substr(start) : host.substr(at + 1));
        address = slash == std::string::npos ? "" : url.substr(slash + 1);
    }

    [[noreturn]] void usage_exit(const std::string &usage = {}) const {
        std::cerr << "usage: " << program << " " << (usage.empty() ? usage_ : usage) << "\n"
                  << "  amqps:// URLs use TLS, trusting the platform's CAs (or SSL_CERT_FILE);\n"
                     "  --ca FILE trusts another CA, --cert FILE --key FILE send a client certificate\n";
        std::exit(2);
    }

    /* The listening form of host:port: an amqp:// prefix dropped. */
    std::string listen_address() const {
        std::size_t scheme = host.find("://");
        return scheme == std::string::npos ? host : host.substr(scheme + 3);
    }

    /* The connection options the command line asks for: TLS files, and
     * PLAIN allowed when `url` carries a user (the application's explicit
     * choice; muon otherwise refuses it without TLS). */
    muon::connection_options connection_options(const std::string &to) const {
        muon::connection_options o;
        std::size_t scheme = to.find("://");
        if (to.find('@', scheme == std::string::npos ? 0 : scheme + 3) != std::string::npos) {
            o.allow_insecure_plain();
        }
        tls(o, "--ca", [&] { if (!ca.empty()) o.add_tls_ca_file(ca); });
        tls(o, "--cert/--key", [&] { if (!cert.empty()) o.tls_cert_file(cert, key); });
        return o;
    }

    /* Connects to `to` (default: host) with the command line's options. */
    muon::connection connect(muon::loop_ref loop, muon::handler_binding h, std::string to = {}) const {
        if (to.empty()) to = host;
        return loop.connect(to, connection_options(to), std::move(h));
    }

private:
    /* Stops the program if a TLS option could not be used, saying why. */
    template <class F> static void tls(muon::connection_options &o, const char *what, F f) {
        try {
            f();
        } catch (const muon::error &e) {
            std::cerr << "error: " << what << ": " << o.error().value_or(e.what()) << "\n";
            std::exit(1);
        }
    }
    std::string usage_;
};

/* "name: description" of an event's condition, or `fallback`. */
inline std::string condition_text(muon::event &e, const std::string &fallback) {
    auto c = e.condition();
    return c ? c->str() : fallback;
}

/* The base of the examples' handlers. */
struct app : muon::messaging_handler {
    const options &opts;
    muon::connection conn;
    bool opened = false; // the connection was open once
    int exit_code = 0;
    explicit app(const options &o) : opts(o) {}

    /* A client's failure, said once: "PROGRAM: WHAT PEER: CONDITION" ("cannot
     * connect to" if the connection never opened); the connection is closed. */
    void fail(const char *what, muon::event &e) {
        if (exit_code == 0) {
            std::cerr << name() << ": " << (opened ? what : "cannot connect to") << " " << opts.peer
                      << ": " << condition_text(e, "closed") << "\n";
        }
        exit_code = 1;
        conn.close(); // gone already once disconnected: no matter
    }
    /* A failure, said as "PROGRAM: TEXT": the exit status becomes 1. */
    void error(const std::string &text) {
        std::cerr << name() << ": " << text << "\n";
        exit_code = 1;
    }
    /* The program's name, as the C examples print it. */
    std::string name() const { return opts.program.substr(opts.program.rfind('/') + 1); }
};

/* Failures of a client that does not reconnect (helloworld, client). */
struct client : app {
    using app::app;
    void on_link_remote_close(muon::event &e) override {
        if (e.condition()) fail("link closed by", e);
    }
    void on_connection_remote_close(muon::event &e) override {
        if (e.condition()) fail("connection closed by", e);
    }
    void on_disconnected(muon::event &e) override { fail("disconnected from", e); }
};

class signal_waker;

/* Makes the loop, lets `start` connect or listen, runs it (with
 * `wake_on_signals`, SIGINT and SIGTERM wake it: see signal_waker). Returns
 * the exit status: 1, with "PROGRAM: WHY", if the loop failed or a handler
 * threw; else the app's. */
inline int run(app &a, const std::function<void(muon::loop &)> &start, bool wake_on_signals = false);

/* Whether a transport error only says the connection was lost, which
 * reconnecting may mend (a failed login or a protocol error would only
 * happen again). */
inline bool is_connection_lost(const std::optional<muon::condition> &c) {
    return !c || c->name == "amqp:connection:forced" || c->name == "amqp:resource-limit-exceeded";
}

/*
 * A client that keeps its connection: the tutorial's manual reconnect
 * pattern. on_open() runs each time the connection is up: open the links
 * there. A lost connection is retried at once, then after 0.1 s, doubling
 * up to 10 s, saying so; a connection that never opened, a failed login or
 * an error from the peer ends the program with a message.
 */
struct reconnecting : app {
    muon::loop_ref loop;
    unsigned delay_ms = 0; // the next wait; 0 while connected
    bool done = false;     // the work is done, or failed: no reconnecting
    using app::app;
    virtual void on_open() = 0;

    void reconnect_now() { conn = opts.connect(loop, *this); }
    void start(muon::loop &l) {
        loop = l;
        reconnect_now();
    }
    void on_connection_remote_open(muon::event &) override {
        opened = true;
        delay_ms = 0;
        on_open();
    }
    void closed(const char *what, muon::event &e) {
        if (auto c = e.condition()) {
            std::cout << "Closed due to " << *c << "\n";
            std::cerr << name() << ": " << what << " " << opts.peer << ": " << *c << "\n";
            exit_code = 1;
            done = true;
        }
        conn.close(); // may be closed already
    }
    void on_link_remote_close(muon::event &e) override { closed("link closed by", e); }
    void on_connection_remote_close(muon::event &e) override { closed("connection closed by", e); }
    void on_disconnected(muon::event &e) override {
        if (done) return;
        bool lost = is_connection_lost(e.condition());
        if (!lost || !opened) { // a failed login, a protocol error, or never connected: give up
            std::cerr << name() << ": " << (lost ? "cannot connect to " : "connection to ") << opts.peer
                      << (lost ? ": " : " failed: ") << condition_text(e, "no reason given") << "\n";
            exit_code = 1;
            done = !lost;
            return;
        }
        unsigned wait = delay_ms;
        delay_ms = delay_ms == 0 ? 100 : std::min(delay_ms * 2, 10000u);
        if (wait == 0) {
            std::cout << "Disconnected, reconnecting..." << std::endl;
            reconnect_now();
        } else {
            std::cout << "Disconnected, will try to reconnect after " << wait / 1000.0 << " seconds" << std::endl;
            loop.schedule(std::chrono::milliseconds(wait), [this] {
                std::cout << "Reconnecting..." << std::endl;
                reconnect_now();
            });
        }
    }
};

/*
 * SIGINT and SIGTERM as a loop wake-up, from construction to destruction:
 * both signals are blocked (construct it before starting other threads, so
 * that they inherit the mask) and a thread waits for one and wakes the
 * loop, whose default handler's on_wake runs on the loop's thread.
 * Destroy it before the loop.
 */
class signal_waker {
public:
    explicit signal_waker(muon::loop_ref loop) : loop_(loop) {
        sigset_t set = signals();
        pthread_sigmask(SIG_BLOCK, &set, nullptr);
        thread_ = std::thread([this] {
            sigset_t s = signals();
            int sig;
            if (sigwait(&s, &sig) == 0 && !stopping_) loop_.wake();
        });
    }
    ~signal_waker() {
        stopping_ = true;
        pthread_kill(thread_.native_handle(), SIGTERM); // ends its sigwait, if it still waits
        thread_.join();
    }

private:
    static sigset_t signals() {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        return set;
    }
    muon::loop_ref loop_;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

inline int run(app &a, const std::function<void(muon::loop &)> &start, bool wake_on_signals) {
    try {
        muon::loop loop;
        std::optional<signal_waker> waker; // destroyed before the loop
        if (wake_on_signals) waker.emplace(loop);
        start(loop);
        loop.run();
    } catch (const std::exception &e) {
        std::cerr << a.name() << ": " << e.what() << "\n";
        return 1;
    }
    return a.exit_code;
}

} // namespace example

#endif
