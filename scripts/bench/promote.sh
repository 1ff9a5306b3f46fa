#!/usr/bin/env bash
# Promotion wall time, end to end through the CLI, against two plain-git baselines on the same
# repository (20k commits, 5k files) served over local HTTP (git http-backend):
#   convoy:  `convoy promote --wait` (clone from the shared mirror, kustomize-set-image, commit, push)
#   warm:    a script doing the same on a warm mirror (fetch, clone --shared, edit, commit, push)
#   kept:    a script keeping one checkout between rounds (fetch the mirror into it, checkout -f,
#            clean -ffdx, edit, commit, push): what Convoy's warm work trees do, by hand
#   fresh:   a fresh clone per promotion, edit, commit, push
# The variants alternate, RUNS rounds after one warm-up round; medians go to stdout.
# Then the two-checkout pipeline (as pipelines built on Kargo's examples do: the source at main
# and the env branch env/dev, render by copy, commit and push the env branch), Convoy against
# scripts keeping their two checkouts, making two on the warm mirror, and cloning twice. Git processes per Convoy promotion are counted through a
# wrapper on the server's PATH.
# Usage: scripts/bench/promote.sh [RUNS] [COMMITS] [FILES]
set -euo pipefail
RUNS=${1:-5}; COMMITS=${2:-20000}; FILES=${3:-5000}
cd "$(dirname "$0")/../.."
ROOT=$(cd "$(pwd)" && pwd)
cargo build --release --quiet -p convoy
CONVOY="$ROOT/target/release/convoy"
W=$(mktemp -d); PIDS=()
cleanup() { for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 400); do (echo > /dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; return 1; }
now() { date +%s.%N; }

echo "generating a repository with $COMMITS commits and $FILES files..." >&2
git init -q --bare -b main "$W/config.git"
python3 scripts/bench/make_repo.py "$COMMITS" "$FILES" | git -C "$W/config.git" fast-import --quiet
git -C "$W/config.git" config http.receivepack true
git -C "$W/config.git" branch env/dev main
# Every git process the server starts, one line each (the scripts call git directly).
mkdir -p "$W/bin"
printf '#!/bin/sh\necho >> "$CONVOY_BENCH_GIT_LOG"\nexec %s "$@"\n' "$(command -v git)" > "$W/bin/git"
chmod +x "$W/bin/git"
: > "$W/git-processes.log"
GIT_PORT=$(free_port)
python3 scripts/bench/serve_git.py "$GIT_PORT" "$W" > "$W/git-http.log" 2>&1 & PIDS+=($!)
wait_port "$GIT_PORT"
URL="http://127.0.0.1:$GIT_PORT/cgi-bin/git/config.git"

API_PORT=$(free_port)
PATH="$W/bin:$PATH" CONVOY_BENCH_GIT_LOG="$W/git-processes.log" \
  "$CONVOY" server --data-dir "$W/data" --listen "127.0.0.1:$API_PORT" > "$W/server.log" 2>&1 & PIDS+=($!)
wait_port "$API_PORT"
export CONVOY_CONFIG="$W/client.yaml" CONVOY_PROJECT=bench
"$CONVOY" login --server "http://127.0.0.1:$API_PORT" --token-file "$W/data/admin-token" 2>/dev/null
cat > "$W/project.yaml" <<YAML
apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata: {name: bench}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {name: app, namespace: bench}
spec:
  subscriptions:
  - image: {repoURL: ghcr.io/example/app}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {name: dev, namespace: bench}
spec:
  requestedFreight:
  - origin: {kind: Warehouse, name: app}
    sources: {direct: true}
  promotionTemplate:
    spec:
      steps:
      - uses: git-clone
        config:
          repoURL: $URL
          checkout: [{branch: main, path: ./repo}]
      - uses: kustomize-set-image
        as: update-image
        config:
          path: ./repo/env/dev
          images: [{image: ghcr.io/example/app}]
      - uses: git-commit
        config: {path: ./repo, message: "\${{ outputs['update-image'].commitMessage }}"}
      - uses: git-push
        config: {path: ./repo}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {name: two, namespace: bench}
spec:
  requestedFreight:
  - origin: {kind: Warehouse, name: app}
    sources: {direct: true}
  promotionTemplate:
    spec:
      steps:
      - uses: git-clone
        config:
          repoURL: $URL
          checkout: [{branch: main, path: ./src}, {branch: env/dev, path: ./out}]
      - uses: kustomize-set-image
        as: update-image
        config:
          path: ./src/env/dev
          images: [{image: ghcr.io/example/app}]
      - uses: copy
        config: {inPath: ./src/env/dev, outPath: ./out/rendered}
      - uses: git-commit
        config: {path: ./out, message: "\${{ outputs['update-image'].commitMessage }}"}
      - uses: git-push
        config: {path: ./out}
YAML
"$CONVOY" apply -f "$W/project.yaml" > /dev/null

