#!/usr/bin/python3
"""Writes the seeds of the `connection` fuzz target under
fuzz/seeds/connection/ (run once, by hand, from the repository root, after
fuzz/make_seeds.py: the injected frames are its parse_frame seeds, which
Qpid Proton made).

An input is a script (see fuzz/fuzz_targets/common_connection.rs): one
byte of flags, then operations, each one byte (kind in the low 4 bits,
argument in the high 4) and, for some kinds, the bytes they take. The
seeds are whole conversations (handshake, session, links, messages,
outcomes, close) with and without SASL, with time passing, and with
Proton's frames injected into either side.
"""

import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fuzz", "seeds", "connection")
FRAMES = os.path.join(ROOT, "fuzz", "seeds", "parse_frame")

# Flags.
C_SASL, S_SASL, C_SMALL, S_SMALL, C_IDLE, S_IDLE, NO_SKIP, S_ACCEPT = (1 << i for i in range(8))


def op(kind, arg=0, *extra):
    return bytes([kind | (arg << 4)]) + bytes(extra)


C2S, S2C = op(0), op(1)
PUMP = (C2S + S2C) * 4


def inject(to_server, data):
    out = b""
    for i in range(0, len(data), 256):
        part = data[i:i + 256]
        out += op(2 if to_server else 3) + bytes([len(part) - 1]) + part
    return out


def tick(step):
    return op(4, step)


def begin(server=False):
    return op(5, 1 if server else 0)


def attach(sender, server=False, credit=3):
    return op(6, (1 if server else 0) | (2 if sender else 0) | (credit << 2), 0)


def send(pick, size=2, settled=False, server=False):
    return op(7, (1 if server else 0) | (size << 1) | (8 if settled else 0), pick)


def flow(pick, credit, drain=False, server=False):
    return op(8, (1 if server else 0) | (2 if drain else 0), pick, credit)


def outcome(pick, kind, settle=True, server=False):
    return op(9, (1 if server else 0) | (kind << 1) | (8 if settle else 0), pick)


def detach(pick, closed=True, error=False, server=False):
    return op(10, (1 if server else 0) | (2 if closed else 0) | (4 if error else 0), pick)


def end(pick, error=False, server=False):
    return op(11, (1 if server else 0) | (2 if error else 0), pick)


def close(error=False, server=False):
    return op(12, (1 if server else 0) | (2 if error else 0))


def conversation(flags, chunks=0):
    """Open, a session, a sender and a receiver from the client, messages
    both ways, outcomes, detach, end, close."""
    pump = (op(0, chunks) + op(1, chunks)) * (8 if chunks else 4)
    s = bytes([flags]) + pump + begin() + pump
    s += attach(True) + pump + attach(False) + pump
    for size in range(6):
        s += send(0, size) + pump
    s += send(0, 2, settled=True) + pump
    s += flow(1, 10) + pump + begin(server=True) + pump
    s += attach(True, server=True) + pump + send(0, 1, server=True) + pump
    s += outcome(0, 1) + outcome(0, 3) + pump
    s += detach(0) + pump + end(0) + pump + close() + pump
    return s


def with_headers(stream):
    """The SASL header, the SASL frames, the AMQP header, the rest."""
    pos, out, sasl_done = 0, b"AMQP\x03\x01\x00\x00", False
    while pos + 8 <= len(stream):
        size = int.from_bytes(stream[pos:pos + 4], "big")
        if stream[pos + 5] != 1 and not sasl_done:
            out += b"AMQP\x00\x01\x00\x00"
            sasl_done = True
        out += stream[pos:pos + size]
        pos += size
    return out


def frame(body, channel=0):
    """An AMQP frame carrying `body`."""
    return (8 + len(body)).to_bytes(4, "big") + bytes([2, 0]) + channel.to_bytes(2, "big") + body


def write(name, data):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def main():
    write("plain", conversation(0))
    write("sasl", conversation(C_SASL | S_SASL))
    write("sasl-accept", conversation(C_SASL | S_SASL | S_ACCEPT))
    write("skip-sasl", conversation(S_SASL))
    write("refuse-skip", conversation(S_SASL | NO_SKIP))
    write("small-frames", conversation(C_SASL | S_SASL | C_SMALL | S_SMALL))
    write("chunks-1", conversation(C_SASL | S_SASL, 1))
    write("chunks-5", conversation(C_SASL | S_SASL, 5))
    idle = bytes([C_SASL | S_SASL | C_IDLE | S_IDLE]) + PUMP + begin() + PUMP
    for step in [4, 4, 5, 3, 4, 6, 7]:
        idle += tick(step) + PUMP
    write("idle", idle)
    quiet = bytes([C_SASL | S_SASL | S_IDLE]) + PUMP + tick(7) + PUMP + tick(7) + PUMP
    write("idle-timeout", quiet)
    stall = bytes([C_SASL | S_SASL]) + PUMP + begin() + PUMP + attach(True) + PUMP
    stall += (send(0, 5) + C2S) * 20 + tick(7) + PUMP
    write("stalled", stall)
    lost = bytes([C_SASL | S_SASL]) + PUMP + begin() + PUMP + op(13, 2) + PUMP
    write("lost", lost)
    # Proton's frames, injected in place of the peer (protocol headers put
    # back: make_seeds.py took them out): the client's stream to the
    # server, the server's to the client, and each frame alone.
    for name in sorted(os.listdir(FRAMES)):
        with open(os.path.join(FRAMES, name), "rb") as f:
            frames = f.read()
        to_server = name.startswith("client")
        answer = S2C if to_server else C2S
        sasl = frames[5] == 1 if len(frames) > 5 else False
        s = bytes([C_SASL | S_SASL if sasl else 0])
        if name.endswith("-all"):
            s += inject(to_server, with_headers(frames)) + answer * 4
        else:
            header = b"AMQP\x03\x01\x00\x00" if sasl else b"AMQP\x00\x01\x00\x00"
            s += inject(to_server, header + frames) + answer * 4
        write("inject-" + name, s)
    # A peer that makes the server answer as much as it can per byte:
    # attach and detach again and again, and session flows asking for an
    # echo (frames made by hand; the server's output is never taken).
    peer = b"AMQP\x00\x01\x00\x00"
    peer += frame(b"\x00\x53\x10\xc0\x04\x01\xa1\x01x")  # open
    peer += frame(b"\x00\x53\x11\xc0\x07\x04\x40\x43\x52\x08\x52\x08")  # begin
    s = bytes([0]) + inject(True, peer)
    attach_f = frame(b"\x00\x53\x12\xc0\x07\x03\xa1\x01a\x52\x00\x42")
    detach_f = frame(b"\x00\x53\x16\xc0\x04\x02\x52\x00\x41")
    for _ in range(40):
        s += inject(True, attach_f + detach_f)
    flow = b"\x00\x53\x13\xc0\x0d\x0a\x43\x52\x08\x43\x52\x08\x40\x40\x40\x40\x42\x41"
    for _ in range(40):
        s += inject(True, frame(flow))
    write("amplify", s)
    # A corrupted byte in the open, and dropped bytes.
    write("corrupt", bytes([C_SASL | S_SASL]) + op(14, 0, 40, 12, 0xff) + PUMP)
    write("drop", bytes([C_SASL | S_SASL]) + op(15, 2, 9, 0, 0) + PUMP)


main()
