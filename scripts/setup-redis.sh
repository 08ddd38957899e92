#!/usr/bin/env bash
# Installs Debian's redis-server when the machine lacks one: the stream
# scorers (`handscan serve`) run against Redis or Valkey, and their tests and
# benchmark start their own redis-server processes on free localhost ports
# (test/support/redis.ts). The package's service is never started: starts
# are denied while it installs (policy-rc.d), and on a systemd machine the
# unit is left disabled, so no system-wide Redis appears.
# Idempotent: installs nothing that is already there.
set -euo pipefail

if command -v redis-server >/dev/null; then
  echo "setup: $(redis-server --version | cut -d' ' -f1-3) is installed"
  exit 0
fi

if ! command -v apt-get >/dev/null; then
  echo "setup: no redis-server found. Install Redis >= 6.2 or Valkey (its redis-server binary on PATH), e.g. from your distribution's packages." >&2
  exit 1
fi

sudo_=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then sudo_="sudo"; else
    echo "setup: need root to run: apt-get install redis-server" >&2; exit 1
  fi
fi

policy=/usr/sbin/policy-rc.d
denied=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo_ tee "$policy" >/dev/null
  $sudo_ chmod 755 "$policy"
  denied=1
fi
trap 'if [ -n "$denied" ]; then $sudo_ rm -f "$policy"; fi' EXIT

echo "setup: installing redis-server (its system service is not started)"
$sudo_ apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq --no-install-recommends redis-server >/dev/null
if [ "$(ps -p 1 -o comm= 2>/dev/null)" = "systemd" ]; then
  $sudo_ systemctl disable --quiet redis-server.service 2>/dev/null || true
fi
echo "setup: installed $(redis-server --version | cut -d' ' -f1-3)"