# Each round gets its own tag as $1: rounds run in $(...) subshells, so a global counter would not advance.
convoy_round() {
  local TAG=$1 STAGE=${2:-dev}
  printf 'apiVersion: kargo.akuity.io/v1alpha1\nkind: Freight\nmetadata: {namespace: bench}\nalias: bench-%d\norigin: {kind: Warehouse, name: app}\nimages: [{repoURL: ghcr.io/example/app, tag: "1.0.%d"}]\n' "$TAG" "$TAG" > "$W/freight.yaml"
  "$CONVOY" apply -f "$W/freight.yaml" > /dev/null
  local t0 before; t0=$(now); before=$(wc -l < "$W/git-processes.log"); touch "$W/round-start"
  "$CONVOY" promote --freight-alias "bench-$TAG" --stage "$STAGE" --wait > /dev/null
  echo "$(now) - $t0" | bc
  echo $(( $(wc -l < "$W/git-processes.log") - before )) >> "$W/git-counts-$STAGE"
  # Files of the work trees (not .git) written by this promotion, counted once it returned them.
  find "$W/data/git/trees" -name .git -prune -o -type f -newer "$W/round-start" -print 2>/dev/null | wc -l >> "$W/files-$STAGE"
}

mkdir -p "$W/script"
git clone -q --mirror "$URL" "$W/script/mirror.git"
warm_round() {
  local TAG=$1
  local t0 d; t0=$(now); d="$W/script/wt-$TAG"
  git -C "$W/script/mirror.git" fetch -q --prune origin
  git clone -q --shared --no-checkout "$W/script/mirror.git" "$d"
  git -C "$d" remote set-url origin "$URL"
  git -C "$d" checkout -q -B main origin/main
  sed -i "s/newTag: .*/newTag: 1.0.$TAG/" "$d/env/dev/kustomization.yaml"
  git -C "$d" -c user.name=b -c user.email=b@e commit -q -am "bump $TAG"
  git -C "$d" push -q origin HEAD:main
  echo "$(now) - $t0" | bc
  rm -rf "$d"
}

git clone -q --shared --no-checkout "$W/script/mirror.git" "$W/script/kept"
git -C "$W/script/kept" remote set-url origin "$URL"
kept_round() {
  local TAG=$1
  local t0 d; t0=$(now); d="$W/script/kept"
  git -C "$W/script/mirror.git" fetch -q --prune origin
  git -C "$d" fetch -q --prune "$W/script/mirror.git" '+refs/heads/*:refs/remotes/origin/*'
  git -C "$d" checkout -q -f -B main origin/main
  git -C "$d" clean -q -ffdx
  sed -i "s/newTag: .*/newTag: 1.0.$TAG/" "$d/env/dev/kustomization.yaml"
  git -C "$d" -c user.name=b -c user.email=b@e commit -q -am "bump $TAG"
  git -C "$d" push -q origin HEAD:main
  echo "$(now) - $t0" | bc
}

git clone -q --shared --no-checkout "$W/script/mirror.git" "$W/script/kept-src"
git -C "$W/script/kept-src" remote set-url origin "$URL"
git clone -q --shared --no-checkout "$W/script/mirror.git" "$W/script/kept-out"
git -C "$W/script/kept-out" remote set-url origin "$URL"
kept_two_round() {
  local TAG=$1
  local t0 s o; t0=$(now); s="$W/script/kept-src"; o="$W/script/kept-out"
  git -C "$W/script/mirror.git" fetch -q --prune origin
  for d in "$s" "$o"; do git -C "$d" fetch -q --prune "$W/script/mirror.git" '+refs/heads/*:refs/remotes/origin/*'; done
  git -C "$s" checkout -q -f -B main origin/main; git -C "$s" clean -q -ffdx
  git -C "$o" checkout -q -f -B env/dev origin/env/dev; git -C "$o" clean -q -ffdx
  sed -i "s/newTag: .*/newTag: 1.0.$TAG/" "$s/env/dev/kustomization.yaml"
  mkdir -p "$o/rendered"; cp -r "$s/env/dev/." "$o/rendered/"
  git -C "$o" add -A
  git -C "$o" -c user.name=b -c user.email=b@e commit -q -m "bump $TAG"
  git -C "$o" push -q origin HEAD:env/dev
  echo "$(now) - $t0" | bc
}

# The two-checkout pipeline done by hand without kept checkouts: on the warm mirror (two shared
# clones), and from scratch (two fresh clones).
two_by_hand() {
  local TAG=$1 s=$2 o=$3
  sed -i "s/newTag: .*/newTag: 1.0.$TAG/" "$s/env/dev/kustomization.yaml"
  mkdir -p "$o/rendered"; cp -r "$s/env/dev/." "$o/rendered/"
  git -C "$o" add -A
  git -C "$o" -c user.name=b -c user.email=b@e commit -q -m "bump $TAG"
  git -C "$o" push -q origin HEAD:env/dev
}

