/*
 * helloworld_direct.cpp: hello world without a broker.
 *
 * As examples-c/helloworld_direct.c: the program listens and connects to
 * itself. The receiving side has no code of its own beyond on_message: it is
 * the loop's default handler (a muon::handler of functions here, so that
 * what it lacks goes nowhere), and the loop's built-ins answer the peer's
 * open and attach and grant credit. The sending side opens a sender once
 * the connection is open and sends on credit. When the message has arrived,
 * the connection and the listener are closed and the loop ends. With -m
 * COUNT it keeps listening until COUNT messages have arrived, its own hello
 * and COUNT - 1 from other programs sending to it, then closes everything.
 *
 *   helloworld_direct [-a URL] [-m COUNT]   URL defaults to
 *                                  localhost:5672/examples; port 0 picks a
 *                                  free port; COUNT defaults to 1
 *   helloworld_direct -a amqps://localhost:0/examples --cert C --key K --ca CA
 *                                  the same over TLS: the listener serves
 *                                  certificate C, the client trusts CA
 *
 * Prints: Hello World!   (after "listening on PORT" when port 0 was asked for),
 *         and the body of each other message that arrives, one per line
 */
#include "example.hpp"

struct hello_direct : example::app {
    muon::listener listener;
    long received = 0;
    using app::app;

    // Closes the client connection and the listener: nothing is left to do.
    // A failure (`what`) is reported unless every message has arrived.
    void closed(const char *what, muon::event &e) {
        if (what && exit_code == 0 && received < opts.count) error(what + (": " + example::condition_text(e, "closed")));
        conn.close();
        listener.close();
    }

    void start(muon::loop &loop) {
        muon::handler receiver; // EventLoop(HelloWorldReceiver(), Handshaker(), FlowController(1))
        receiver.on_message = [this](muon::event &e) {
            std::cout << e.message().body() << std::endl;
            if (++received == opts.count) {
                e.connection().close();
                closed(nullptr, e);
            }
        };
        receiver.on_link_remote_close = [this](muon::event &e) { if (e.condition()) closed("link closed", e); };
        receiver.on_connection_remote_close = [this](muon::event &e) { if (e.condition()) closed("connection closed", e); };
        loop.set_handler(receiver);
        bool tls = opts.url.rfind("amqps://", 0) == 0;
        if (tls && opts.cert.empty()) opts.usage_exit("-a amqps://... needs --cert FILE --key FILE");
        try {
            listener = tls ? loop.listen(opts.listen_address(), opts.connection_options(""))
                           : loop.listen(opts.listen_address());
        } catch (const muon::error &err) {
            error("cannot listen on " + opts.listen_address() + ": " + err.code().message());
            return;
        }
        std::string host = opts.listen_address(), port = std::to_string(listener.port());
        std::size_t colon = host.rfind(':');
        if (colon != std::string::npos && host.substr(colon) == ":0") std::cout << "listening on " << port << std::endl;
        conn = opts.connect(loop, *this, (tls ? "amqps://" : "") + host.substr(0, colon) + ":" + port);
    }

    void on_connection_remote_open(muon::event &) override { conn.open_sender(opts.address); }

    void on_link_flow(muon::event &e) override {
        e.sender().send(muon::message("Hello World!"));
        e.sender().close();
    }

    void on_link_remote_close(muon::event &e) override { if (e.condition()) closed("link closed", e); }
    void on_connection_remote_close(muon::event &e) override { closed(e.condition() ? "connection closed" : nullptr, e); }
    void on_disconnected(muon::event &e) override { closed("disconnected", e); }
};

int main(int argc, char **argv) {
    example::options opts(argc, argv, "[-a URL] [-m COUNT]", 1);
    if (!opts.args.empty() || opts.count == 0) opts.usage_exit();
    hello_direct h(opts);
    return example::run(h, [&](muon::loop &loop) { h.start(loop); });
}
