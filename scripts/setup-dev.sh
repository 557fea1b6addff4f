#!/usr/bin/env bash
# Install everything the test suite needs: Python packages, Chromium, Xvfb, xdotool
# and nginx (Debian packages, when run as root with apt), and the benchmark's Node modules.
# Idempotent: re-running it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
python3 -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e . 2>/dev/null \
  || python3 -m pip install --quiet --disable-pip-version-check --no-deps -e .

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v Xvfb >/dev/null 2>&1 || need_apt+=(xvfb)
command -v xdotool >/dev/null 2>&1 || need_apt+=(xdotool)
command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || need_apt+=(nginx-light)
python3 -c "import tkinter" 2>/dev/null || need_apt+=(libtk8.6)   # the Tk example's test
if ((${#need_apt[@]})); then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${need_apt[*]} from Debian" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "setup: ${need_apt[*]} missing and cannot apt-get install (not root); browser/desktop tests will skip" >&2
  fi
fi

if [[ -f bench/package-lock.json ]] && command -v npm >/dev/null 2>&1; then
  if [[ ! -d bench/node_modules ]] || [[ bench/package-lock.json -nt bench/node_modules ]]; then
    # better-sqlite3 (the durable peer) compiles from source: point node-gyp at the installed
    # Node headers instead of downloading them (the registries are all this machine reaches)
    [[ -d /usr/include/node ]] && export npm_config_nodedir=/usr
    (cd bench && npm ci --silent --no-audit --no-fund)
  fi
fi