warm_two_round() {
  local TAG=$1
  local t0 s o; t0=$(now); s="$W/script/warm-src-$TAG"; o="$W/script/warm-out-$TAG"
  git -C "$W/script/mirror.git" fetch -q --prune origin
  for d in "$s" "$o"; do
    git clone -q --shared --no-checkout "$W/script/mirror.git" "$d"
    git -C "$d" remote set-url origin "$URL"
  done
  git -C "$s" checkout -q -B main origin/main
  git -C "$o" checkout -q -B env/dev origin/env/dev
  two_by_hand "$TAG" "$s" "$o"
  echo "$(now) - $t0" | bc
  rm -rf "$s" "$o"
}

fresh_two_round() {
  local TAG=$1
  local t0 s o; t0=$(now); s="$W/script/fresh-src-$TAG"; o="$W/script/fresh-out-$TAG"
  git clone -q --branch main "$URL" "$s"
  git clone -q --branch env/dev "$URL" "$o"
  two_by_hand "$TAG" "$s" "$o"
  echo "$(now) - $t0" | bc
  rm -rf "$s" "$o"
}

fresh_round() {
  local TAG=$1
  local t0 d; t0=$(now); d="$W/script/fresh-$TAG"
  git clone -q --branch main "$URL" "$d"
  sed -i "s/newTag: .*/newTag: 1.0.$TAG/" "$d/env/dev/kustomization.yaml"
  git -C "$d" -c user.name=b -c user.email=b@e commit -q -am "bump $TAG"
  git -C "$d" push -q origin HEAD:main
  echo "$(now) - $t0" | bc
  rm -rf "$d"
}

convoy_round 1 > /dev/null; warm_round 2 > /dev/null; kept_round 3 > /dev/null; fresh_round 4 > /dev/null   # warm-up
C=(); M=(); K=(); F=()
for i in $(seq "$RUNS"); do
  C+=("$(convoy_round $((4 * i + 1)))"); M+=("$(warm_round $((4 * i + 2)))")
  K+=("$(kept_round $((4 * i + 3)))"); F+=("$(fresh_round $((4 * i + 4)))")
done
T=(); KT=(); WT=(); FT=()
convoy_round 900 two > /dev/null; kept_two_round 901 > /dev/null   # warm-up
warm_two_round 902 > /dev/null; fresh_two_round 903 > /dev/null
for i in $(seq "$RUNS"); do
  T+=("$(convoy_round $((1000 + 4 * i)) two)"); KT+=("$(kept_two_round $((1001 + 4 * i)))")
  WT+=("$(warm_two_round $((1002 + 4 * i)))"); FT+=("$(fresh_two_round $((1003 + 4 * i)))")
done
# Every round must have landed exactly one commit: 1 seed commit per file set + 4 * (RUNS + 1).
landed=$(git -C "$W/config.git" rev-list --count main)
expected=$((COMMITS + 4 * (RUNS + 1)))
[ "$landed" -eq "$expected" ] || { echo "expected $expected commits on main, found $landed" >&2; exit 1; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
two_landed=$(git -C "$W/config.git" rev-list --count main..env/dev)
[ "$two_landed" -eq $((4 * (RUNS + 1))) ] || { echo "expected $((4 * (RUNS + 1))) commits on env/dev, found $two_landed" >&2; exit 1; }
mc=$(median "${C[@]}"); mm=$(median "${M[@]}"); mk=$(median "${K[@]}"); mf=$(median "${F[@]}")
mt=$(median "${T[@]}"); mkt=$(median "${KT[@]}"); mwt=$(median "${WT[@]}"); mft=$(median "${FT[@]}")
gd=$(median $(cat "$W/git-counts-dev")); gt=$(median $(cat "$W/git-counts-two"))
fd=$(median $(cat "$W/files-dev")); ft=$(median $(cat "$W/files-two"))
echo "runs: $RUNS  commits: $COMMITS  files: $FILES"
echo "convoy promote --wait  median ${mc}s  (${C[*]})"
echo "warm-mirror script     median ${mm}s  (${M[*]})"
echo "kept checkout script   median ${mk}s  (${K[*]})"
echo "fresh clone script     median ${mf}s  (${F[*]})"
echo "ratio convoy/warm: $(echo "scale=2; $mc / $mm" | bc)   convoy/kept: $(echo "scale=2; $mc / $mk" | bc)   convoy/fresh: $(echo "scale=2; $mc / $mf" | bc)"
echo "two checkouts: convoy median ${mt}s  (${T[*]})   kept-checkouts script median ${mkt}s  (${KT[*]})"
echo "two checkouts by hand: warm-mirror script median ${mwt}s  (${WT[*]})   fresh-clones script median ${mft}s  (${FT[*]})"
echo "ratio two-checkout convoy/kept: $(echo "scale=2; $mt / $mkt" | bc)   convoy/warm: $(echo "scale=2; $mt / $mwt" | bc)   convoy/fresh: $(echo "scale=2; $mt / $mft" | bc)"
echo "git processes per convoy promotion (median): one checkout $gd, two checkouts $gt (the kept-checkout scripts: 6 and 10)"
echo "work-tree files written per convoy promotion (median, of $FILES): one checkout $fd, two checkouts $ft"
