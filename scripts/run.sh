#!/usr/bin/env bash
# Sets up what is missing, builds the release, and serves jobpulse on SQLite (data/) with the demo
# tenant. It prints the URL and how to log in. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo leptos build --release
exec target/release/jobpulse serve
