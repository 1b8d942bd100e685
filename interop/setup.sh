#!/usr/bin/env bash
# Install the interop peers (idempotent). See interop/README.md.
#
#   Python: amazon-s3-encryption-client-python (PyPI) in <root>/.venv-peers
#   Ruby:   Debian ruby-aws-sdk-s3 + ruby-aws-sdk-kms (aws-sdk-s3 1.117.2)
#   Go:     Debian golang-go + golang-github-aws-aws-sdk-go-dev (aws-sdk-go 1.44.133),
#           built offline into <root>/target/interop/go-driver
#   moto:   moto[server]==5.2.5 in <root>/.venv (the same venv s3ec-testkit uses)
#
# Environment:
#   S3EC_INTEROP_PEERS  which peers to set up (default "python ruby go")
#   S3EC_PEERS_VENV     the Python peer's venv (default <root>/.venv-peers)
#   S3EC_VENV           moto's venv (default <root>/.venv)
#   S3EC_PYTHON         the Python used to create venvs (default python3)
#   S3EC_INTEROP_OUT    where built drivers go (default <root>/target/interop)
#   S3EC_NO_APT=1       do not run apt-get (fail if the Debian packages are missing)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PEERS="${S3EC_INTEROP_PEERS:-python ruby go}"
PEERS_VENV="${S3EC_PEERS_VENV:-$ROOT/.venv-peers}"
MOTO_VENV="${S3EC_VENV:-$ROOT/.venv}"
PYTHON="${S3EC_PYTHON:-python3}"
OUT="${S3EC_INTEROP_OUT:-$ROOT/target/interop}"

PY_S3EC_VERSION="4.0.0"
MOTO_VERSION="5.2.5"

say() { printf 'interop/setup: %s\n' "$*" >&2; }
die() { printf 'interop/setup: ERROR: %s\n' "$*" >&2; exit 1; }
has() { [[ " $PEERS " == *" $1 "* ]]; }

START=$(date +%s)

# ---------------------------------------------------------------- Debian packages
APT_PKGS=()
has ruby && APT_PKGS+=(ruby ruby-aws-sdk-s3 ruby-aws-sdk-kms)
has go && APT_PKGS+=(golang-go golang-github-aws-aws-sdk-go-dev)
if ((${#APT_PKGS[@]})); then
  missing=()
  for p in "${APT_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    [[ "${S3EC_NO_APT:-}" == 1 ]] && die "missing Debian packages: ${missing[*]} (and S3EC_NO_APT=1)"
    SUDO=""
    if [[ $(id -u) != 0 ]]; then
      command -v sudo >/dev/null || die "need root (or sudo) to apt-get install ${missing[*]}"
      SUDO="sudo"
    fi
    say "apt-get update"
    $SUDO apt-get update -qq || die "apt-get update failed"
    say "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
      || die "apt-get install ${missing[*]} failed"
  else
    say "Debian packages present: ${APT_PKGS[*]}"
  fi
fi

# ---------------------------------------------------------------- moto (shared S3 + KMS)
mkvenv() {
  local dir="$1"
  if [[ ! -x "$dir/bin/python" ]]; then
    say "creating virtualenv $dir with $PYTHON"
    "$PYTHON" -m venv "$dir" || die "'$PYTHON -m venv $dir' failed"
  fi
}
mkvenv "$MOTO_VENV"
if [[ -f "$MOTO_VENV/.s3ec-moto-$MOTO_VERSION" ]] && "$MOTO_VENV/bin/python" -c 'import moto.server' 2>/dev/null; then
  say "moto $MOTO_VERSION present in $MOTO_VENV"
else
  say "pip install moto[server]==$MOTO_VERSION into $MOTO_VENV"
  "$MOTO_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" \
    || die "pip install moto[server]==$MOTO_VERSION failed (can pip reach PyPI?)"
  touch "$MOTO_VENV/.s3ec-moto-$MOTO_VERSION"
fi

# ---------------------------------------------------------------- Python peer
if has python; then
  mkvenv "$PEERS_VENV"
  if "$PEERS_VENV/bin/python" - "$PY_S3EC_VERSION" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
sys.exit(0 if version("amazon-s3-encryption-client-python") == sys.argv[1] else 1)
PY
  then
    say "amazon-s3-encryption-client-python $PY_S3EC_VERSION present in $PEERS_VENV"
  else
    say "pip install amazon-s3-encryption-client-python==$PY_S3EC_VERSION into $PEERS_VENV"
    "$PEERS_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
      "amazon-s3-encryption-client-python==$PY_S3EC_VERSION" \
      || die "pip install amazon-s3-encryption-client-python==$PY_S3EC_VERSION failed"
  fi
fi

# ---------------------------------------------------------------- Ruby peer
if has ruby; then
  command -v ruby >/dev/null || die "ruby not found after install"
  ver=$(ruby -e 'require "aws-sdk-s3"; require "aws-sdk-kms"; print Aws::S3::GEM_VERSION' 2>&1) \
    || die "ruby cannot load aws-sdk-s3/aws-sdk-kms: $ver"
  say "ruby $(ruby -e 'print RUBY_VERSION') with aws-sdk-s3 $ver"
fi

# ---------------------------------------------------------------- Go peer
if has go; then
  command -v go >/dev/null || die "go not found after install"
  SDK=/usr/share/gocode/src/github.com/aws/aws-sdk-go
  [[ -d "$SDK/service/s3/s3crypto" ]] || die "$SDK/service/s3/s3crypto missing (golang-github-aws-aws-sdk-go-dev)"
  mkdir -p "$OUT"
  say "go build (offline, GOPATH mode over Debian's $SDK) -> $OUT/go-driver"
  (
    cd "$HERE/go"
    # Debian ships Go libraries as a GOPATH tree (/usr/share/gocode/src), not as a module
    # cache: module mode would need the whole module graph of aws-sdk-go's go.mod
    # (go-jmespath's internal/testify, x/net's requirements, ...), which Debian does not
    # ship. GOPATH mode builds from those sources alone; GOPROXY=off and
    # GOTOOLCHAIN=local make sure nothing is ever fetched.
    export GO111MODULE=off GOFLAGS= GOPROXY=off GOTOOLCHAIN=local
    export GOPATH="$OUT/gopath:/usr/share/gocode" GOCACHE="$OUT/gocache"
    go build -o "$OUT/go-driver" .
  ) || die "go build of interop/go failed"
fi

say "done in $(( $(date +%s) - START ))s"
