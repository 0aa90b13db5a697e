"""TLS through the connection keyword arguments (ca, cert, key): the Python
helloworld_direct over amqps:// with a CA and a server certificate made here
with the openssl CLI, and a client that does not trust that CA refused."""

import subprocess

import muon
from conftest import py_example, run


def make_pki(d):
    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=muon test CA")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    (d / "ext").write_text("subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext")
    return {k: str(d / f) for k, f in (("ca", "ca.pem"), ("cert", "server.pem"),
                                        ("key", "server.key"))}


def test_helloworld_direct_over_tls(tmp_path):
    pki = make_pki(tmp_path)
    rc, out, err = run(py_example("helloworld_direct", "-a", "amqps://localhost:0/examples",
                                  "--cert", pki["cert"], "--key", pki["key"],
                                  "--ca", pki["ca"]), 30)
    assert rc == 0 and out.endswith("Hello World!\n"), (out, err)


def test_untrusted_server_refused(tmp_path):
    pki = make_pki(tmp_path)
    conditions = []

    class Client:
        def on_disconnected(self, event):
            conditions.append(event.condition)
            acceptor.close()

    loop = muon.EventLoop()
    acceptor = loop.listen("amqps://localhost:0", cert=pki["cert"], key=pki["key"])
    loop.connect(f"amqps://localhost:{acceptor.port}", handler=Client())
    loop.run()
    assert conditions and "unknown certificate authority" in str(conditions[0]), conditions
