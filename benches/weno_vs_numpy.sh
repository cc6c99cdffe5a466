#!/usr/bin/env bash
# Measure the WENO5-JS reconstruction in NumPy (per call and vectorised) and in Rust
# (criterion reconstruct/js/65536 and per-stencil/js/65536) back to back, and print the ratios.
# Needs numpy (pip install numpy). Usage: bash benches/weno_vs_numpy.sh
set -euo pipefail
cd "$(dirname "$0")/.."
py=$(python3 benches/weno_numpy.py)
echo "$py"
per_call=$(echo "$py" | awk '/per-call/ {print $(NF-1)}')
vec=$(echo "$py" | awk '/vectorised/ {print $(NF-1)}')
out=$(cargo bench -q -p weno-kernels --bench reconstruct -- 'reconstruct/js/65536$|per-stencil/js/65536$' 2>/dev/null)
echo "$out" | grep -A1 -E '^(reconstruct|per-stencil)/js/65536' | grep -E 'js/65536|time:'
# criterion prints "time: [low est high]" with a unit; take the estimate and convert to ns/point.
ns_per_point() {
  echo "$out" | grep -A1 -E "^$1" | grep 'time:' | sed -E 's/.*\[([^ ]+ [^ ]+) ([^ ]+) ([^ ]+).*/\2 \3/' |
    awk '{v=$1; u=$2; f=(u=="ns")?1:(u=="µs"||u=="us")?1e3:(u=="ms")?1e6:1e9; printf "%.3f", v*f/65536}'
}
slice=$(ns_per_point 'reconstruct/js/65536')
stencil=$(ns_per_point 'per-stencil/js/65536')
echo "rust slice:       $slice ns/point"
echo "rust per-stencil: $stencil ns/point"
awk -v a="$per_call" -v b="$vec" -v s="$slice" -v p="$stencil" 'BEGIN {
  printf "slice vs numpy per-call:   %.0fx faster\n", a / s
  printf "slice vs numpy vectorised: %.1fx faster\n", b / s
  printf "slice vs rust per-stencil: %.1fx faster\n", p / s
}'
