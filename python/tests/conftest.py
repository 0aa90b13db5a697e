"""Shared fixtures: the peers tests/python.rs built and started (their paths
and addresses come in environment variables), and helpers to run programs
with time limits. A missing peer is a failure, never a skip."""

import os
import select
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import List, Optional, Tuple

import pytest

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "examples"
PROTON_PYTHON = "/usr/bin/python3"
PROTON_EXAMPLES = Path("/usr/share/proton/examples/python")


def need(var: str) -> str:
    value = os.environ.get(var)
    if not value:
        pytest.fail(f"{var} is not set: run these tests through `cargo test --test python` "
                    "(tests/python.rs builds and starts the peers)")
    return value


def c_program(name: str) -> str:
    return need("MUON_C_" + name.upper())


@pytest.fixture(scope="session")
def broker() -> str:
    """host:port of the example broker tests/python.rs started."""
    return need("MUON_TEST_BROKER")


@pytest.fixture(scope="session")
def proxy() -> str:
    """host:port of the fault-injecting proxy in front of that broker."""
    return need("MUON_TEST_PROXY")


@pytest.fixture(scope="session")
def rabbitmq() -> str:
    """127.0.0.1:port of the private RabbitMQ 3.10 node tests/python.rs
    started (AMQP 1.0 through its rabbitmq_amqp1_0 plugin; users as in
    tests/interop/rabbitmq.conf.in)."""
    return need("MUON_TEST_RABBITMQ")


@pytest.fixture
def queue() -> str:
    """An address of this test's own."""
    return "q-" + uuid.uuid4().hex[:12]


class Proc:
    """A started program whose output is read when it is waited for."""

    def __init__(self, argv: List[str], cwd: Optional[Path] = None,
                 env: Optional[dict] = None) -> None:
        self.argv = argv
        # Unbuffered bytes: readline() must not read ahead of what wait() gets.
        self.p = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, bufsize=0)

    def wait(self, limit: float = 60) -> Tuple[int, str, str]:
        try:
            out, err = self.p.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            self.p.kill()
            out, err = self.p.communicate()
            pytest.fail(f"{self.argv} did not end within {limit} s:\n{out.decode()}\n"
                        f"{err.decode()}")
        return self.p.returncode, out.decode(), err.decode()

    def readline(self, limit: float = 20) -> str:
        """The next line of stdout (for 'listening on PORT')."""
        deadline = time.monotonic() + limit
        line = b""
        while not line.endswith(b"\n"):
            ready, _, _ = select.select([self.p.stdout], [], [], max(0, deadline - time.monotonic()))
            if not ready:
                pytest.fail(f"{self.argv}: no line of output within {limit} s")
            c = self.p.stdout.read(1)
            if not c:
                break
            line += c
        return line.decode().rstrip("\n")

    def kill(self) -> None:
        if self.p.poll() is None:
            self.p.kill()
            self.p.communicate()


def py_example(name: str, *args: str) -> List[str]:
    return [sys.executable, str(EXAMPLES / f"{name}.py"), *args]


def start(argv: List[str], **kw) -> Proc:
    return Proc(argv, **kw)


def run(argv: List[str], limit: float = 60, **kw) -> Tuple[int, str, str]:
    return Proc(argv, **kw).wait(limit)


@pytest.fixture
def procs():
    """Programs a test started, killed at its end if still running."""
    started: List[Proc] = []
    yield started
    for p in started:
        p.kill()
