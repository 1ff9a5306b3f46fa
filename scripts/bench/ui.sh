#!/usr/bin/env bash
# The web UI at scale: a release `convoy server` (SQLite) loaded with scale.py's project
# (STAGES Stages in 10 chains, FREIGHT Freight), then scripts/bench/ui.py: the pipeline and
# Freight pages rendered by the server against the /v1 JSON a client-rendered UI would fetch
# first, and the pages' timings in headless Chromium (Debian's chromium + chromium-driver).
#
# Usage: scripts/bench/ui.sh [STAGES/FREIGHT]   (default 1000/10000)
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZE=${1:-1000/10000}
W=$(mktemp -d); PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

cargo build --release --quiet -p convoy
git init -q -b main "$W/repo" && git -C "$W/repo" commit -q --allow-empty -m init
port=$(free_port)
target/release/convoy server --data-dir "$W/data" --listen "127.0.0.1:$port" --metrics-listen off \
  --allow-file-remotes > "$W/server.log" 2>&1 &
PID=$!
for _ in $(seq 200); do [ -s "$W/data/admin-token" ] && break; sleep 0.05; done
token=$(cat "$W/data/admin-token")
printf '{"size": "%s", "load": ' "$SIZE"
LOAD_ONLY=1 python3 scripts/bench/scale.py "http://127.0.0.1:$port" "$token" "$PID" "file://$W/repo" \
  "${SIZE%/*}" "${SIZE#*/}" | tr -d '\n'
printf ', "ui": '
python3 scripts/bench/ui.py "http://127.0.0.1:$port" "$token"
echo '}'
