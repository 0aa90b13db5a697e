"""``python -m muon --version``: the package's and the C library's versions."""

import argparse
import sys

from . import LIBRARY_VERSION, __version__


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m muon",
                                description="muon: AMQP 1.0 for Python on muon's Rust engine")
    p.add_argument("--version", action="store_true", help="print the versions and exit")
    a = p.parse_args()
    if a.version:
        print(f"muon {__version__} (library {LIBRARY_VERSION}, Python "
              f"{sys.version_info.major}.{sys.version_info.minor})")
        return 0
    p.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
