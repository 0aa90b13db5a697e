"""Builds the `muon._muon` extension: cargo builds libmuon.a (release) from the
repository this directory is part of, and cffi (API mode) compiles a small C
module over include/muon.h that links it statically, so the wheel needs no
libmuon installed on the system."""

import os
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


class CargoThenCffi(build_ext):
    """Runs `cargo build --release --lib` before compiling the extension."""

    def run(self) -> None:
        repo = HERE.parent
        if not (repo / "Cargo.toml").exists():
            raise RuntimeError(
                f"muon's Rust sources are not at {repo}: build from a checkout of the repository"
            )
        cargo = os.environ.get("CARGO", "cargo")
        cmd = [cargo, "build", "--release", "--lib", "--manifest-path", str(repo / "Cargo.toml")]
        print("muon: " + " ".join(cmd), flush=True)
        try:
            subprocess.run(cmd, check=True)
        except FileNotFoundError as e:
            raise RuntimeError(
                "building muon needs a Rust toolchain (cargo) on PATH, 1.88 or newer"
            ) from e
        super().run()


setup(
    cffi_modules=["muon_build.py:ffibuilder"],
    cmdclass={"build_ext": CargoThenCffi},
)
