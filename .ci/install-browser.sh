#!/usr/bin/env bash
# Install Debian's Chromium for the real-browser dashboard tests (tests/test_dashboard_browser.py).
# Idempotent: does nothing when a chromium is already on PATH. Needs root (apt-get).
# Playwright drives this system browser (executable_path=/usr/bin/chromium); it never downloads one,
# so `playwright install` is not needed, and neither is chromedriver.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
    echo "chromium already installed: $(command -v chromium)"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends chromium fonts-dejavu-core
command -v chromium
chromium --version || true
