#!/usr/bin/env bash
# Hostile use of one output directory: concurrent solves into it and `kill -9` at random times.
# Prints how often a reader found a mixed result set, how kills left the directory, and whether
# temporaries accumulate. Usage: bash examples/robustness.sh [PAIRS] [KILLS] (default 300, 50).
# Needs the release binary: cargo build --release -p mfg-cli.
set -u
bin=$(realpath "${MFG_CLI:-target/release/mfg-cli}")
pairs=${1:-300}
kills=${2:-50}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

mixed=0
for _ in $(seq "$pairs"); do
  "$bin" solve --quiet --out r --set grid.nx=200 & a=$!
  "$bin" solve --quiet --out r --set grid.nx=201 & b=$!
  wait "$a" "$b"
  # plot reads every file through the manifest of summary.json: exit 2 on a mixed set.
  "$bin" plot r >/dev/null 2>&1 || mixed=$((mixed + 1))
done
echo "concurrent pairs: $pairs, mixed result sets seen by a reader: $mixed"

identical=0; complete=0; refused=0; other=0
"$bin" solve --quiet --out k --set grid.nx=3000 --set grid.nt=200 || exit 1
for i in $(seq "$kills"); do
  before=$(cd k && sha256sum summary.json u.npy m.npy x.npy t.npy config.toml 2>/dev/null)
  nx=$((3000 + i))
  "$bin" solve --quiet --out k --set grid.nx=$nx --set grid.nt=200 & pid=$!
  sleep "0.$(printf '%03d' $((RANDOM % 1000)))"
  kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  after=$(cd k && sha256sum summary.json u.npy m.npy x.npy t.npy config.toml 2>/dev/null)
  if [ "$before" = "$after" ]; then
    identical=$((identical + 1))
  elif "$bin" plot k >/dev/null 2>&1; then
    complete=$((complete + 1))
  elif [ ! -f k/summary.json ] || ! "$bin" plot k >/dev/null 2>&1; then
    refused=$((refused + 1))
    "$bin" solve --quiet --out k --set grid.nx=3000 --set grid.nt=200 || exit 1
  else
    other=$((other + 1))
  fi
done
"$bin" solve --quiet --out k --set grid.nx=3000 --set grid.nt=200
temporaries=$(ls -A k | grep -c '\.tmp$' || true)
echo "kill -9 at random times: $kills runs; earlier results byte-identical: $identical, new set complete: $complete, mixed set refused by readers: $refused, other: $other; temporaries left after the next run: $temporaries"
