"""muon.proton: Qpid Proton's own Python examples, copied with only their
import lines changed (by sed, here), run on muon and compared with the
originals run on Proton (/usr/bin/python3, python3-qpid-proton) in the same
test: same stdout, same exit status. Where an example has a port written
in (helloworld.py's localhost:5672, helloworld_direct.py's and
server_direct.py's 8888) the same sed puts a free port (or the test
broker's) there, in both copies, so that no test uses a fixed port."""

import re
import socket
import subprocess
import sys
import time

import pytest

from conftest import PROTON_EXAMPLES, PROTON_PYTHON, start

IMPORTS = [r"-e", r"s/^from proton import/from muon.proton import/",
           r"-e", r"s/^from proton\.handlers import/from muon.proton.handlers import/",
           r"-e", r"s/^from proton\.reactor import/from muon.proton.reactor import/"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def copies(tmp_path):
    """copies(name, port_from=None, port_to=None) -> (proton_argv, muon_argv)."""
    def make(name, port_from=None, port_to=None):
        extra = ["-e", f"s/{port_from}/{port_to}/" if port_from else ""]
        src = PROTON_EXAMPLES / f"{name}.py"
        orig = tmp_path / f"proton_{name}.py"
        ours = tmp_path / f"muon_{name}.py"
        orig.write_text(subprocess.run(["sed", *extra, str(src)], check=True,
                                       capture_output=True, text=True).stdout)
        ours.write_text(subprocess.run(["sed", *IMPORTS, *extra, str(src)], check=True,
                                       capture_output=True, text=True).stdout)
        changed = [line for line in ours.read_text().splitlines()
                   if line not in orig.read_text().splitlines()]
        assert all(line.startswith("from muon.proton") for line in changed), changed
        return [PROTON_PYTHON, str(orig)], [sys.executable, str(ours)]
    return make


def normal(out):
    """Dynamic addresses differ from run to run."""
    return re.sub(r"reply_to='[^']*'", "reply_to='X'", out)


def wait_listening(port, limit=20):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"nothing listens on {port}")


def both(proton, muon_, *args, limit=60):
    results = []
    for argv in (proton, muon_):
        p = start(argv + list(args))
        results.append(p.wait(limit))
    return results


def test_helloworld(copies, broker):
    proton, ours = copies("helloworld", "localhost:5672", broker)
    p, m = both(proton, ours)
    assert p[:2] == m[:2] == (0, "Hello World!\n"), (p, m)


def test_helloworld_direct(copies):
    port = free_port()
    proton, ours = copies("helloworld_direct", "8888", port)
    p, m = both(proton, ours)
    assert p[:2] == m[:2] == (0, "Hello World!\n"), (p, m)


def test_simple_send_and_recv(copies, broker, queue):
    send = copies("simple_send")
    recv = copies("simple_recv")
    outputs = []
    for i in (0, 1):
        q = f"{broker}/{queue}-{i}"
        s = start(send[i] + ["-a", q, "-m", "100"]).wait()
        r = start(recv[i] + ["-a", q, "-m", "100"]).wait()
        outputs.append((s[:2], r[:2]))
    want = "".join("{'sequence': %d}\n" % n for n in range(1, 101))
    assert outputs[0] == outputs[1] == ((0, "all messages confirmed\n"), (0, want))


def test_server_and_client(copies, broker, queue):
    server = copies("server")
    client = copies("client")
    outputs = []
    for i in (0, 1):
        q = f"{broker}/{queue}-{i}"
        s = start(server[i] + ["-a", q])
        first = s.readline()
        c = start(client[i] + ["-a", q]).wait()
        time.sleep(0.2)
        s.p.send_signal(2)
        rc, out, err = s.wait()
        outputs.append((first.replace(q, "QUEUE"), c[:2], normal(out)))
    assert outputs[0] == outputs[1], outputs
    assert outputs[1][1][0] == 0 and "TWAS BRILLIG" in outputs[1][1][1]


def test_server_direct_and_client(copies):
    outputs = []
    for i in (0, 1):
        port = free_port()
        server = copies("server_direct", "8888", port)
        client = copies("client")
        s = start(server[i])
        first = s.readline()
        c = start(client[i] + ["-a", f"localhost:{port}/examples"]).wait()
        time.sleep(0.2)
        s.p.send_signal(2)
        rc, out, err = s.wait()
        outputs.append((first.replace(str(port), "PORT"), c[:2], normal(out)))
    assert outputs[0] == outputs[1], outputs
    assert "Received Message(" in outputs[1][2]


@pytest.mark.parametrize("listener,connector", [("direct_send", "simple_recv"),
                                                ("direct_recv", "simple_send")])
def test_direct_pairs(copies, listener, connector):
    lis = copies(listener)
    con = copies(connector)
    outputs = []
    for i in (0, 1):
        port = free_port()
        url = f"localhost:{port}/examples"
        d = start(lis[i] + ["-a", url, "-m", "100"])
        wait_listening(port)
        c = start(con[i] + ["-a", url, "-m", "100"]).wait()
        outputs.append((d.wait()[:2], c[:2]))
    assert outputs[0] == outputs[1], outputs
    assert outputs[1][0][0] == 0 and outputs[1][1][0] == 0
