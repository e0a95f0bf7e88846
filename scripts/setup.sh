#!/usr/bin/env bash
# Set up everything the server needs on Debian (run as root): system packages, then a
# virtual environment in .venv with requirements.txt. Safe to run again.
#   bash scripts/setup.sh          # to run the server
#   bash scripts/setup.sh --test   # also what the tests need (redis-server, chromium for
#                                  # the browser tests, zbar and tesseract to read tickets)
set -euo pipefail
cd "$(dirname "$0")/.."

# espeak-ng voices the announcements; DejaVu draws the printed tickets.
packages="python3 python3-venv python3-pip ca-certificates espeak-ng fonts-dejavu-core"
if [ "${1:-}" = "--test" ]; then
  packages="$packages redis-server chromium zbar-tools tesseract-ocr tesseract-ocr-vie"
fi
if command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup.sh: run as root to install Debian packages ($packages)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends $packages >/dev/null
fi
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements.txt
echo "setup.sh: ready (.venv)"
