#!/usr/bin/env python3
"""Loads one project of STAGES Stages and FREIGHT Freight into a running `convoy server` through
its API, then measures what the controllers-runtime issue asks for. Prints one JSON line.

Shape: 10 Warehouses (Manual Freight creation, a local git subscription checked hourly), each
feeding a chain of STAGES/10 Stages (the first takes Freight directly, each next one from the
one before); ProjectConfig auto-promotes the first Stage of each chain. Freight is split evenly
over the Warehouses and applied with one POST /v1/apply per batch.

Usage: scale.py URL TOKEN SERVER_PID REPO_URL STAGES FREIGHT [BATCH]
"""

import http.client
import json
import os
import statistics
import sys
import time
import urllib.parse

URL, TOKEN, PID, REPO = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
STAGES, FREIGHT = int(sys.argv[5]), int(sys.argv[6])
BATCH = int(sys.argv[7]) if len(sys.argv) > 7 else 10_000
CHAINS = 10
TICK = os.sysconf("SC_CLK_TCK")
parsed = urllib.parse.urlparse(URL)
conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=600)


def call(method, path, body=None, content_type="application/yaml", parse=True):
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": content_type}
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    if response.status >= 300:
        raise SystemExit(f"{method} {path}: {response.status} {data[:500]!r}")
    return json.loads(data) if data and parse else None


def cpu_seconds():
    with open(f"/proc/{PID}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mb():
    with open(f"/proc/{PID}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def timed(path, n):
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        call("GET", path, parse=False)  # the server's time: the body is read, not parsed
        samples.append((time.perf_counter() - start) * 1000)
    return {"median_ms": round(statistics.median(samples), 2), "p99_ms": round(percentile(samples, 99), 2)}


def settle(quiet_seconds=3.0, limit=180):
    """Waits until the server used under 5% of a core for `quiet_seconds`; returns the wait, or
    None when it never did within `limit` seconds (a server that keeps rescanning)."""
    start = time.time()
    while time.time() - start < limit:
        before = cpu_seconds()
        time.sleep(quiet_seconds)
        if (cpu_seconds() - before) / quiet_seconds < 0.05:
            return time.time() - start - quiet_seconds
    return None


def documents():
    per_chain = max(1, STAGES // CHAINS)
    docs = [
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata: {name: p}\n",
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: ProjectConfig\nmetadata: {name: p, namespace: p}\nspec:\n"
        "  promotionPolicies:\n"
        + "".join(f"  - stage: c{c}-s0\n    autoPromotionEnabled: true\n" for c in range(CHAINS)),
    ]
    for c in range(CHAINS):
        docs.append(
            f"apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\nmetadata: {{name: w{c}, namespace: p}}\n"
            f"spec:\n  interval: 1h\n  freightCreationPolicy: Manual\n  subscriptions:\n"
            f"  - git: {{repoURL: '{REPO}', branch: main}}\n"
        )
        for s in range(per_chain):
            source = f"{{direct: true}}" if s == 0 else f"{{stages: [c{c}-s{s - 1}]}}"
            docs.append(
                f"apiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\nmetadata: {{name: c{c}-s{s}, namespace: p}}\n"
                f"spec:\n  requestedFreight:\n  - origin: {{kind: Warehouse, name: w{c}}}\n    sources: {source}\n"
                f"  promotionTemplate:\n    spec:\n      steps:\n      - uses: compose-output\n        as: out\n"
                f"        config: {{tag: '${{{{ commitFrom(\"{REPO}\").ID }}}}'}}\n"
            )
    return docs


def freight(i):
    c = i % CHAINS
    commit = f"{i:040x}"
    return (
        f"apiVersion: kargo.akuity.io/v1alpha1\nkind: Freight\nmetadata: {{namespace: p}}\n"
        f"origin: {{kind: Warehouse, name: w{c}}}\ncommits:\n- {{repoURL: '{REPO}', id: '{commit}'}}\n"
    )


def main():
    result = {"stages": STAGES, "freight": FREIGHT}
    start = time.perf_counter()
    docs = documents()
    for i in range(0, len(docs), 2000):
        call("POST", "/v1/apply", "---\n".join(docs[i : i + 2000]))
    result["pipeline_apply_s"] = round(time.perf_counter() - start, 2)
    applies = []
    for first in range(0, FREIGHT, BATCH):
        body = "---\n".join(freight(i) for i in range(first, min(FREIGHT, first + BATCH)))
        start = time.perf_counter()
        call("POST", "/v1/apply", body)
        applies.append(time.perf_counter() - start)
    result["freight_apply_s"] = round(sum(applies), 2)
    result["freight_apply_per_call_s"] = [round(a, 2) for a in applies]
    settled = settle()
    result["settle_s"] = None if settled is None else round(settled, 1)
    if os.environ.get("LOAD_ONLY"):  # scripts/bench/ui.sh: the project, nothing measured
        print(json.dumps(result))
        return
    before, start = cpu_seconds(), time.time()
    time.sleep(30)
    result["idle_cpu_pct"] = round(100 * (cpu_seconds() - before) / (time.time() - start), 2)
    result["rss_mb"] = round(rss_mb(), 1)
    result["list_stages"] = timed("/v1/projects/p/stages", 50)
    result["list_freight"] = timed("/v1/projects/p/freight", 10)
    result["list_freight_page_100"] = timed("/v1/projects/p/freight?limit=100", 50)
    page = call("GET", "/v1/projects/p/freight?limit=100")
    token = page["metadata"].get("continue")
    if token:
        path = "/v1/projects/p/freight?limit=100&continue=" + urllib.parse.quote(token, safe="")
        result["list_freight_next_page_100"] = timed(path, 50)
    result["created_to_started_ms"] = created_to_started(20)
    result["rss_after_mb"] = round(rss_mb(), 1)
    print(json.dumps(result))


def created_to_started(n):
    """Promotes n Freight of chain 0 into its second Stage one after another (each approved for
    it first); the time from the create call's answer to the first read showing it Running or
    done, polled every millisecond."""
    chain0 = [
        f["metadata"]["name"]
        for f in call("GET", "/v1/projects/p/freight")["items"]
        if f["origin"]["name"] == "w0"
    ][:n]
    samples = []
    for name in chain0:
        call("POST", f"/v1/projects/p/freight/{name}/approve", json.dumps({"stage": "c0-s1"}), "application/json")
        created = call("POST", "/v1/projects/p/stages/c0-s1/promote", json.dumps({"freight": name}), "application/json")
        promotion = created.get("metadata", {}).get("name") or created.get("name")
        t0 = time.perf_counter()
        started = None
        while time.perf_counter() - t0 < 30:
            got = call("GET", f"/v1/projects/p/promotions/{promotion}")
            phase = got.get("status", {}).get("phase", "Pending")
            if started is None and phase != "Pending":
                started = (time.perf_counter() - t0) * 1000
            if phase in ("Succeeded", "Failed", "Errored", "Aborted"):
                break
            time.sleep(0.001)
        samples.append(started if started is not None else 30_000)
    return {"median_ms": round(statistics.median(samples), 1), "max_ms": round(max(samples), 1)}


if __name__ == "__main__":
    main()
