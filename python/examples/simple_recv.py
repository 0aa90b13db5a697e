#!/usr/bin/env python3
"""simple_recv.py: reliable receiving, with reconnect (Qpid Proton's Python
tutorial, on muon). Prints each message body, one per line; stops after
COUNT messages (-m 0: until interrupted). If the connection is lost it
reconnects: at once the first time, then after 0.1 s, doubling up to 10 s.

    simple_recv.py [-a URL] [-m COUNT]   URL defaults to
                   localhost:5672/examples, COUNT to 100

Prints: each message body, one per line (and a line for each reconnect)
"""
import sys

from muon import EventLoop, IncomingMessageHandler

from example import Example, Failures, close


class Recv(IncomingMessageHandler):
    def __init__(self, eventloop, host, address):
        super().__init__()
        self.eventloop = eventloop
        self.host = host
        self.address = address
        self.delay = 0
        self.received = 0
        self.opened = False
        self.timer = None
        self.connect()

    def connect(self):
        self.conn = ex.connect(self.eventloop, self.host, handler=self)

    def on_message(self, event):
        if ex.done:  # over the count, in flight before the close: give it back
            event.delivery.release()
            return
        print(event.message.body)
        sys.stdout.flush()
        self.received += 1
        if self.received == ex.count:
            self.finish()

    def finish(self):
        ex.done = True
        close(self.conn, self.timer)

    def on_connection_remote_open(self, event):
        self.delay = 0
        self.opened = True
        self.conn.receiver(self.address)

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


ex = Example("simple_recv", "Receives messages from the URL's address and prints their "
             "bodies.", count_help="how many to receive (default 100; 0: until interrupted)",
             count_default=100)
failures = Failures(ex, lambda: recv.finish())
recv = Recv(EventLoop(failures), ex.url_text, ex.address)
sys.exit(recv.run())
