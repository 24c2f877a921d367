#!/usr/bin/env bash
# Sets up what is missing, builds the release, and serves jobpulse on SQLite (data/) with the demo
# tenant. It prints the URL and how to log in. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# --precompress writes brotli and gzip copies of the bundle, which the server sends as they are.
cargo leptos build --release --precompress
exec target/release/jobpulse serve
