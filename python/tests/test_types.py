"""Type fidelity: every AMQP type through muon's Python binding, between
tests/interop/types.c (muon's C API) and between Qpid Proton's Python
(tests/interop/types_peer.py on /usr/bin/python3), each hop checked against
tests/interop/types.expected; and the Python mapping itself in process."""

import sys
import uuid
from pathlib import Path

import pytest

import muon
from muon import types as t
from conftest import PROTON_PYTHON, c_program, run

REPO = Path(__file__).resolve().parents[2]
EXPECTED = (REPO / "tests/interop/types.expected").read_text().splitlines()
PROTON_PEER = str(REPO / "tests/interop/types_peer.py")
ECHO = str(Path(__file__).resolve().parent / "peers/echo.py")


def canonical(out, prefix):
    return [line[len(prefix):] for line in out.splitlines() if line.startswith(prefix)]


def same(who, got):
    if got == EXPECTED:
        return
    for i, (a, b) in enumerate(zip(got, EXPECTED)):
        if a != b:
            pytest.fail(f"{who}: field {i + 1} differs:\n got:      {a}\n expected: {b}")
    pytest.fail(f"{who}: {len(got)} fields instead of {len(EXPECTED)}")


def through_python(sender, receiver, broker, queue):
    a, b = queue + "-a", queue + "-b"
    rc, out, err = run(sender + ["send", "--connect", broker, "--address", a])
    assert rc == 0, out + err
    same("sent", canonical(out, "sent "))
    rc, out, err = run([sys.executable, ECHO, "--connect", broker, "--address", a,
                        "--reply-address", b])
    assert rc == 0 and "ok echoed" in out, out + err
    rc, out, err = run(receiver + ["recv", "--connect", broker, "--address", b])
    assert rc == 0, out + err
    same("received after muon's Python binding", canonical(out, "got "))


def test_c_python_c(broker, queue):
    c = [c_program("types")]
    through_python(c, c, broker, queue)


def test_proton_python_proton(broker, queue):
    p = [PROTON_PYTHON, PROTON_PEER]
    through_python(p, p, broker, queue)


def test_c_python_proton(broker, queue):
    through_python([c_program("types")], [PROTON_PYTHON, PROTON_PEER], broker, queue)


def test_python_mapping_round_trip(broker, queue):
    """Every Python value sent by the binding comes back equal and of the
    same Python type."""
    values = [
        None, True, False, 0, -1, 2**63 - 1, -(2**63), 1.5, -0.0, "", "héllo ✓", b"", b"\x00\xff",
        uuid.UUID(int=7), t.symbol("sym"), t.ubyte(255), t.ushort(65535), t.uint(2**32 - 1),
        t.ulong(2**64 - 1), t.byte(-128), t.short(-32768), t.int32(-(2**31)),
        t.float32(0.5), t.char("😀"), t.timestamp(1700000000125), t.decimal32(0x22500001),
        t.decimal64(0x2238000000000001), t.decimal128(bytes(range(16))),
        [], [1, "x", [None]], {}, {"a": 1, t.symbol("b"): [True], t.ulong(3): {"n": t.short(-3)}},
        t.Described(t.symbol("com.example:thing"), "payload"),
        t.Described(t.ulong(7), [1, t.symbol("two")]),
        t.Array(t.AMQPType.INT, [t.int32(-1), t.int32(0)]), t.Array(t.AMQPType.STRING, ["a"]),
    ]
    got = []

    class H:
        def __init__(self, loop):
            self.conn = loop.connect(broker, handler=self)
            self.conn.receiver(queue, handler=self)
            self.sender = self.conn.sender(queue)
            for v in values:
                self.sender.send(muon.Message(body=v, properties={"v": v} if not isinstance(
                    v, (list, dict, t.Described, t.Array)) else None))

        def on_message(self, event):
            got.append(event.message)
            if len(got) == len(values):
                self.conn.close()

    loop = muon.EventLoop()
    H(loop)
    loop.run()
    assert len(got) == len(values)
    for v, m in zip(values, got):
        assert m.body == v and type(m.body) is type(v), (v, m.body)
        if m.properties is not None:
            assert type(m.properties["v"]) is type(v)
