#!/usr/bin/env bash
# Checks the release bundle against its size budget (README, "Benchmarks"): what a browser
# downloads before a page becomes interactive. Run after `cargo leptos build --release --precompress`.
set -euo pipefail
cd "$(dirname "$0")/.."
# Budgets in KiB, for the WebAssembly module (the bulk of it) and for everything in pkg/.
WASM_RAW_KIB=${WASM_RAW_KIB:-3240}
WASM_BR_KIB=${WASM_BR_KIB:-708}
TOTAL_BR_KIB=${TOTAL_BR_KIB:-722}

pkg=target/site/pkg
wasm=$(ls "$pkg"/jobpulse*.wasm)
kib() { echo $(( ($(stat -c %s "$1") + 1023) / 1024 )); }
raw=$(kib "$wasm")
br=$(kib "$wasm.br")
gz=$(kib "$wasm.gz")
total_br=0
for file in "$pkg"/*.js.br "$pkg"/*.wasm.br "$pkg"/*.css.br; do total_br=$((total_br + $(kib "$file"))); done
printf 'wasm: %s KiB raw, %s KiB brotli, %s KiB gzip; js + wasm + css brotli: %s KiB\n' "$raw" "$br" "$gz" "$total_br"
fail=0
over() { echo "over budget: $1 is $2 KiB, the budget is $3 KiB" >&2; fail=1; }
[ "$raw" -le "$WASM_RAW_KIB" ] || over "the wasm (raw)" "$raw" "$WASM_RAW_KIB"
[ "$br" -le "$WASM_BR_KIB" ] || over "the wasm (brotli)" "$br" "$WASM_BR_KIB"
[ "$total_br" -le "$TOTAL_BR_KIB" ] || over "the bundle (brotli)" "$total_br" "$TOTAL_BR_KIB"
exit $fail
