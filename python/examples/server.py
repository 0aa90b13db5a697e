#!/usr/bin/env python3
"""server.py: the service side of request/response (Qpid Proton's Python
tutorial, on muon). Answers each request from the URL's address with its
body in upper case, sent to the request's reply-to address (one sender per
address, opened once and reused) with the request's correlation-id (its
message-id when it has none). Runs until interrupted (exit 0), or until the
broker ends the connection or the request link (exit 1).

    server.py [-a URL]     URL defaults to localhost:5672/examples

Prints nothing unless something goes wrong.
"""
import sys

from muon import Condition, EventLoop, IncomingMessageHandler, Message

from example import Example, Failures, close


class Server(IncomingMessageHandler):
    def __init__(self, eventloop, host, address):
        super().__init__()
        self.eventloop = eventloop
        self.conn = ex.connect(eventloop, host, handler=ReplyTrouble())
        self.receiver = self.conn.receiver(address, handler=self)
        self.senders = {}

    def on_message(self, event):
        request = event.message
        if request.reply_to is None:  # no reply-to: refuse it
            event.delivery.reject(Condition("amqp:precondition-failed", "no reply"))
            return
        sender = self.senders.get(request.reply_to)
        if not sender:
            sender = self.conn.sender(request.reply_to)
            self.senders[request.reply_to] = sender
        cid = request.correlation_id if request.correlation_id is not None else request.id
        sender.send_msg(Message(body=str(request.body).upper(), correlation_id=cid))

    def on_link_remote_close(self, event):  # the request link
        error = event.link.remote_condition
        if error:
            print("Closed due to %s" % error)
            ex.fail("link closed by", str(error))
            close(self.conn)

    def run(self):
        return ex.run(self.eventloop, lambda: close(self.conn))


class ReplyTrouble(object):
    """The connection's handler, for the reply senders: a reply not taken,
    or a sender closed with an error (amqp:resource-deleted is how a
    client's temporary address ends when it leaves: not news)."""

    def on_link_remote_close(self, event):
        c = event.condition
        if c and c.name != "amqp:resource-deleted":
            self.trouble(event, str(c))

    def on_rejected(self, event):
        self.trouble(event, str(event.condition or "not delivered"))

    on_released = on_modified = on_rejected

    def trouble(self, event, why):
        to = event.sender.remote_target.address if event.sender else None
        sys.stderr.write(f"{ex.name}: cannot reply to {to or '?'}: {why}\n")

    def on_connection_remote_close(self, event):
        error = event.connection.remote_condition
        if error:
            print("Closed due to %s" % error)
        ex.fail("connection closed by", str(error) if error else
                "closed without an error before the end")
        close(server.conn)


ex = Example("server", "Answers each request from the URL's address with its body in upper "
             "case, until interrupted.")
server = Server(EventLoop(Failures(ex, lambda: close(server.conn))), ex.url_text, ex.address)
sys.exit(server.run())
