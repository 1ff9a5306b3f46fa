#!/usr/bin/env python3
"""The web UI's pipeline and Freight pages of the project scale.py loaded, measured two ways:
on the server (render time and bytes, against the /v1 JSON a client-rendered UI would download
first: the Stages and Freight lists) and in headless Chromium over WebDriver (DOMContentLoaded,
first paint, interactive). Prints one JSON line.

Usage: ui.py URL TOKEN [RUNS]
"""

import http.client
import json
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request

URL, TOKEN = sys.argv[1], sys.argv[2]
RUNS = int(sys.argv[3]) if len(sys.argv) > 3 else 20
parsed = urllib.parse.urlparse(URL)


def get(path, headers):
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=120)
    start = time.perf_counter()
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    elapsed = (time.perf_counter() - start) * 1000
    if response.status != 200:
        raise SystemExit(f"GET {path}: {response.status} {body[:300]!r}")
    return elapsed, len(body)


def timed(paths, headers):
    """Median and p99 of fetching all of `paths` in turn, and their total bytes."""
    samples, size = [], 0
    for _ in range(RUNS):
        total, size = 0.0, 0
        for path in paths:
            ms, n = get(path, headers)
            total, size = total + ms, size + n
        samples.append(total)
    ordered = sorted(samples)
    return {"median_ms": round(statistics.median(samples), 1), "p99_ms": round(ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))], 1), "bytes": size}


def webdriver(port, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method, headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())["value"]


def browser_timings(page):
    port = 9000 + int(time.time()) % 500
    driver = subprocess.Popen(["/usr/bin/chromedriver", f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                webdriver(port, "GET", "/status")
                break
            except OSError:
                time.sleep(0.05)
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": "/usr/bin/chromium", "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,800"]}}}}
        session = webdriver(port, "POST", "/session", caps)["sessionId"]
        base = f"/session/{session}"
        webdriver(port, "POST", f"{base}/url", {"url": f"{URL}/login"})
        webdriver(port, "POST", f"{base}/cookie", {"cookie": {"name": "convoy_session", "value": TOKEN, "path": "/", "httpOnly": True}})
        runs = []
        for _ in range(5):
            webdriver(port, "POST", f"{base}/url", {"url": f"{URL}{page}"})
            timing = webdriver(port, "POST", f"{base}/execute/sync", {"script": """
                const n = performance.getEntriesByType('navigation')[0];
                const paint = performance.getEntriesByType('paint').find(e => e.name === 'first-contentful-paint');
                return {dom_content_loaded_ms: n.domContentLoadedEventEnd, interactive_ms: n.domInteractive,
                        first_contentful_paint_ms: paint ? paint.startTime : null, load_ms: n.loadEventEnd,
                        nodes: document.getElementsByTagName('*').length};""", "args": []})
            runs.append(timing)
        webdriver(port, "DELETE", base)
        def median(key):
            values = [r[key] for r in runs if r[key] is not None]
            return round(statistics.median(values), 1) if values else None
        return {key: median(key) for key in runs[0]}
    finally:
        driver.kill()
        driver.wait()


def main():
    cookie = {"Cookie": f"convoy_session={TOKEN}"}
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    result = {
        "pipeline_page": timed(["/p/p"], cookie),
        "baseline_stages_and_freight_json": timed(["/v1/projects/p/stages", "/v1/projects/p/freight"], bearer),
        "freight_first_page": timed(["/p/p/freight"], cookie),
        "baseline_freight_json_page_50": timed(["/v1/projects/p/freight?limit=50"], bearer),
        "pipeline_in_chromium": browser_timings("/p/p"),
        "freight_in_chromium": browser_timings("/p/p/freight"),
    }
    result["pipeline_vs_baseline"] = round(result["pipeline_page"]["median_ms"] / result["baseline_stages_and_freight_json"]["median_ms"], 2)
    result["freight_vs_baseline"] = round(result["freight_first_page"]["median_ms"] / result["baseline_freight_json_page_50"]["median_ms"], 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
