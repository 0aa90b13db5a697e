/*
 * client.cpp: the requesting side of request/response.
 *
 * As examples-c/client.c: opens a sender to the service's address and a
 * dynamic receiver, for which the broker makes a temporary address. Once the
 * broker has assigned that address, it sends each request with reply-to set
 * to it, one at a time (on the sender muon::connection::sender_to opens once
 * and reuses), and prints each request with its response. With -r,
 * it receives from the fixed address REPLY_TO instead, for brokers without
 * dynamic nodes (RabbitMQ's AMQP 1.0 plugin, Qpid Proton's C broker).
 *
 *   client [-a URL] [-r REPLY_TO] [REQUEST ...]
 *                                   URL defaults to localhost:5672/examples;
 *                                   without requests, sends the tutorial's four
 *
 * Prints: REQUEST => RESPONSE, one line per request
 */
#include "example.hpp"

struct client : example::app {
    std::string replies; // the address responses come to
    std::size_t next = 0; // the request in flight
    using app::app;

    // Sends request `next`, on the sender to the service's address (opened by
    // the first call, then reused), queued until the sender has credit.
    void next_request() { conn.sender_to(address).send(muon::message(args[next]).reply_to(replies)); }

    void on_link_remote_open(muon::event &e) override { // the reply address is known
        if (!e.is_receiver()) return;
        auto from_broker = e.receiver().remote_source_address();
        replies = has_reply_to ? reply_to : from_broker.value_or("");
        if (!has_reply_to && !from_broker) fail("no reply address from", "a dynamic receiver without an address");
        else next_request();
    }

    void on_message(muon::event &e) override {
        std::cout << args[next] << " => " << e.message().body() << "\n";
        if (++next == args.size()) finish();
        else next_request();
    }
};

int main(int argc, char **argv) {
    client c("client", argc, argv, "Sends each ARGUMENT (else the tutorial's four requests) to the "
             "URL's address and prints it with its response.", "",
             "receive responses at this fixed address, not a dynamic one",
             std::vector<std::string>{"Twas brillig, and the slithy toves", "Did gire and gymble in the wabe.",
                                      "All mimsy were the borogroves,", "And the mome raths outgrabe."});
    return example::run(c, [&] {
        c.connect_to(c.url_text);
        c.conn.open_receiver(c.has_reply_to ? std::optional<std::string>(c.reply_to) : std::nullopt,
                             muon::link_options().dynamic(!c.has_reply_to));
    });
}
