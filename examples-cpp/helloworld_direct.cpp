/*
 * helloworld_direct.cpp: hello world without a broker.
 *
 * As examples-c/helloworld_direct.c: the program listens and connects to
 * itself. The receiving side has no code of its own beyond on_message: it is
 * the listener's handler (a muon::handler of functions here, so that what it
 * lacks goes to the loop's), and muon's built-ins answer the peer's open and
 * attach and grant credit. The sending side opens a sender once
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
    long received = 0;
    using app::app;

    void start() {
        if (url->scheme() == "amqps" && cert.empty()) {
            std::cerr << program << ": -a amqps://... needs --cert FILE --key FILE\n";
            std::exit(2);
        }
        muon::handler accepted; // the listener's: EventLoop(HelloWorldReceiver(), Handshaker(), FlowController(1))
        accepted.on_message = [this](muon::event &e) {
            std::cout << e.message().body() << std::endl;
            if (++received == count) finish();
        };
        // An accepted connection opening, closing or ending is the peer's affair (the
        // built-ins answer it), not a failure of this program's own connection.
        auto peer_trouble = [this](muon::event &e) {
            if (e.condition() && !done) std::cerr << program << ": a peer's connection: " << *e.condition() << "\n";
        };
        accepted.on_connection_remote_open = accepted.on_connection_remote_close = peer_trouble;
        accepted.on_disconnected = peer_trouble;
        listener = loop.listen(url_text, connection_options(), std::move(accepted));
        if (url->port() == 0) std::cout << "listening on " << listener.port() << std::endl;
        // Connect to the port actually bound (port 0 picks one).
        std::string host = url->host();
        if (host.find(':') != std::string::npos) host = "[" + host + "]";
        connect_to(url->scheme() + "://" + host + ":" + std::to_string(listener.port()));
    }

    void on_connection_remote_open(muon::event &) override { conn.open_sender(address); }

    void on_link_flow(muon::event &e) override {
        e.sender().send(muon::message("Hello World!"));
        e.sender().close();
    }
};

int main(int argc, char **argv) {
    hello_direct h("helloworld_direct", argc, argv, "Listens at the URL, sends itself \"Hello World!\" "
                   "and prints what arrives. Port 0 picks a free port.\nOver amqps://, the listener serves "
                   "--cert and --key, and the client trusts --ca.",
                   "how many messages to receive (default 1; 0: until interrupted)", "", std::nullopt, "1");
    return example::run(h, [&] { h.start(); });
}
