#!/usr/bin/env bash
# Installs what jobpulse needs to build and test, skipping whatever is already there:
# the wasm32 target, cargo-leptos, the wasm-bindgen CLI matching Cargo.lock, binaryen's wasm-opt
# (from npm, into tools/), Chromium, and the end-to-end test packages. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION=0.3.11
say() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=
apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ -z "$apt_updated" ]; then
    say "apt-get update"
    as_root apt-get update -qq
    apt_updated=1
  fi
  say "installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

if ! command -v cargo >/dev/null; then
  echo "Rust is not installed: see https://rustup.rs, then run this again." >&2
  exit 1
fi
export PATH="$HOME/.cargo/bin:$PATH"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  # cargo-leptos' locked dependencies need a newer rustc than stable here; nightly builds it.
  if ! rustup toolchain list | grep -q '^nightly'; then
    say "installing the nightly toolchain (to build cargo-leptos)"
    rustup toolchain install nightly --profile minimal
  fi
  say "building cargo-leptos $CARGO_LEPTOS_VERSION (about 13 minutes, once per machine)"
  cargo +nightly install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
fi

wasm_bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q "$wasm_bindgen_version"; then
  say "building wasm-bindgen-cli $wasm_bindgen_version (matches Cargo.lock)"
  # Not --locked: its own lock names a webpki-roots release the registry no longer has.
  cargo install wasm-bindgen-cli --version "$wasm_bindgen_version" --force
fi

apt_install chromium
if ! command -v node >/dev/null; then
  apt_install nodejs npm
fi

# wasm-opt optimises the release bundle. Debian's binaryen (108) predates the reference types
# wasm-bindgen 0.2.130 emits: the bundle it writes fails in the browser ("WebAssembly.Table.set():
# Argument 1 is invalid for table"). binaryen's own npm release (its official JS/Wasm build) is
# current; scripts/run.sh and scripts/test.sh put tools/node_modules/.bin first on PATH.
if [ ! -x tools/node_modules/.bin/wasm-opt ] || [ tools/package-lock.json -nt tools/node_modules/.package-lock.json ]; then
  say "installing binaryen (wasm-opt) into tools/"
  (cd tools && npm ci --no-audit --no-fund)
fi

if [ ! -d end2end/node_modules/@playwright/test ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
  say "installing the end-to-end test packages"
  (cd end2end && npm ci --no-audit --no-fund)
fi
# The tests need PostgreSQL on 127.0.0.1:5432 (trust auth). Start it if it is installed but stopped.
if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if command -v pg_ctlcluster >/dev/null; then
    say "starting PostgreSQL"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  fi
fi
if ! command -v psql >/dev/null; then
  apt_install postgresql-client
fi
say "setup complete"
