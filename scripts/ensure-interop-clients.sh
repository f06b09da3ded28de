#!/usr/bin/env bash
# Builds the standard-client-library interop programs once, into a cache outside the repo:
#   go      test/interop/go (golang.org/x/oauth2, versions pinned by its go.mod/go.sum) -> a binary
# Prints the path of each one asked for (all when none is named), one a line, in that order.
# A change to the program or its pins gets a new cache entry (named by a hash of them); a failed build
# leaves nothing behind that a later run would take for finished.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE_DIR="${AUTHTOKEN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/authtoken-server}"
mkdir -p "$CACHE_DIR"

hash_of() {
  cat "$@" | sha256sum | cut -c1-16
}

ensure_go() {
  local src="$ROOT/test/interop/go"
  local bin="$CACHE_DIR/interop-go-$(hash_of "$src/go.mod" "$src/go.sum" "$src"/*.go)/interop"
  if [ ! -x "$bin" ]; then
    command -v go >/dev/null || { echo "go is required to build the golang.org/x/oauth2 interop client (test/interop/go)" >&2; exit 1; }
    mkdir -p "$(dirname "$bin")"
    (cd "$src" && GOFLAGS=-mod=readonly go build -trimpath -o "$bin.partial" .) >&2
    mv "$bin.partial" "$bin"
  fi
  echo "$bin"
}

clients=("$@")
[ "${#clients[@]}" -gt 0 ] || clients=(go)
for client in "${clients[@]}"; do
  case "$client" in
    go) ensure_go ;;
    *) echo "unknown interop client: $client (go)" >&2; exit 2 ;;
  esac
done
