#!/usr/bin/env bash
# Installs the interop suite's peers from Debian's packages: the ones named
# on the command line that are not installed yet. Run by tests/interop.rs
# when a peer is missing (and by scripts/interop); .ci/run installs the same
# packages up front.
#
# Installing rabbitmq-server makes Debian start (and enable) its system
# service on the standard port 5672. The suite never uses that service, so
# when this script is what installed the package, it stops and disables
# the service again; it touches nothing it did not install.
set -euo pipefail

missing=()
for p in "$@"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if sudo -n true 2>/dev/null; then
        sudo="sudo -n"
    else
        echo "cannot install ${missing[*]}: not root and no password-less sudo" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
echo "installing ${missing[*]}" >&2
if ! $sudo apt-get install -y -q "${missing[@]}" >&2; then
    $sudo apt-get update -q >&2
    $sudo apt-get install -y -q "${missing[@]}" >&2
fi

for p in "${missing[@]}"; do
    if [ "$p" = rabbitmq-server ]; then
        if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
            $sudo systemctl disable --now rabbitmq-server >&2 || true
        elif command -v service >/dev/null 2>&1; then
            $sudo service rabbitmq-server stop >&2 || true
        fi
    fi
done
