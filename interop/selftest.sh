#!/usr/bin/env bash
# Install the peers (interop/setup.sh) and run the drivers' self-test against a fresh
# moto server (or S3EC_MOTO_ENDPOINT): own round trips per peer and mode, then the
# cross-peer matrix. Extra arguments go to selftest.py (--report FILE, --jobs N,
# --peers python,ruby,go). S3EC_INTEROP_SKIP_SETUP=1 skips the install step.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
if [[ "${S3EC_INTEROP_SKIP_SETUP:-}" != 1 ]]; then
  bash "$HERE/setup.sh"
fi
exec "${S3EC_VENV:-$ROOT/.venv}/bin/python" "$HERE/selftest.py" "$@"
