#!/usr/bin/env bash
# Rendering a large chart: Convoy's renderer (the helm-template step's) against Helm's engine
# rebuilt from Go's text/template and Sprig (Debian's packages; no Helm binary or Go module
# download here), same chart, same values, same machine, alternating.
#
#   scripts/bench/helm-render.sh [ROUNDS] [COMPONENTS] [RENDERS_PER_ROUND]
#
# COMPONENTS components make 3 templates each (plus _helpers.tpl). Each round runs both
# programs; each program renders RENDERS_PER_ROUND times after 3 warm-ups and reports its
# median. Before timing, the two outputs are checked to hold the same documents.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-5}
components=${2:-40}
renders=${3:-30}

packages=(golang-1.19-go golang-github-masterminds-sprig-dev golang-k8s-sigs-yaml-dev)
missing=()
for pkg in "${packages[@]}"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
if [ "${#missing[@]}" -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p target/bench
(cd scripts/bench/helm-baseline && GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$work/gocache" \
  /usr/lib/go-1.19/bin/go build -o "$PWD/../../../target/bench/helm-baseline" .)
cargo build -q --release --locked -p convoy-helm --example render_bench
convoy=target/release/examples/render_bench
baseline=target/bench/helm-baseline

python3 scripts/bench/make_chart.py "$work/bench" "$components"
echo "chart: $(ls "$work/bench/templates" | wc -l) templates, values $(wc -c < "$work/bench/values.yaml") bytes"

"$baseline" "$work/bench" 1 "$work/go.yaml" >/dev/null
"$convoy" "$work/bench" 1 "$work/convoy.yaml" >/dev/null
python3 - "$work/go.yaml" "$work/convoy.yaml" <<'PY'
import sys
def documents(path):
    pieces = open(path).read().split("\n---\n")
    bodies = ["\n".join(l for l in p.strip("-\n ").split("\n") if not l.startswith("# Source:")).strip() for p in pieces]
    return sorted(b for b in bodies if b)
go, convoy = documents(sys.argv[1]), documents(sys.argv[2])
if go != convoy:
    sys.exit(f"outputs differ: {len(go)} documents from the baseline, {len(convoy)} from Convoy")
print(f"outputs: the same {len(go)} documents")
PY

go_times=()
convoy_times=()
for round in $(seq "$rounds"); do
  go_times+=("$("$baseline" "$work/bench" "$renders" | awk '/median_us/ {print $2}')")
  convoy_times+=("$("$convoy" "$work/bench" "$renders" | awk '/median_us/ {print $2}')")
done
python3 - "${go_times[*]}" "${convoy_times[*]}" <<'PY'
import statistics, sys
go = [int(x) for x in sys.argv[1].split()]
convoy = [int(x) for x in sys.argv[2].split()]
print("per-round medians (ms): baseline", [round(x / 1000, 1) for x in go], "convoy", [round(x / 1000, 1) for x in convoy])
g, c = statistics.median(go), statistics.median(convoy)
print(f"median render: baseline {g / 1000:.1f} ms, convoy {c / 1000:.1f} ms, convoy / baseline {c / g:.2f}")
PY
