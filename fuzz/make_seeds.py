#!/usr/bin/python3
"""Writes the fuzz seed corpora under fuzz/seeds/, from Qpid Proton.

Run once, by hand, from the repository root, with Debian's
python3-qpid-proton installed (the system interpreter, /usr/bin/python3):

    /usr/bin/python3 fuzz/make_seeds.py

- seeds/decode_value: each value vector of tests/data/proton_vectors.txt.
- seeds/decode_message: each message vector, behind the one byte that
  tells the target how to cut it into parts (0x00: 1-byte parts, 0x07:
  8-byte parts, 0x85: cut after 5 bytes).
- seeds/parse_frame: the frames (protocol headers taken out) that two
  Proton transports exchange over SASL ANONYMOUS, open, begin, attach,
  flow, transfer (with a message), disposition, detach, end and close:
  each side's whole stream, and each frame alone.

The seeds are committed; the fuzz targets need no Proton.
"""

import os

from proton import Connection, Message, SASL, Transport

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEEDS = os.path.join(ROOT, "fuzz", "seeds")


def write(target, name, data):
    d = os.path.join(SEEDS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def vectors():
    with open(os.path.join(ROOT, "tests", "data", "proton_vectors.txt")) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            kind, name, hexed = line.rstrip("\n").split("\t")
            yield kind, name, bytes.fromhex(hexed)


def frames_only(stream):
    """Drops protocol headers from a transport's output; returns the
    frames, each as bytes."""
    out = []
    i = 0
    while i < len(stream):
        if stream[i : i + 4] == b"AMQP":
            i += 8
            continue
        size = int.from_bytes(stream[i : i + 4], "big")
        out.append(stream[i : i + size])
        i += size
    return out


def conversation():
    """Runs a client and a server transport against each other; returns
    the bytes each wrote."""
    client_conn, server_conn = Connection(), Connection()
    client_conn.container = "client"
    server_conn.container = "server"
    client, server = Transport(), Transport(Transport.SERVER)
    for t, mechs in ((client, "ANONYMOUS"), (server, "ANONYMOUS")):
        s = SASL(t)
        s.allowed_mechs(mechs)
    client.bind(client_conn)
    server.bind(server_conn)
    written = {"client": b"", "server": b""}

    def pump():
        for _ in range(50):
            moved = False
            for name, a, b in (("client", client, server), ("server", server, client)):
                n = a.pending()
                if n > 0:
                    data = a.peek(n)
                    a.pop(n)
                    written[name] += data
                    b.push(data)
                    moved = True
            if not moved:
                return

    client_conn.open()
    session = client_conn.session()
    session.open()
    sender = session.sender("s1")
    sender.target.address = "queue"
    sender.open()
    pump()
    server_conn.open()
    for s in [server_conn.session_head(0)]:
        if s:
            s.open()
    link = server_conn.link_head(0)
    while link:
        link.target.copy(link.remote_target)
        link.open()
        if link.is_receiver:
            link.flow(10)
        link = link.next(0)
    pump()
    delivery = sender.delivery("tag-1")
    msg = Message(
        id=1, address="queue", body={"sequence": 1}, properties={"k": "v"}, durable=True
    )
    sender.send(msg.encode())
    sender.advance()
    pump()
    rlink = server_conn.link_head(0)
    while rlink and not rlink.is_receiver:
        rlink = rlink.next(0)
    d = rlink.current if rlink else None
    if d:
        rlink.recv(d.pending)
        d.update(d.ACCEPTED)
        d.settle()
        rlink.advance()
    pump()
    sender.close()
    pump()
    session.close()
    client_conn.close()
    pump()
    if rlink:
        rlink.close()
    s = server_conn.session_head(0)
    if s:
        s.close()
    server_conn.close()
    pump()
    return written


def main():
    for kind, name, data in vectors():
        if kind == "value":
            write("decode_value", name, data)
        else:
            for cut in (0x00, 0x07, 0x85):
                write("decode_message", f"{name}-{cut:02x}", bytes([cut]) + data)
    for side, stream in conversation().items():
        frames = frames_only(stream)
        write("parse_frame", f"{side}-all", b"".join(frames))
        for i, f in enumerate(frames):
            write("parse_frame", f"{side}-{i:02d}", f)


if __name__ == "__main__":
    main()
