#!/bin/sh
# tools/setup.sh: make sure the system packages the test suite needs are installed.
#
#   - chromium            (/usr/bin/chromium, driven by npm:playwright-core in browser tests)
#   - python3-websockets  (importable by /usr/bin/python3: the Python interop peer)
#   - tmux                (a real terminal for the command-line tool's interactive tests)
#
# Idempotent and fast (a few tens of ms) when everything is present. Missing packages are
# installed with apt-get when running as root; otherwise a message says what to install and the
# script exits 0 (the tests that need the package then fail with their own clear message).
#
# openssl is NOT needed: the TLS fixtures in tests/fixtures/tls/ are committed
# (tests/fixtures/tls/make.sh regenerates them by hand).
#
# Usage: sh tools/setup.sh        (run by `deno task test` and .ci/run)

PACKAGES="chromium python3-websockets tmux"

missing=""
if [ ! -x /usr/bin/chromium ]; then
  missing="chromium"
fi
if ! /usr/bin/python3 -c 'import websockets' >/dev/null 2>&1; then
  missing="${missing:+$missing }python3-websockets"
fi
if ! command -v tmux >/dev/null 2>&1; then
  missing="${missing:+$missing }tmux"
fi

[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "tools/setup.sh: missing system packages: $missing" >&2
  echo "tools/setup.sh: install them as root with:" >&2
  echo "    apt-get update && apt-get install -y $PACKAGES" >&2
  echo "tools/setup.sh: continuing; the browser / Python interop / terminal tests will fail until then." >&2
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "tools/setup.sh: missing: $missing, and apt-get is not available (not Debian?)." >&2
  echo "tools/setup.sh: install Chromium at /usr/bin/chromium and the Python 'websockets'" >&2
  echo "tools/setup.sh: package for /usr/bin/python3 by hand; continuing." >&2
  exit 0
fi

echo "tools/setup.sh: installing $PACKAGES (missing: $missing)" >&2
export DEBIAN_FRONTEND=noninteractive
# DPkg::Lock::Timeout: another process may be running apt on the same machine.
if apt-get -o DPkg::Lock::Timeout=300 update -q >/dev/null &&
  apt-get -o DPkg::Lock::Timeout=300 install -y -q $PACKAGES >/dev/null; then
  echo "tools/setup.sh: installed $PACKAGES" >&2
else
  echo "tools/setup.sh: WARNING: apt-get failed to install $PACKAGES;" >&2
  echo "tools/setup.sh: the browser / Python interop / terminal tests will fail until they are installed." >&2
fi
exit 0
