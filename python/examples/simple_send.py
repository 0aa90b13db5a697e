#!/usr/bin/env python3
"""simple_send.py: reliable sending, with reconnect (Qpid Proton's Python
tutorial, on muon). Sends COUNT messages {'sequence': n} (n from 1, the
message-id n) as the receiver's credit allows and counts the deliveries the
peer accepts; if the connection is lost it resumes from the last confirmed
message: at once the first time, then after 0.1 s, doubling up to 10 s.

    simple_send.py [-a URL] [-m COUNT]   URL defaults to
                   localhost:5672/examples, COUNT to 100

Prints: all messages confirmed  (and a line for each reconnect)
"""
import sys

from muon import EventLoop, Message, OutgoingMessageHandler

from example import Example, Failures, close


class Send(OutgoingMessageHandler):
    def __init__(self, eventloop, host, address, messages):
        self.eventloop = eventloop
        self.sent = 0
        self.confirmed = 0
        self.total = messages
        self.address = address
        self.host = host
        self.delay = 0
        self.opened = False
        self.timer = None
        self.connect()

    def connect(self):
        self.conn = ex.connect(self.eventloop, self.host, handler=self)

    def on_link_flow(self, event):
        for i in range(self.sender.credit):
            if self.sent == self.total:
                self.sender.drained()
                break
            self.sent += 1
            msg = Message(id=self.sent, body={'sequence': self.sent})
            self.sender.send_msg(msg, handler=self)

    def on_accepted(self, event):
        """Stop the application once all of the messages are sent and acknowledged."""
        self.confirmed += 1
        if self.confirmed == self.total:
            print("all messages confirmed")
            self.finish()

    def finish(self):
        ex.done = True
        close(self.conn, self.timer)

    def on_connection_remote_open(self, event):
        self.sent = self.confirmed
        self.sender = self.conn.sender(self.address)
        self.sender.offered(self.total - self.confirmed)
        self.delay = 0
        self.opened = True

    def on_link_remote_close(self, event):
        self.closed(event.link.remote_condition, "link closed by")

    def on_connection_remote_close(self, event):
        self.closed(event.connection.remote_condition or "closed without an error before "
                    "the end", "connection closed by")

    def closed(self, error=None, what=None):
        if error:
            if not isinstance(error, str):
                print("Closed due to %s" % error)
            ex.fail(what, str(error))
            self.finish()

    def on_disconnected(self, event):
        c = event.condition
        if c.name not in ("amqp:connection:forced", "amqp:resource-limit-exceeded") \
                or ex.done or not self.opened:
            failures.on_disconnected(event)
            return
        if self.delay == 0:
            print("Disconnected, reconnecting...")
            self.connect()
        else:
            print("Disconnected, will try to reconnect after %g seconds" % self.delay)
            self.timer = self.eventloop.schedule(self.delay, connection=event.connection)
        self.delay = 0.1 if self.delay == 0 else 10 if self.delay >= 5 else 2 * self.delay
        sys.stdout.flush()

    def on_timer(self, event):
        print("Reconnecting...")
        sys.stdout.flush()
        self.connect()

    def run(self):
        return ex.run(self.eventloop, self.finish)


ex = Example("simple_send", "Sends COUNT messages {'sequence': n} to the URL's address and "
             "waits until the peer has accepted each.",
             count_help="how many to send (default 100)", count_default=100)
if ex.count == 0:
    print("all messages confirmed")
    sys.exit(0)
failures = Failures(ex, lambda: send.finish())
send = Send(EventLoop(failures), ex.url_text, ex.address, ex.count)
sys.exit(send.run())
