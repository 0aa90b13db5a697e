"""The tutorial's programs in python/examples against muon's example broker,
each beside its C twin in examples-c (same output, same exit status), and
across languages: Python to C and C to Python, through the broker and
directly; plus the reconnect through the fault-injecting proxy, and
helloworld and simple_send/simple_recv through Proton's broker.py and a
private RabbitMQ node."""

import re
import time

from conftest import c_program, py_example, run, start


def both(name, *args, limit=60):
    """Runs the Python and the C program with the same arguments."""
    py = run(py_example(name, *args), limit)
    c = run([c_program(name), *args], limit)
    return py, c


def seqs(out):
    return [int(n) for n in re.findall(r"\{'sequence': (\d+)\}", out)]


def test_helloworld(broker, queue):
    py, c = both("helloworld", "-a", f"{broker}/{queue}")
    assert py == c == (0, "Hello World!\n", "")


def test_helloworld_direct():
    py, c = both("helloworld_direct", "-a", "localhost:0/examples")
    for rc, out, err in (py, c):
        assert rc == 0 and err == "", err
        assert re.fullmatch(r"listening on \d+\nHello World!\n", out), out


def test_send_recv_same_as_c(broker, queue):
    py_send = run(py_example("simple_send", "-a", f"{broker}/{queue}", "-m", "500"))
    c_send = run([c_program("simple_send"), "-a", f"{broker}/{queue}", "-m", "500"])
    assert py_send == c_send == (0, "all messages confirmed\n", "")
    py_recv, c_recv = both("simple_recv", "-a", f"{broker}/{queue}", "-m", "500")
    # Each receives 500 of the 1000 queued, in order; same lines as C's.
    want = "".join("{'sequence': %d}\n" % n for n in range(1, 501))
    assert py_recv == (0, want, "")
    assert c_recv == (0, want, "")


def test_python_sender_c_receiver_and_back(broker, queue):
    recv = start([c_program("simple_recv"), "-a", f"{broker}/{queue}", "-m", "1000"])
    assert run(py_example("simple_send", "-a", f"{broker}/{queue}", "-m", "1000")) == \
        (0, "all messages confirmed\n", "")
    rc, out, err = recv.wait()
    assert rc == 0 and seqs(out) == list(range(1, 1001)), err
    recv = start(py_example("simple_recv", "-a", f"{broker}/{queue}", "-m", "1000"))
    assert run([c_program("simple_send"), "-a", f"{broker}/{queue}", "-m", "1000"]) == \
        (0, "all messages confirmed\n", "")
    rc, out, err = recv.wait()
    assert rc == 0 and seqs(out) == list(range(1, 1001)), err


def test_direct_across_languages():
    """simple_send straight to helloworld_direct -m N+1, each way."""
    for listener, sender in ((py_example("helloworld_direct"), [c_program("simple_send")]),
                             ([c_program("helloworld_direct")], py_example("simple_send"))):
        d = start(listener + ["-a", "localhost:0/examples", "-m", "101"])
        port = d.readline().split()[-1]
        assert run(sender + ["-a", f"localhost:{port}/examples", "-m", "100"]) == \
            (0, "all messages confirmed\n", "")
        rc, out, err = d.wait()
        assert rc == 0, err
        assert out.splitlines()[1:] == sorted(out.splitlines()[1:], key=lambda s: (
            s != "Hello World!", seqs(s)))
        assert "Hello World!" in out and seqs(out) == list(range(1, 101))


def test_request_response_across_languages(broker, queue):
    lines = "one => ONE\ntwo => TWO\n"
    for server in (py_example("server"), [c_program("server")]):
        s = start(server + ["-a", f"{broker}/{queue}"])
        for client in (py_example("client"), [c_program("client")]):
            assert run(client + ["-a", f"{broker}/{queue}", "one", "two"]) == (0, lines, "")
        s.p.send_signal(2)
        rc, out, err = s.wait()
        assert (rc, out, err) == (0, "", ""), (server, err)


def test_connection_refused_same_as_c():
    py, c = both("helloworld", "-a", "localhost:1/examples")
    assert py == c
    assert py[0] == 1 and py[2].startswith("helloworld: cannot connect to localhost:1: ")


def test_bad_options_same_as_c():
    for args in (["-m", "x"], ["-a", "localhost:abc/q"], ["--bogus"]):
        py, c = both("simple_send", *args)
        assert py[0] == c[0] == 2, (args, py, c)
        if args[0] != "--bogus":
            assert py[2] == c[2], (args, py, c)


def test_reconnect_through_fault_proxy(broker, proxy, queue):
    """simple_send through a proxy that cuts every connection after 80-200 KB:
    it reconnects and resumes; every sequence arrives (duplicates allowed).
    5,000 messages are more bytes than the largest cut, so there is at least
    one."""
    n = 5000
    send = run(py_example("simple_send", "-a", f"{proxy}/{queue}", "-m", str(n)), 120)
    assert send[0] == 0, send
    assert send[1].endswith("all messages confirmed\n")
    assert "Disconnected, reconnecting..." in send[1], send[1]
    recv = start(py_example("simple_recv", "-a", f"{broker}/{queue}", "-m", "0"))
    deadline = time.monotonic() + 30
    got = set()
    while time.monotonic() < deadline and len(got) < n:
        line = recv.readline()
        got.update(seqs(line))
    recv.p.send_signal(2)
    rc, out, err = recv.wait()
    assert got == set(range(1, n + 1)), sorted(set(range(1, n + 1)) - got)[:10]
    assert rc == 0, err


def test_against_proton_broker_py(queue):
    """helloworld and simple_send/simple_recv through Qpid Proton's broker.py
    (on /usr/bin/python3, on a free port of its own)."""
    import socket
    from conftest import PROTON_EXAMPLES, PROTON_PYTHON
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    b = start([PROTON_PYTHON, str(PROTON_EXAMPLES / "broker.py"), "-a", f"127.0.0.1:{port}"])
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "broker.py did not listen"
                time.sleep(0.05)
        url = f"127.0.0.1:{port}/{queue}"
        assert run(py_example("helloworld", "-a", url)) == (0, "Hello World!\n", "")
        recv = start(py_example("simple_recv", "-a", url, "-m", "200"))
        assert run(py_example("simple_send", "-a", url, "-m", "200")) == \
            (0, "all messages confirmed\n", "")
        rc, out, err = recv.wait()
        assert rc == 0 and seqs(out) == list(range(1, 201)), err
    finally:
        b.kill()


def test_against_rabbitmq(rabbitmq, queue):
    """helloworld, then 1,000 messages simple_send -> simple_recv (in order,
    all confirmed) through the private RabbitMQ 3.10 node tests/python.rs
    started, on its queue addresses /queue/NAME (written after a double
    slash). helloworld logs in with SASL ANONYMOUS (the node's
    amqp1_0.default_user); the send and receive with PLAIN as guest."""
    hello = f"{rabbitmq}//queue/{queue}-hello"
    assert run(py_example("helloworld", "-a", hello)) == (0, "Hello World!\n", "")
    url = f"amqp://guest:guest@{rabbitmq}//queue/{queue}"
    recv = start(py_example("simple_recv", "-a", url, "-m", "1000"))
    assert run(py_example("simple_send", "-a", url, "-m", "1000")) == \
        (0, "all messages confirmed\n", "")
    rc, out, err = recv.wait()
    assert (rc, err) == (0, ""), err
    assert seqs(out) == list(range(1, 1001)), out[-300:]
