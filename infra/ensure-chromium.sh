#!/usr/bin/env bash
# The browser tests drive Debian's Chromium through playwright-core (no browser download). Installs it when missing
# and we may (root with apt-get); otherwise says how.
set -euo pipefail
command -v chromium >/dev/null 2>&1 && exit 0
[ -n "${CHROMIUM_PATH:-}" ] && [ -x "$CHROMIUM_PATH" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the status-page browser tests" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
else
  echo "the browser tests need Chromium: sudo apt-get install chromium (or set CHROMIUM_PATH)" >&2
  exit 1
fi
