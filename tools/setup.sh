#!/bin/sh
# tools/setup.sh: make sure the system packages the test suite needs are installed.
#
#   - chromium            (/usr/bin/chromium, driven by npm:playwright-core in browser tests)
#   - python3-websockets  (importable by /usr/bin/python3: the Python interop peer)
#   - tinyproxy           (/usr/bin/tinyproxy: the HTTP CONNECT proxy of the proxy tests)
#   - dante-server        (/usr/sbin/danted: the SOCKS5 proxy of the proxy tests)
#   - tmux                (a real terminal for the command-line tool's interactive tests)
#   - redis-server        (/usr/bin/redis-server: the Redis backplane's tests start their own)
#
# and the system user `wsproxytest` (no home, no login shell, password "ws-proxy-pass"), whose
# password danted checks in the SOCKS5 username/password tests (danted's `socksmethod: username`
# authenticates against the system's users only). It exists for those tests alone.
#
# The proxies and Redis are started by the tests themselves, on free loopback ports, and stopped
# by PID; installing the packages starts no service here (Debian's policy-rc.d in containers), and
# when it does elsewhere (redis-server's own on port 6379, say), the tests do not use it.
#
# Idempotent and fast (a few tens of ms) when everything is present. Missing packages are
# installed with apt-get when running as root; otherwise a message says what to install and the
# script exits 0 (the tests that need the package then fail with their own clear message).
#
# openssl is NOT needed: the TLS fixtures in tests/fixtures/tls/ are committed
# (tests/fixtures/tls/make.sh regenerates them by hand).
#
# Usage: sh tools/setup.sh        (run by `deno task test` and .ci/run)

PACKAGES="chromium python3-websockets tinyproxy dante-server tmux redis-server"
SOCKS_USER=wsproxytest
SOCKS_PASSWORD=ws-proxy-pass

missing=""
if [ ! -x /usr/bin/chromium ]; then
  missing="chromium"
fi
if ! /usr/bin/python3 -c 'import websockets' >/dev/null 2>&1; then
  missing="${missing:+$missing }python3-websockets"
fi
if [ ! -x /usr/bin/tinyproxy ]; then
  missing="${missing:+$missing }tinyproxy"
fi
if [ ! -x /usr/sbin/danted ]; then
  missing="${missing:+$missing }dante-server"
fi
if ! command -v tmux >/dev/null 2>&1; then
  missing="${missing:+$missing }tmux"
fi
if [ ! -x /usr/bin/redis-server ]; then
  missing="${missing:+$missing }redis-server"
fi

have_user() { id "$SOCKS_USER" >/dev/null 2>&1; }

[ -z "$missing" ] && have_user && exit 0

if [ "$(id -u)" != 0 ]; then
  if [ -n "$missing" ]; then
    echo "tools/setup.sh: missing system packages: $missing" >&2
    echo "tools/setup.sh: install them as root with:" >&2
    echo "    apt-get update && apt-get install -y $PACKAGES" >&2
  fi
  if ! have_user; then
    echo "tools/setup.sh: missing the SOCKS test user $SOCKS_USER; run this script as root" >&2
  fi
  echo "tools/setup.sh: continuing; the browser / Python / proxy / terminal / Redis tests will fail until then." >&2
  exit 0
fi

if [ -n "$missing" ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "tools/setup.sh: missing: $missing, and apt-get is not available (not Debian?)." >&2
    echo "tools/setup.sh: install Chromium at /usr/bin/chromium, the Python 'websockets'" >&2
    echo "tools/setup.sh: package for /usr/bin/python3, tinyproxy, dante-server (danted), tmux" >&2
    echo "tools/setup.sh: and redis-server (/usr/bin/redis-server)" >&2
    echo "tools/setup.sh: by hand; continuing." >&2
  else
    echo "tools/setup.sh: installing $missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    # DPkg::Lock::Timeout: another process may be running apt on the same machine.
    if apt-get -o DPkg::Lock::Timeout=300 update -q >/dev/null &&
      apt-get -o DPkg::Lock::Timeout=300 install -y -q $missing >/dev/null; then
      echo "tools/setup.sh: installed $missing" >&2
    else
      echo "tools/setup.sh: WARNING: apt-get failed to install $missing;" >&2
      echo "tools/setup.sh: the tests that need them will fail until they are installed." >&2
    fi
  fi
fi

if ! have_user; then
  if useradd --system --no-create-home --shell /usr/sbin/nologin "$SOCKS_USER" &&
    echo "$SOCKS_USER:$SOCKS_PASSWORD" | chpasswd; then
    echo "tools/setup.sh: created the SOCKS test user $SOCKS_USER" >&2
  else
    echo "tools/setup.sh: WARNING: could not create the SOCKS test user $SOCKS_USER" >&2
  fi
fi
exit 0
