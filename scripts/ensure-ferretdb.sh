#!/usr/bin/env bash
# Builds FerretDB v1.24.2 (SQLite backend) with the machine's Go, once, into a cache outside the repo.
# Tests use it as their MongoDB-wire server when MONGODB_URI is not set.
# `go install ...@v1.24.2` yields a binary that panics at start: FerretDB's version check wants
# build/version/version.txt, which release builds generate and the module zip lacks. So the module
# source (from the Go module proxy) is copied, that one file written, and built via a replace.
set -euo pipefail
VERSION=v1.24.2
CACHE_DIR="${AUTHTOKEN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/authtoken-server}"
BIN="$CACHE_DIR/ferretdb-$VERSION/ferretdb"
if [ -x "$BIN" ] && "$BIN" --version >/dev/null 2>&1; then
  echo "$BIN"
  exit 0
fi
command -v go >/dev/null || { echo "go is required to build FerretDB (or set MONGODB_URI to a MongoDB server)" >&2; exit 1; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$(dirname "$BIN")"
(
  cd "$WORK"
  go mod init authtoken-ferretdb-build >/dev/null 2>&1
  go mod download -json "github.com/FerretDB/FerretDB@$VERSION" > download.json
  SRC="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' download.json)"
  cp -r "$SRC" ferretdb-src
  chmod -R u+w ferretdb-src
  echo "$VERSION" > ferretdb-src/build/version/version.txt
  go mod edit -replace "github.com/FerretDB/FerretDB=./ferretdb-src"
  go get -tool "github.com/FerretDB/FerretDB/cmd/ferretdb@$VERSION" >&2
  go build -o "$BIN" github.com/FerretDB/FerretDB/cmd/ferretdb >&2
)
"$BIN" --version >/dev/null
echo "$BIN"
