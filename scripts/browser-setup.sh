#!/usr/bin/env bash
# Installs what the status-page browser test needs: Debian's Chromium and playwright-core
# (npm, into target/browser; it drives the system Chromium and downloads no browser).
set -euo pipefail
cd "$(dirname "$0")/.."
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
if [ ! -x /usr/bin/chromium ]; then
  echo "browser-setup: installing chromium (Debian package)" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if ! command -v node >/dev/null; then
  echo "browser-setup: installing nodejs and npm (Debian packages)" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
if [ ! -d target/browser/node_modules/playwright-core ]; then
  echo "browser-setup: installing playwright-core (npm)" >&2
  mkdir -p target/browser
  npm install --silent --no-audit --no-fund --prefix target/browser playwright-core@1 >/dev/null
fi
