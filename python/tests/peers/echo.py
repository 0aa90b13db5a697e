"""Receives one message from --address and sends what muon's Python binding
decoded (a new Message built from the decoded fields) to --reply-address,
then prints "ok". The type-fidelity tests put it between two peers that
print the canonical form of what they sent and received."""

import argparse
import sys

import muon


class Echo:
    def __init__(self, loop, url, source, target):
        self.conn = loop.connect(url, handler=self)
        self.receiver = self.conn.receiver(source, handler=self)
        self.target = target
        self.done = False

    def on_message(self, event):
        m = event.message
        copy = muon.Message(
            body=m.body, id=m.id, correlation_id=m.correlation_id, reply_to=m.reply_to,
            subject=m.subject, address=m.address, user_id=m.user_id,
            content_type=m.content_type, content_encoding=m.content_encoding,
            creation_time=m.creation_time, expiry_time=m.expiry_time, group_id=m.group_id,
            group_sequence=m.group_sequence, reply_to_group_id=m.reply_to_group_id,
            durable=m.durable, priority=m.priority, ttl=m.ttl,
            first_acquirer=m.first_acquirer, delivery_count=m.delivery_count,
            properties=m.properties, annotations=m.annotations, instructions=m.instructions,
            footer=m.footer, inferred=m.inferred)
        self.conn.sender(self.target, handler=self).send(copy)
        self.receiver.close()

    def on_accepted(self, event):
        print("ok echoed")
        self.done = True
        self.conn.close()

    def on_rejected(self, event):
        print(f"error: rejected: {event.condition}")
        self.conn.close()

    def on_disconnected(self, event):
        print(f"error: disconnected: {event.condition}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--connect", required=True)
    p.add_argument("--address", required=True)
    p.add_argument("--reply-address", required=True)
    a = p.parse_args()
    loop = muon.EventLoop()
    echo = Echo(loop, a.connect, a.address, a.reply_address)
    loop.run()
    return 0 if echo.done else 1


if __name__ == "__main__":
    sys.exit(main())
