#!/usr/bin/env bash
# The controllers at scale: for each size STAGES/FREIGHT, a fresh `convoy server` (release build,
# SQLite), the project of scripts/bench/scale.py loaded through the API, then idle CPU over 30 s,
# RSS, list latencies (full and 100-item pages), Promotion created -> started over 20 promotions
# and the Freight apply time; one JSON line per size.
#
# With BASELINE=<git ref>, the same sizes also run against that revision's server built in a
# worktree, alternating, so that the two are measured side by side on the same machine.
#
# Usage: scripts/bench/scale.sh [SIZE...]   (SIZE = STAGES/FREIGHT; default 100/1000 1000/10000)
#        BASELINE=38565ab scripts/bench/scale.sh 1000/10000
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
SIZES=("$@"); [ ${#SIZES[@]} -gt 0 ] || SIZES=(100/1000 1000/10000)
W=$(mktemp -d); PIDS=()
cleanup() {
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true
  [ -n "${BASELINE:-}" ] && git -C "$ROOT" worktree remove --force "$W/baseline" 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 600); do (echo > /dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; return 1; }

cargo build --release --quiet -p convoy
BINARIES=("convoy=$ROOT/target/release/convoy")
if [ -n "${BASELINE:-}" ]; then
  git worktree add --quiet --detach "$W/baseline" "$BASELINE"
  (cd "$W/baseline" && CARGO_TARGET_DIR="$ROOT/target/baseline" cargo build --release --quiet -p convoy)
  BINARIES+=("baseline=$ROOT/target/baseline/release/convoy")
fi

git init -q -b main "$W/repo" && git -C "$W/repo" commit -q --allow-empty -m init
REPO="file://$W/repo"

for size in "${SIZES[@]}"; do
  for entry in "${BINARIES[@]}"; do
    name=${entry%%=*}; binary=${entry#*=}
    data="$W/data-$name-${size//\//-}"
    port=$(free_port)
    "$binary" server --data-dir "$data" --listen "127.0.0.1:$port" --allow-file-remotes > "$data.log" 2>&1 &
    pid=$!; PIDS+=($pid)
    wait_port "$port"
    for _ in $(seq 100); do [ -s "$data/admin-token" ] && break; sleep 0.05; done
    printf '{"server": "%s", "result": ' "$name"
    python3 scripts/bench/scale.py "http://127.0.0.1:$port" "$(cat "$data/admin-token")" "$pid" "$REPO" \
      "${size%/*}" "${size#*/}" | tr -d '\n'
    echo '}'
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
done
