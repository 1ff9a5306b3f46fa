#!/usr/bin/env bash
# The pure crates (api, core) may not depend, even transitively, on an async runtime, network,
# process or filesystem crates. See ARCHITECTURE.md, "Architecture invariants".
set -euo pipefail
cd "$(dirname "$0")/.."
deny='^(tokio|hyper|reqwest|axum|sqlx|mio|socket2|git2|gix|tempfile|fs-err|walkdir)$'
status=0
for crate in convoy-api convoy-expr convoy-core; do
  found=$(cargo tree -e normal -p "$crate" --prefix none --format '{p}' --locked | awk '{print $1}' | sort -u | grep -E "$deny" || true)
  if [ -n "$found" ]; then
    echo "$crate must stay pure but depends on: $found" >&2
    status=1
  fi
done
exit $status
