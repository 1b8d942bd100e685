#!/usr/bin/env bash
# The main job on a fresh machine, no service set up by hand: build the
# `s3ec` command line, then a real encrypted put, an inspect and an
# authenticated get of FILE (default README.md) against the local folder
# store (a folder that stands in for S3), and check the round trip.
#
#   scripts/demo.sh [FILE]
#
# The same commands run against S3 or any S3-compatible endpoint without
# S3EC_LOCAL_STORE (see README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
file="${1:-README.md}"
cargo build --release -q -p s3ec-cli --bin s3ec
s3ec="$PWD/target/release/s3ec"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export S3EC_LOCAL_STORE="$work/store"
name="$(basename "$file")"

run() { printf '$ %s\n' "$*" | sed "s|$s3ec|s3ec|; s|$work|\$WORK|g"; "$@"; }

run "$s3ec" keygen aes --out "$work/demo.key"
run "$s3ec" cp --aes-key-file "$work/demo.key" "$file" "s3://demo-bucket/docs/$name"
run "$s3ec" ls s3://demo-bucket/docs/
run "$s3ec" inspect "s3://demo-bucket/docs/$name"
run "$s3ec" cp --aes-key-file "$work/demo.key" "s3://demo-bucket/docs/$name" "$work/$name.back"
run cmp "$file" "$work/$name.back"
echo "round trip OK: $file -> encrypted object ($(wc -c <"$S3EC_LOCAL_STORE/demo-bucket/docs/$name") bytes) -> $(wc -c <"$work/$name.back") bytes, identical"
