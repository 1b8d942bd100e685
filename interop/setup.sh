#!/usr/bin/env bash
# Install the interop peers (idempotent). See interop/README.md.
#
#   Python: amazon-s3-encryption-client-python (PyPI) in <root>/.venv-peers
#   Ruby:   Debian ruby-aws-sdk-s3 + ruby-aws-sdk-kms (aws-sdk-s3 1.117.2)
#   Go:     Debian golang-go + golang-github-aws-aws-sdk-go-dev (aws-sdk-go 1.44.133),
#           built offline into <root>/target/interop/go-driver
#   go-v4:  github.com/aws/amazon-s3-encryption-client-go/v4 (interop/go-v4/go.mod + go.sum),
#           module mode, modules cached in <root>/.interop-cache/go-mod,
#           built into <root>/target/interop/go-v4-driver
#   java3, java4: amazon-s3-encryption-client-java 3.x / 4.x (interop/java/s3ec/pom.xml,
#           profiles java3 / java4); java-v1: aws-java-sdk-s3 1.12.x (interop/java/v1/pom.xml);
#           Maven's repository in <root>/.interop-cache/m2, classes and classpath in
#           <root>/target/interop/java/<peer>/
#   moto:   moto[server]==5.2.5 in <root>/.venv (the same venv s3ec-testkit uses)
#
# Environment:
#   S3EC_INTEROP_PEERS  which peers to set up (default "python ruby go go-v4 java3 java4 java-v1")
#   S3EC_INTEROP_CACHE  Maven repository and Go module cache (default <root>/.interop-cache)
#   S3EC_PEERS_VENV     the Python peer's venv (default <root>/.venv-peers)
#   S3EC_VENV           moto's venv (default <root>/.venv)
#   S3EC_PYTHON         the Python used to create venvs (default python3)
#   S3EC_INTEROP_OUT    where built drivers go (default <root>/target/interop)
#   S3EC_NO_APT=1       do not run apt-get (fail if the Debian packages are missing)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PEERS="${S3EC_INTEROP_PEERS:-python ruby go go-v4 java3 java4 java-v1}"
CACHE="${S3EC_INTEROP_CACHE:-$ROOT/.interop-cache}"
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

# ---------------------------------------------------------------- Go v4 peer (module mode)
if has go-v4; then
  command -v go >/dev/null || die "go not found"
  mkdir -p "$OUT" "$CACHE"
  say "go build (module mode, $(go version | cut -d' ' -f3), interop/go-v4/go.mod) -> $OUT/go-v4-driver"
  (
    cd "$HERE/go-v4"
    # The Go first on PATH (1.24 or newer: go.mod says 1.24); -mod=readonly: go.mod and
    # go.sum are the pins, nothing is upgraded; modules come from the module proxy once
    # and stay in the cache.
    export GO111MODULE=on GOFLAGS="-mod=readonly -modcacherw" GOTOOLCHAIN=local
    export GOMODCACHE="$CACHE/go-mod" GOCACHE="$OUT/gocache-v4"
    go build -o "$OUT/go-v4-driver" .
  ) || die "go build of interop/go-v4 failed (can go reach the module proxy?)"
fi

# ---------------------------------------------------------------- Java peers (Maven)
java_build() { # peer pom [profile]
  local peer="$1" pom="$2" profile="${3:-}" dir="$OUT/java/$1"
  local stamp="$dir/.built"
  local newest
  newest=$(find "$(dirname "$pom")" "$HERE/java/common" -newer "$stamp" -type f 2>/dev/null | head -1 || true)
  if [[ -f "$stamp" && -f "$dir/classpath.txt" && -z "$newest" ]]; then
    say "$peer: built ($dir)"
    return
  fi
  say "$peer: mvn compile ($pom${profile:+ -P $profile}; repository $CACHE/m2)"
  mkdir -p "$CACHE/m2"
  mvn -B -q -Dmaven.repo.local="$CACHE/m2" -Dinterop.out="$OUT" ${profile:+-P "$profile"} -f "$pom" compile \
    || die "mvn compile of $pom failed for $peer (can mvn reach Maven Central?)"
  touch "$stamp"
}
if has java3 || has java4 || has java-v1; then
  command -v java >/dev/null || die "java not found"
  command -v mvn >/dev/null || die "mvn not found"
  has java3 && java_build java3 "$HERE/java/s3ec/pom.xml" java3
  has java4 && java_build java4 "$HERE/java/s3ec/pom.xml" java4
  has java-v1 && java_build java-v1 "$HERE/java/v1/pom.xml"
fi

say "done in $(( $(date +%s) - START ))s"
