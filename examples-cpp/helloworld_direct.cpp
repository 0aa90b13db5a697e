/*
 * helloworld_direct.cpp: hello world without a broker.
 *
 * As examples-c/helloworld_direct.c: the program listens and connects to
 * itself. The receiving side is the listener's handler, a muon::handler of
 * functions (what it lacks goes on to example::app, as with C tables): it
 * prints what arrives, and the loop's built-ins answer the peer's open and
 * attach and grant credit. The sending side opens a sender once the
 * connection is open and sends on credit. After COUNT messages (its own
 * hello and COUNT - 1 from other programs sending to it) everything is
 * closed and the loop ends; -m 0 listens until interrupted.
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
    long long received = 0;

    void start() {
        if (url->scheme() == "amqps" && !cert_file) {
            std::cerr << program << ": -a amqps://... needs --cert FILE --key FILE\n";
            std::exit(2);
        }
        muon::handler accepted; // the connections the listener accepts
        accepted.on_message = [this](muon::event &e) {
            std::cout << e.message().body() << std::endl;
            if (++received == count) finish();
        };
        accepted.on_connection_remote_open = [this](muon::event &e) {
            if (auto c = e.condition(); c && !done) std::cerr << program << ": a peer's connection: " << *c << "\n";
        };
        accepted.on_connection_remote_close = accepted.on_disconnected = accepted.on_connection_remote_open;
        listener = loop.listen(url_text, connection_options(), accepted);
        if (url->port() == 0) std::cout << "listening on " << listener.port() << std::endl;
        // Connect to the port actually bound (port 0 picks one).
        std::string host = url->host();
        if (host.find(':') != std::string::npos) host = "[" + host + "]";
        connect_to(url->scheme() + "://" + host + ":" + std::to_string(listener.port()));
    }

    void on_connection_remote_open(muon::event &) override { conn.open_sender(address); }

    void on_link_flow(muon::event &e) override {
        if (e.is_receiver()) return;
        e.sender().send(muon::message("Hello World!"));
        e.sender().close();
    }
};

int main(int argc, char **argv) {
    hello_direct h;
    h.count_text = "1";
    h.setup("helloworld_direct", argc, argv,
            "Listens at the URL, sends itself \"Hello World!\" and prints what arrives. Port 0 "
            "picks a free port.\nOver amqps://, the listener serves --cert and --key, and the "
            "client trusts --ca.",
            "how many messages to receive (default 1; 0: until interrupted)", nullptr);
    try {
        h.start();
    } catch (const muon::error &e) {
        std::cerr << h.program << ": " << e.what() << "\n";
        return 1;
    }
    return h.run();
}
