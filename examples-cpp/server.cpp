/*
 * server.cpp: the service side of request/response.
 *
 * As examples-c/server.c: receives requests from an address and answers each
 * with its body in upper case. muon::connection::send_reply sends the answer
 * to the request's reply-to address with the request's correlation-id (its
 * message-id when it has none) as correlation-id, on a sender per reply-to
 * address that it opens once and then reuses, queued until that sender has
 * credit. A request without reply-to is rejected; a reply the broker does
 * not take is reported on stderr and the service goes on. Runs until SIGINT
 * or SIGTERM (exit 0), or until the broker ends the connection or the
 * request link (exit 1).
 *
 *   server [-a URL]     URL defaults to localhost:5672/examples
 *
 * Prints nothing unless something goes wrong.
 */
#include "example.hpp"

#include <cctype>

struct server : example::app {
    using app::app;

    void on_message(muon::event &e) override { // the tutorial's Server.on_message
        auto text = muon::try_get<std::string>(e.message().body()).value_or(e.message().body().format());
        for (char &c : text) c = char(std::toupper(static_cast<unsigned char>(c)));
        muon::message reply(text);
        try {
            conn.send_reply(e.message(), reply);
        } catch (const muon::error &err) { // the request has no reply-to: refuse it
            if (err.result() != muon::errc::not_found) throw;
            e.delivery().reject("amqp:precondition-failed", "no reply");
        }
    }

    // A reply not taken, or a reply sender closed with an error (amqp:resource-deleted is
    // how a client's temporary address ends when the client leaves: not news). An error
    // on the request link ends the program.
    void reply_trouble(muon::event &e, const char *fallback) {
        auto c = e.condition();
        auto to = e.sender().remote_target_address();
        if (!c || c->name != "amqp:resource-deleted")
            std::cerr << program << ": cannot reply to " << to.value_or("?") << ": " << (c ? c->str() : fallback) << "\n";
    }
    void on_link_remote_close(muon::event &e) override {
        if (e.is_receiver()) app::on_link_remote_close(e);
        else if (e.condition()) reply_trouble(e, "");
    }
    void on_rejected(muon::event &e) override { reply_trouble(e, "not delivered"); }
    void on_released(muon::event &e) override { reply_trouble(e, "not delivered"); }
    void on_modified(muon::event &e) override { reply_trouble(e, "not delivered"); }
};

int main(int argc, char **argv) {
    server srv("server", argc, argv, "Answers each request from the URL's address with its body in "
               "upper case, until interrupted.");
    return example::run(srv, [&] {
        srv.connect_to(srv.url_text);
        srv.conn.open_receiver(srv.address);
    });
}
