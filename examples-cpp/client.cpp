/*
 * client.cpp: the requesting side of request/response.
 *
 * As examples-c/client.c: opens a dynamic receiver, for which the broker
 * makes a temporary address (or, with -r, receives at a fixed address, for
 * brokers without dynamic nodes). Once the receiver is open it sends each
 * request to the URL's address, one at a time, with reply-to set to the
 * receiver's address, and prints each request with its response.
 *
 *   client [-a URL] [-r REPLY_TO] [REQUEST ...]
 *                                   URL defaults to localhost:5672/examples;
 *                                   without requests, sends the tutorial's four
 *
 * Prints: REQUEST => RESPONSE, one line per request
 */
#include "example.hpp"

const std::vector<std::string> requests{
    "Twas brillig, and the slithy toves",
    "Did gire and gymble in the wabe.",
    "All mimsy were the borogroves,",
    "And the mome raths outgrabe.",
};

struct client : example::app {
    std::size_t next = 0;                // the request in flight
    std::optional<std::string> replies; // the address responses come to

    void next_request() { // queued until the sender has credit
        conn.sender_to(address).send(muon::message(args[next]).reply_to(replies));
    }

    void on_link_remote_open(muon::event &e) override {
        if (!e.is_receiver()) return;
        replies = reply_to ? reply_to : e.receiver().remote_source_address();
        if (!replies) fail("no reply address from", "a dynamic receiver without an address");
        else next_request();
    }

    void on_message(muon::event &e) override {
        std::cout << args[next] << " => " << e.message().body() << "\n";
        if (++next == args.size()) finish();
        else next_request();
    }
};

int main(int argc, char **argv) {
    client c;
    c.setup("client", argc, argv,
            "Sends each ARGUMENT (else the tutorial's four requests) to the URL's address and "
            "prints it with its response.",
            nullptr, "receive responses at this fixed address, not a dynamic one", &requests);
    c.connect_to(c.url_text);
    c.conn.open_receiver(c.reply_to, muon::link_options().dynamic(!c.reply_to));
    return c.run();
}
