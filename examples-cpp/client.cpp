/*
 * client.cpp: the requesting side of request/response.
 *
 * As examples-c/client.c: opens a sender to the service's address and a
 * dynamic receiver, for which the broker makes a temporary address. Once the
 * broker has assigned that address, it sends each request with reply-to set
 * to it, one at a time, and prints each request with its response. With -r,
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

struct client : example::client {
    std::vector<std::string> requests{"Twas brillig, and the slithy toves",
                                      "Did gire and gymble in the wabe.",
                                      "All mimsy were the borogroves,", "And the mome raths outgrabe."};
    std::optional<std::string> fixed_reply_to, reply_to; // -r, and the address replies come to
    muon::sender sender;
    std::size_t next = 0; // the request in flight, or to send
    bool in_flight = false;
    using example::client::client;

    void start(muon::loop &loop) {
        conn = opts.connect(loop, *this);
        sender = conn.open_sender(opts.address);
        conn.open_receiver(fixed_reply_to, muon::link_options().dynamic(!fixed_reply_to));
    }

    // Sends the next request, if there is one, the address is known and there is credit.
    void next_request() {
        if (!reply_to || in_flight || next == requests.size() || sender.credit() == 0) return;
        sender.send(muon::message(requests[next]).reply_to(reply_to));
        in_flight = true;
    }

    void on_connection_remote_open(muon::event &) override { opened = true; }
    void on_link_flow(muon::event &) override { next_request(); }

    void on_link_remote_open(muon::event &e) override {
        if (!e.is_receiver()) return;
        reply_to = fixed_reply_to ? fixed_reply_to : e.receiver().remote_source_address();
        if (!reply_to) return fail("no reply address from", e);
        next_request();
    }

    void on_message(muon::event &e) override {
        std::cout << requests[next] << " => " << e.message().body() << std::endl;
        in_flight = false;
        if (++next == requests.size()) conn.close();
        else next_request();
    }
};

int main(int argc, char **argv) {
    std::vector<char *> args{argv[0]}; // -r REPLY_TO is this program's own option
    std::optional<std::string> fixed;
    for (int i = 1; i < argc; i++) {
        if (std::string(argv[i]) != "-r") args.push_back(argv[i]);
        else if (i + 1 < argc) fixed = argv[++i];
        else example::options(1, argv, "", 0).usage_exit("[-a URL] [-r REPLY_TO] [REQUEST ...]");
    }
    example::options opts(int(args.size()), args.data(), "[-a URL] [-r REPLY_TO] [REQUEST ...]", 0);
    client c(opts);
    c.fixed_reply_to = fixed;
    if (!opts.args.empty()) c.requests = opts.args;
    int rc = example::run(c, [&](muon::loop &loop) { c.start(loop); });
    if (rc == 0 && c.next < c.requests.size()) {
        std::cerr << "client: closed after " << c.next << " of " << c.requests.size() << " responses\n";
        return 1;
    }
    return rc;
}
