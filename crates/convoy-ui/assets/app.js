// Convoy's page script: live fragments, API calls with the session's CSRF token, the promote
// dialog, drag and drop, filter and zoom. Pages work without it (full reloads).
"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  const status = document.getElementById("status");
  const say = (text, bad) => { if (status) { status.textContent = text; status.className = bad ? "bad" : ""; } };

  async function api(method, path, body) {
    const response = await fetch(path, {
      method, credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let data; try { data = JSON.parse(text); } catch { data = text; }
    if (!response.ok) {
      const details = (data && data.details || []).map(d => `${d.path}: ${d.message}${d.hint ? " (" + d.hint + ")" : ""}`).join("; ");
      throw new Error(((data && data.message) || response.statusText) + (details ? ": " + details : ""));
    }
    return data;
  }

  // Live: the server says "changed"; the page's live fragment is fetched again and replaced.
  const live = document.body.dataset.live;
  const region = document.getElementById("live");
  // An update touches only the keyed nodes ([data-key]: Stage cards, rows) whose HTML changed;
  // anything else that changed (a new Stage, an edge, the Freight strip) redraws the region.
  const parse = (html) => { const box = document.createElement("div"); box.innerHTML = html; return box; };
  const skeleton = (box) => {
    const copy = box.cloneNode(true);
    copy.querySelectorAll("[data-key]").forEach(n => { const mark = document.createElement("i"); mark.dataset.key = n.dataset.key; n.replaceWith(mark); });
    return copy.innerHTML;
  };
  let shown = region ? parse(region.innerHTML) : null;
  function update(html) {
    const next = parse(html);
    const before = [...shown.querySelectorAll("[data-key]")], after = [...next.querySelectorAll("[data-key]")];
    const sameShape = before.length === after.length && after.every((n, i) => n.dataset.key === before[i].dataset.key) && skeleton(shown) === skeleton(next);
    if (!sameShape) { region.innerHTML = html; }
    else {
      after.forEach((node, i) => {
        if (node.outerHTML === before[i].outerHTML) return;
        const live = region.querySelector(`[data-key="${CSS.escape(node.dataset.key)}"]`);
        if (live) live.replaceWith(node.cloneNode(true));
      });
    }
    shown = next; applyFilter(); applyCollapse();
  }
  if (live && region && window.EventSource) {
    let pending = null;
    const refresh = async () => {
      pending = null;
      const url = new URL(location.href); url.searchParams.set("fragment", "live");
      const response = await fetch(url, { credentials: "same-origin" });
      if (response.ok) update(await response.text());
    };
    // One connection per open page: closed when the page is left (a browser allows six per
    // host; pages kept for "back" must not hold theirs) and opened again if it comes back.
    let source = null;
    const connect = () => {
      source = new EventSource(live);
      source.addEventListener("changed", () => { if (!pending) pending = setTimeout(refresh, 150); });
    };
    connect();
    addEventListener("pagehide", () => source?.close());
    addEventListener("pageshow", (e) => { if (e.persisted) { connect(); refresh(); } });
  }

  // Buttons that call the API: data-api="POST /v1/..." data-body='{...}' data-confirm="..."
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-api]");
    if (!button) return;
    event.preventDefault();
    if (button.dataset.confirm && !confirm(button.dataset.confirm)) return;
    const [method, path] = button.dataset.api.split(" ");
    button.disabled = true;
    try {
      const result = await api(method, path, button.dataset.body ? JSON.parse(button.dataset.body) : undefined);
      if (button.dataset.show) showDryRun(document.querySelector(button.dataset.show), result);
      else say(button.dataset.done || "Done.");
      if (result && result.kind === "Promotion" && result.metadata) {
        location.href = `/p/${result.metadata.namespace}/promotions/${result.metadata.name}`;
      }
    } catch (e) { say(e.message, true); } finally { button.disabled = false; }
  });

  function showDryRun(target, report) {
    if (!target) return;
    target.innerHTML = "";
    const steps = document.createElement("ul");
    for (const step of report.steps || []) {
      const li = document.createElement("li");
      li.textContent = `${step.alias} (${step.uses}): ${step.status}${step.message ? " — " + step.message : ""}`;
      steps.append(li);
    }
    target.append(steps);
    for (const diff of report.diffs || []) {
      const title = document.createElement("h3"); title.textContent = `${diff.path}: ${diff.message || ""}`;
      const pre = document.createElement("pre"); pre.className = "diff";
      for (const line of (diff.diff || "").split("\n")) {
        const span = document.createElement("span");
        span.className = line.startsWith("+") && !line.startsWith("+++") ? "add" : line.startsWith("-") && !line.startsWith("---") ? "del" : "";
        span.textContent = line + "\n"; pre.append(span);
      }
      target.append(title, pre);
    }
    if (!(report.diffs || []).length) target.append(Object.assign(document.createElement("p"), { textContent: "No commit would change anything." }));
  }

  // The promote dialog: loaded from the Stage's promote fragment.
  const dialog = document.getElementById("promote");
  async function openPromote(project, stage, freight) {
    if (!dialog) { location.href = `/p/${project}/stages/${stage}?promote=1`; return; }
    const url = `/p/${encodeURIComponent(project)}/stages/${encodeURIComponent(stage)}?fragment=promote` + (freight ? `&freight=${encodeURIComponent(freight)}` : "");
    const response = await fetch(url, { credentials: "same-origin" });
    dialog.querySelector(".body").innerHTML = await response.text();
    dialog.showModal();
  }
  document.addEventListener("click", (event) => {
    const opener = event.target.closest("[data-promote]");
    if (opener) { event.preventDefault(); openPromote(opener.dataset.project, opener.dataset.promote, opener.dataset.freight); }
    if (event.target.closest("[data-close]")) dialog?.close();
  });

  // Drag Freight onto a Stage (or select a chip and press p on a Stage).
  let selected = null;
  document.addEventListener("dragstart", (e) => { const chip = e.target.closest("[data-freight]"); if (chip) e.dataTransfer.setData("text/plain", chip.dataset.freight); });
  document.addEventListener("dragover", (e) => { const node = e.target.closest("[data-stage]"); if (node) { e.preventDefault(); node.classList.add("drop"); } });
  document.addEventListener("dragleave", (e) => e.target.closest?.("[data-stage]")?.classList.remove("drop"));
  document.addEventListener("drop", (e) => {
    const node = e.target.closest("[data-stage]"); if (!node) return;
    e.preventDefault(); node.classList.remove("drop");
    openPromote(node.dataset.project, node.dataset.stage, e.dataTransfer.getData("text/plain"));
  });
  document.addEventListener("click", (e) => {
    const chip = e.target.closest(".chip[data-freight]"); if (!chip) return;
    document.querySelectorAll(".chip[aria-pressed=true]").forEach(c => c.setAttribute("aria-pressed", "false"));
    chip.setAttribute("aria-pressed", "true"); selected = chip.dataset.freight;
  });
  document.addEventListener("keydown", (e) => {
    const node = e.target.closest?.("[data-stage]");
    if (node && e.key === "p" && selected) openPromote(node.dataset.project, node.dataset.stage, selected);
  });

  // Renaming Freight: Kargo keeps the alias in a field and a label.
  document.addEventListener("submit", async (event) => {
    const form = event.target.closest("form[data-alias]");
    if (!form) return;
    event.preventDefault();
    const alias = form.querySelector("input[name=alias]").value.trim();
    try {
      await api("PATCH", form.dataset.alias, { alias, metadata: { labels: { "kargo.akuity.io/alias": alias } } });
      say(`Renamed to ${alias}.`);
    } catch (e) { say(e.message, true); }
  });

  // The doctor page: the server's checks, through the API.
  const doctor = document.querySelector("#doctor tbody");
  if (doctor) {
    api("GET", "/v1/diagnostics").then((report) => {
      doctor.innerHTML = "";
      for (const check of report.checks || []) {
        const row = doctor.insertRow();
        const word = check.status === "ok" ? "ok" : check.status === "warn" ? "warn" : "bad";
        row.insertCell().textContent = check.name;
        const status = row.insertCell().appendChild(document.createElement("span"));
        status.className = `badge ${word}`; status.textContent = check.status;
        row.insertCell().textContent = check.message;
        row.insertCell().textContent = check.fix || "";
      }
    }).catch((e) => { doctor.innerHTML = ""; doctor.insertRow().insertCell().textContent = e.message; });
  }

  // Filter and zoom on the pipeline.
  const filter = document.getElementById("filter");
  function applyFilter() {
    if (!filter) return;
    const words = filter.value.trim().toLowerCase();
    document.querySelectorAll("[data-search]").forEach(n => n.classList.toggle("dim", !!words && !n.dataset.search.includes(words)));
  }
  filter?.addEventListener("input", applyFilter);
  // Collapse a Stage's subtree: the Stages after it (and theirs) and their edges are hidden.
  const collapsed = new Set();
  function applyCollapse() {
    const hidden = new Set();
    const visit = (names) => names.forEach((n) => {
      if (!n || hidden.has(n)) return;
      hidden.add(n);
      visit((document.querySelector(`.node[data-stage="${CSS.escape(n)}"] [data-collapse]`)?.dataset.collapse || "").split(" "));
    });
    collapsed.forEach((n) => visit((document.querySelector(`.node[data-stage="${CSS.escape(n)}"] [data-collapse]`)?.dataset.collapse || "").split(" ")));
    document.querySelectorAll(".node[data-stage]").forEach((node) => { node.hidden = hidden.has(node.dataset.stage); });
    document.querySelectorAll(".graph path[data-to]").forEach((p) => {
      p.style.display = hidden.has(p.dataset.to.slice(2)) ? "none" : "";
    });
    document.querySelectorAll("[data-collapse]").forEach((b) => {
      const stage = b.closest("[data-stage]").dataset.stage;
      b.setAttribute("aria-expanded", String(!collapsed.has(stage)));
      b.textContent = collapsed.has(stage) ? "▸" : "▾";
    });
  }
  document.addEventListener("click", (e) => {
    const toggle = e.target.closest("[data-collapse]"); if (!toggle) return;
    const stage = toggle.closest("[data-stage]").dataset.stage;
    if (collapsed.has(stage)) collapsed.delete(stage); else collapsed.add(stage);
    applyCollapse();
  });

  // Pan the graph by dragging its background.
  const wrap = document.querySelector(".graph-wrap");
  let panning = null;
  wrap?.addEventListener("mousedown", (e) => {
    if (e.target.closest(".node, a, button")) return;
    panning = { x: e.clientX, y: e.clientY, left: wrap.scrollLeft, top: wrap.scrollTop };
  });
  document.addEventListener("mousemove", (e) => {
    if (!panning) return;
    wrap.scrollLeft = panning.left - (e.clientX - panning.x);
    wrap.scrollTop = panning.top - (e.clientY - panning.y);
  });
  document.addEventListener("mouseup", () => { panning = null; });

  let scale = 1;
  document.addEventListener("click", (e) => {
    const zoom = e.target.closest("[data-zoom]"); if (!zoom) return;
    scale = Math.min(2, Math.max(0.3, scale * Number(zoom.dataset.zoom)));
    document.querySelector(".graph")?.style.setProperty("transform", `scale(${scale})`);
  });
})();
