#!/usr/bin/env bash
# Builds the standard-client-library interop programs once, into a cache outside the repo:
#   go      test/interop/go (golang.org/x/oauth2, versions pinned by its go.mod/go.sum) -> a binary
#   python  a venv with test/interop/python/requirements.txt (authlib, requests; exact versions) -> its python
# Prints the path of each one asked for (`go`, `python`; both when none is named), one a line, in that order.
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
    (cd "$src" && GOFLAGS=-mod=readonly go build -o "$bin.partial" .) >&2
    mv "$bin.partial" "$bin"
  fi
  echo "$bin"
}

ensure_python() {
  local requirements="$ROOT/test/interop/python/requirements.txt"
  local venv="$CACHE_DIR/interop-python-$(hash_of "$requirements")"
  # A venv outlives nothing but its interpreter: after a Python upgrade it no longer starts, and is rebuilt.
  if [ ! -f "$venv/.complete" ] || ! "$venv/bin/python" -c 'import authlib, requests' >/dev/null 2>&1; then
    command -v python3 >/dev/null || { echo "python3 (3.9 or later, with venv and pip) is required for the authlib interop client" >&2; exit 1; }
    rm -rf "$venv"
    python3 -m venv "$venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input --only-binary=:all: -r "$requirements" >&2
    touch "$venv/.complete"
  fi
  echo "$venv/bin/python"
}

clients=("$@")
[ "${#clients[@]}" -gt 0 ] || clients=(go python)
for client in "${clients[@]}"; do
  case "$client" in
    go) ensure_go ;;
    python) ensure_python ;;
    *) echo "unknown interop client: $client (go, python)" >&2; exit 2 ;;
  esac
done
