#!/usr/bin/env bash
# Sets up what is missing and runs every test: formatting and lints, the Rust unit, integration and
# store-conformance tests, the browser bundle's size budget, then the Playwright suite in Chromium
# against the release build that scripts/run.sh serves.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
say() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
# CI builds a clean checkout, where incremental caches only cost disk (gigabytes); set
# CARGO_INCREMENTAL=1 to keep them for repeated local runs.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
# The builds below need about 10 GB in target/; a full disk shows up as a linker crash, so say it first.
free_kb=$(df --output=avail -k . | tail -n 1 | tr -d ' ')
if [ "${free_kb:-0}" -lt $((12 * 1024 * 1024)) ]; then
  echo "warning: only $((free_kb / 1024)) MB free here; the build needs about 10 GB (linking may fail)." >&2
fi

say "cargo fmt --check"
cargo fmt --all -- --check
say "clippy (server)"
cargo clippy --features ssr --all-targets -- -D warnings
say "clippy (browser)"
cargo clippy --features hydrate --target wasm32-unknown-unknown -- -D warnings

# PostgreSQL: tests create their own databases (random names) on this server and drop them.
export JOBPULSE_TEST_POSTGRES_URL="${JOBPULSE_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
if ! pg_isready -q -d "$JOBPULSE_TEST_POSTGRES_URL/postgres"; then
  echo "PostgreSQL is not answering at $JOBPULSE_TEST_POSTGRES_URL: start it (or set JOBPULSE_TEST_POSTGRES_URL)." >&2
  exit 1
fi

say "Rust tests (SQLite and PostgreSQL)"
cargo test --features ssr
say "API tests again, every app on a fresh PostgreSQL database"
JOBPULSE_TEST_API_DATABASE=postgres cargo test --features ssr --test api

say "building the release site (what scripts/run.sh serves)"
cargo leptos build --release --precompress
say "browser bundle size"
scripts/bundle-size.sh
say "Playwright on SQLite (release build)"
(cd end2end && npx playwright test)

say "Playwright on PostgreSQL"
e2e_db="jobpulse_e2e_$(date +%s)_$$"
psql -q -d "$JOBPULSE_TEST_POSTGRES_URL/postgres" -c "CREATE DATABASE $e2e_db"
trap 'psql -q -d "$JOBPULSE_TEST_POSTGRES_URL/postgres" -c "DROP DATABASE IF EXISTS $e2e_db WITH (FORCE)" || true' EXIT
(cd end2end && JOBPULSE_DATABASE_URL="$JOBPULSE_TEST_POSTGRES_URL/$e2e_db" npx playwright test)
say "all tests passed"
