#!/usr/bin/env bash
# Installs what a fresh machine (Node 20 and npm, as root) lacks: pnpm, the workspace's
# dependencies, and Debian's Chromium for the browser tests. Idempotent; .ci/run calls it too.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version)" != "12.4.2" ]; then
  npm install -g pnpm@12.4.2
fi
# Playwright never downloads a browser here: the tests launch /usr/bin/chromium.
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
  else
    echo "warning: /usr/bin/chromium is missing; run as root (apt-get install chromium) for the browser tests" >&2
  fi
fi
pnpm install --frozen-lockfile
