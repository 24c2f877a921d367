#!/usr/bin/env bash
# Sets up what is missing and runs every test: formatting and lints, the Rust unit, integration and
# store-conformance tests, then the Playwright suite in Chromium against the real server.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
say() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }

say "cargo fmt --check"
cargo fmt --all -- --check
say "clippy (server)"
cargo clippy --features ssr --all-targets -- -D warnings
say "clippy (browser)"
cargo clippy --features hydrate --target wasm32-unknown-unknown -- -D warnings

say "Rust tests"
cargo test --features ssr

say "building the site for the end-to-end tests"
cargo leptos build
say "Playwright"
(cd end2end && npx playwright test)
say "all tests passed"
