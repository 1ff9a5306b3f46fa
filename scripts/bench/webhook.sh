#!/usr/bin/env bash
# Event-to-Freight latency: a tag is pushed to a git repository served over local HTTP, a signed
# GitHub push event is posted to Convoy's receiver, and the time until the new Freight exists is
# measured (polling the API every 10 ms). Baseline, in the same rounds: `git ls-remote` of the
# repository (the least any discovery must do to see the tag). Medians of RUNS rounds after a warm-up.
# Usage: scripts/bench/webhook.sh [RUNS]
set -euo pipefail
RUNS=${1:-10}
cd "$(dirname "$0")/../.."
cargo build --release --quiet -p convoy
CONVOY="$(pwd)/target/release/convoy"
W=$(mktemp -d); PIDS=()
cleanup() { for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 400); do (echo > /dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; return 1; }

git init -q --bare -b main "$W/app.git"
git -C "$W/app.git" config http.receivepack true
git clone -q "$W/app.git" "$W/work" 2>/dev/null
(cd "$W/work" && echo 0 > f && git add f && git -c user.name=b -c user.email=b@e commit -qm init && git tag v1.0.0 && git push -q --tags origin main)
GIT_PORT=$(free_port)
python3 scripts/bench/serve_git.py "$GIT_PORT" "$W" > "$W/git-http.log" 2>&1 & PIDS+=($!)
wait_port "$GIT_PORT"
URL="http://127.0.0.1:$GIT_PORT/cgi-bin/git/app.git"

API_PORT=$(free_port)
"$CONVOY" server --data-dir "$W/data" --listen "127.0.0.1:$API_PORT" > "$W/server.log" 2>&1 & PIDS+=($!)
wait_port "$API_PORT"
export CONVOY_CONFIG="$W/client.yaml" CONVOY_PROJECT=bench
"$CONVOY" login --server "http://127.0.0.1:$API_PORT" --token-file "$W/data/admin-token" 2>/dev/null
cat > "$W/project.yaml" <<YAML
apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata: {name: bench}
---
apiVersion: v1
kind: Secret
metadata: {name: hook, namespace: bench}
stringData: {secret: bench-secret}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: ProjectConfig
metadata: {name: bench, namespace: bench}
spec:
  webhookReceivers:
  - name: gh
    github: {secretRef: {name: hook}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {name: app, namespace: bench}
spec:
  interval: 1h
  subscriptions:
  - git: {repoURL: "$URL", commitSelectionStrategy: SemVer}
YAML
"$CONVOY" apply -f "$W/project.yaml" > /dev/null
"$CONVOY" refresh warehouse app --wait > /dev/null
HASH=$(printf '%s' "benchghbench-secret" | sha256sum | cut -d' ' -f1)
ENDPOINT="http://127.0.0.1:$API_PORT/webhooks/github/$HASH"
TOKEN=$(cat "$W/data/admin-token")

# One round: push tag $1, post the event, wait for Freight number $2; prints seconds.
event_round() {
  (cd "$W/work" && echo "$1" > f && git -c user.name=b -c user.email=b@e commit -qam "$1" && git tag "$1" && git push -q origin main "$1")
  python3 - "$ENDPOINT" "$URL" "http://127.0.0.1:$API_PORT" "$TOKEN" "$2" <<'PY'
import hashlib, hmac, json, sys, time, urllib.request
endpoint, repo, api, token, want = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
body = json.dumps({"repository": {"clone_url": repo}}).encode()
signature = "sha256=" + hmac.new(b"bench-secret", body, hashlib.sha256).hexdigest()
request = urllib.request.Request(endpoint, data=body, headers={"X-GitHub-Event": "push", "X-Hub-Signature-256": signature, "Content-Type": "application/json"})
t0 = time.monotonic()
urllib.request.urlopen(request).read()
while True:
    listing = urllib.request.Request(api + "/v1/projects/bench/freight", headers={"Authorization": "Bearer " + token})
    if len(json.load(urllib.request.urlopen(listing))["items"]) >= want:
        break
    if time.monotonic() - t0 > 60:
        sys.exit("no Freight within 60 s")
    time.sleep(0.01)
print(f"{time.monotonic() - t0:.4f}")
PY
}

ls_remote_round() {
  local t0; t0=$(date +%s.%N)
  git ls-remote "$URL" > /dev/null
  echo "$(date +%s.%N) - $t0" | bc
}

event_round v1.0.1 2 > /dev/null; ls_remote_round > /dev/null   # warm-up
E=(); L=()
for i in $(seq "$RUNS"); do
  E+=("$(event_round "v1.1.$i" $((i + 2)))"); L+=("$(ls_remote_round)")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
me=$(median "${E[@]}"); ml=$(median "${L[@]}")
echo "runs: $RUNS"
echo "event -> Freight   median ${me}s  (${E[*]})"
echo "git ls-remote      median ${ml}s  (${L[*]})"
echo "ratio event/ls-remote: $(echo "scale=2; $me / $ml" | bc)"
