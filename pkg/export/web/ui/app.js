// memsight's page. Every REFRESH_MS it reads /api/v1/processes,
// /api/v1/findings and /api/v1/history, and renders them with DOM calls
// only (createElement, textContent, setAttribute): process, pod and
// function names come from untrusted binaries and are never parsed as HTML.
"use strict";

(function () {
  const REFRESH_MS = 5000;
  const SVG = "http://www.w3.org/2000/svg";
  // Columns of /api/v1/history drawn as charts.
  const SERIES = [
    { key: "rss_bytes", title: "RSS", fmt: bytes },
    { key: "heap_inuse_bytes", title: "Go heap in use", fmt: bytes },
    { key: "finalizer_queue", title: "finalizer queue", fmt: count },
    { key: "goroutines", title: "goroutines", fmt: count },
  ];
  const SPARK_SERIES = SERIES.slice(0, 3);
  const COLUMNS = ["rss_bytes", "heap_inuse_bytes", "finalizer_queue", "goroutines", "fds"];

  const state = {
    history: new Map(), // pid → {seriesStart, t: [], rss_bytes: [], …}
    lastT: 0, // newest point seen, Unix ms; 0: fetch everything
    windowMs: 3600 * 1000,
    now: Date.now(),
    processes: [],
    findings: [],
    selected: pidFromHash(),
    refreshes: 0,
  };

  // el creates an element; children are nodes or strings (text nodes).
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    e.append(...children);
    return e;
  }

  function svgEl(tag, attrs) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    return e;
  }

  function bytes(n) {
    if (n === null || n === undefined) return "–";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(n) : n.toFixed(1)) + " " + units[i];
  }

  function count(n) {
    return n === null || n === undefined ? "–" : String(n);
  }

  function clock(t) {
    const d = new Date(t);
    return isNaN(d) ? "" : d.toLocaleTimeString([], { hour12: false });
  }

  function pidFromHash() {
    const m = /^#pid=(\d+)$/.exec(location.hash);
    return m ? Number(m[1]) : 0;
  }

  async function getJSON(path) {
    const r = await fetch(path, { cache: "no-store" });
    if (!r.ok) throw new Error(path + ": HTTP " + r.status);
    return r.json();
  }

  // mergeHistory adds an (incremental) /api/v1/history response to
  // state.history, forgets the processes it no longer lists and the points
  // older than the window.
  function mergeHistory(h) {
    state.windowMs = h.window_seconds * 1000;
    state.now = Date.parse(h.time) || Date.now();
    const listed = new Set();
    let restart = false;
    for (const p of h.processes) {
      listed.add(p.pid);
      let cur = state.history.get(p.pid);
      if (!cur || cur.seriesStart !== p.series_start) {
        if (state.lastT !== 0) restart = true; // new to us: fetch its whole series next time
        cur = { seriesStart: p.series_start, t: [] };
        for (const c of COLUMNS) cur[c] = [];
        state.history.set(p.pid, cur);
      }
      cur.latest = p.latest; // the live sample, newer than the last point
      for (let i = 0; i < p.t.length; i++) {
        if (cur.t.length && p.t[i] <= cur.t[cur.t.length - 1]) continue;
        cur.t.push(p.t[i]);
        for (const c of COLUMNS) cur[c].push(p[c] ? p[c][i] : null);
        state.lastT = Math.max(state.lastT, p.t[i]);
      }
      const cutoff = state.now - state.windowMs;
      let drop = 0;
      while (drop < cur.t.length && cur.t[drop] < cutoff) drop++;
      if (drop) for (const c of ["t", ...COLUMNS]) cur[c].splice(0, drop);
    }
    for (const pid of [...state.history.keys()]) if (!listed.has(pid)) state.history.delete(pid);
    if (restart) state.lastT = 0;
  }

  // latest is a process's live value of a column, else its last recorded one.
  function latest(pid, key) {
    const h = state.history.get(pid);
    if (!h) return null;
    if (h.latest) return h.latest[key];
    return h.t.length ? h[key][h.t.length - 1] : null;
  }

  // points returns [t, value] pairs of a column: the recorded points, then
  // the live sample when it is newer.
  function points(pid, key) {
    const h = state.history.get(pid);
    if (!h) return [];
    const pts = h.t.map((t, i) => [t, h[key][i]]);
    if (h.latest && (!h.t.length || h.latest.t > h.t[h.t.length - 1])) pts.push([h.latest.t, h.latest[key]]);
    return pts;
  }

  // span is the time a chart covers: since the first point (at least 5
  // minutes), at most the window.
  function span(pts) {
    const first = pts.length ? pts[0][0] : state.now;
    return Math.min(state.windowMs, Math.max(5 * 60 * 1000, state.now - first));
  }

  function ago(ms) {
    return ms >= 60 * 60 * 1000 ? "−" + Math.round(ms / 3600000) + " h" : "−" + Math.round(ms / 60000) + " min";
  }

  // chart draws one column of a process's history (up to the last window)
  // as an SVG line, split where values are unknown, with a dot on the newest point.
  function chart(pid, s, w, h, withAxes) {
    const pts = points(pid, s.key);
    const svg = svgEl("svg", {
      width: w, height: h, viewBox: `0 0 ${w} ${h}`, class: withAxes ? "chart-svg" : "spark",
      "data-series": s.key, "data-pid": pid, role: "img",
    });
    const title = svgEl("title");
    const pad = withAxes ? { l: 4, r: 4, t: 14, b: 14 } : { l: 2, r: 2, t: 2, b: 2 };
    const t1 = Math.max(state.now, ...pts.map((p) => p[0])), t0 = t1 - span(pts);
    const known = pts.filter((p) => p[1] !== null && p[1] !== undefined);
    svg.setAttribute("data-points", known.length);
    const max = Math.max(1, ...known.map((p) => p[1])) * 1.05;
    const x = (t) => pad.l + ((Math.min(Math.max(t, t0), t1) - t0) / (t1 - t0)) * (w - pad.l - pad.r);
    const y = (v) => h - pad.b - (v / max) * (h - pad.t - pad.b);
    if (withAxes) {
      svg.append(svgEl("line", { class: "axis", x1: pad.l, y1: h - pad.b, x2: w - pad.r, y2: h - pad.b }));
      const top = svgEl("text", { x: pad.l, y: 10 });
      top.textContent = "max " + s.fmt(known.length ? Math.max(...known.map((p) => p[1])) : null);
      const left = svgEl("text", { x: pad.l, y: h - 2 });
      left.textContent = ago(t1 - t0);
      const right = svgEl("text", { x: w - pad.r, y: h - 2, "text-anchor": "end" });
      right.textContent = "now";
      svg.append(top, left, right);
    }
    let seg = [];
    const flush = () => {
      if (seg.length > 1) svg.append(svgEl("polyline", { class: "line", points: seg.join(" ") }));
      seg = [];
    };
    for (const [t, v] of pts) {
      if (v === null || v === undefined) { flush(); continue; }
      seg.push(x(t).toFixed(1) + "," + y(v).toFixed(1));
    }
    flush();
    if (known.length) {
      const [t, v] = known[known.length - 1];
      svg.append(svgEl("circle", { class: "dot", cx: x(t).toFixed(1), cy: y(v).toFixed(1), r: withAxes ? 2.5 : 1.8 }));
      title.textContent = `${s.title}: ${s.fmt(v)} at ${clock(t)}`;
    } else {
      title.textContent = `${s.title}: no data`;
    }
    svg.prepend(title);
    return svg;
  }

  function renderProcesses() {
    const rows = state.processes.map((p) => {
      const tr = el("tr", { class: "process", "data-pid": p.pid, "data-state": p.state, id: "process-" + p.pid });
      if (p.pid === state.selected) tr.classList.add("selected");
      const pod = p.pod ? (p.namespace ? p.namespace + "/" : "") + p.pod + (p.container ? " (" + p.container + ")" : "") : "–";
      const st = el("td", { "data-field": "state" }, p.state);
      if (p.reason) st.setAttribute("title", p.reason);
      const comm = el("td", { "data-field": "comm" }, p.comm);
      if (p.exe) comm.setAttribute("title", p.exe);
      const kinds = el("td", { "data-field": "findings" }, ...(p.findings || []).map((k) => el("span", { class: "kind", "data-kind": k }, k)));
      const charts = el("td", { "data-field": "charts" }, ...SPARK_SERIES.map((s) => chart(p.pid, s, 100, 26, false)));
      tr.append(
        el("td", { "data-field": "pid" }, String(p.pid)),
        comm,
        el("td", { "data-field": "go_version" }, p.go_version || "–"),
        el("td", { "data-field": "pod" }, pod),
        st,
        el("td", { "data-field": "rss", class: "num" }, bytes(p.rss_bytes ?? latest(p.pid, "rss_bytes"))),
        el("td", { "data-field": "heap", class: "num" }, bytes(latest(p.pid, "heap_inuse_bytes"))),
        el("td", { "data-field": "goroutines", class: "num" }, count(latest(p.pid, "goroutines"))),
        el("td", { "data-field": "finalizer_queue", class: "num" }, count(latest(p.pid, "finalizer_queue"))),
        kinds,
        charts,
      );
      tr.addEventListener("click", () => select(p.pid));
      return tr;
    });
    document.getElementById("process-rows").replaceChildren(...rows);
    document.getElementById("processes-count").textContent = "(" + state.processes.length + ")";
  }

  function renderFindings() {
    const box = document.getElementById("findings");
    document.getElementById("findings-count").textContent = "(" + state.findings.length + ")";
    if (!state.findings.length) {
      box.replaceChildren(el("p", { class: "empty" }, "none"));
      return;
    }
    const rank = { critical: 0, warning: 1 };
    const sorted = [...state.findings].sort((a, b) => (rank[a.severity] ?? 2) - (rank[b.severity] ?? 2) || a.pid - b.pid);
    box.replaceChildren(...sorted.map((f) => {
      const div = el("div", { class: "finding", "data-pid": f.pid, "data-kind": f.kind, "data-severity": f.severity });
      div.append(el("div", { class: "head" },
        el("span", { class: "severity" }, f.severity),
        el("span", { class: "kind", "data-kind": f.kind }, f.kind),
        el("span", { class: "proc" }, "pid " + f.pid + " " + f.comm + (f.namespace ? " (" + f.namespace + ")" : "")),
        el("span", { class: "since" }, "since " + clock(f.since)),
      ));
      div.append(el("p", { class: "summary" }, f.summary));
      const ev = f.evidence || {};
      if (Array.isArray(ev.stack) && ev.stack.length) {
        div.append(el("ol", { class: "stack", "data-role": "stack" }, ...ev.stack.map((fr) => el("li", { class: "frame" }, String(fr)))));
      }
      const rest = Object.entries(ev).filter(([k]) => k !== "stack");
      if (rest.length) {
        const dl = el("dl", { class: "evidence" });
        for (const [k, v] of rest) {
          const text = typeof v === "object" ? JSON.stringify(v) :
            typeof v === "number" && !Number.isInteger(v) ? v.toFixed(2) : String(v);
          dl.append(el("dt", {}, k), el("dd", { "data-key": k }, text.length > 300 ? text.slice(0, 300) + "…" : text));
        }
        div.append(dl);
      }
      if (f.evidence_url) {
        div.append(el("p", { class: "evidence-link" },
          el("a", { href: f.evidence_url, "data-role": "evidence" }, "evidence: the sample, goroutines and heap profile when it fired")));
      }
      div.addEventListener("click", () => select(f.pid));
      return div;
    }));
  }

  function renderDetail() {
    const p = state.processes.find((q) => q.pid === state.selected);
    const title = document.getElementById("detail-title");
    const box = document.getElementById("detail-charts");
    if (!p) {
      title.textContent = "Select a process";
      box.replaceChildren();
      return;
    }
    title.textContent = "pid " + p.pid + " " + p.comm + ": the last hour";
    box.setAttribute("data-pid", p.pid);
    box.replaceChildren(...SERIES.map((s) =>
      el("div", { class: "chart", "data-series": s.key }, el("h3", {}, s.title), chart(p.pid, s, 360, 110, true))));
    if (p.state === "watching") {
      const base = "/api/v1/processes/" + p.pid + "/pprof/";
      box.append(el("p", { class: "profiles", "data-role": "profiles" }, "pprof, read now: ",
        el("a", { href: base + "heap" }, "heap"), " · ", el("a", { href: base + "goroutine" }, "goroutine")));
    }
  }

  function select(pid) {
    state.selected = pid;
    history.replaceState(null, "", "#pid=" + pid);
    render();
  }

  // defaultSelection picks a process with a finding, else the first watched one.
  function defaultSelection() {
    if (state.processes.some((p) => p.pid === state.selected)) return;
    const hit = state.processes.find((p) => (p.findings || []).length) ||
      state.processes.find((p) => p.state === "watching") || state.processes[0];
    state.selected = hit ? hit.pid : 0;
  }

  function render() {
    defaultSelection();
    renderFindings();
    renderProcesses();
    renderDetail();
  }

  function setStatus(kind, text) {
    const s = document.getElementById("status");
    s.setAttribute("data-state", kind);
    s.textContent = text;
  }

  async function refresh() {
    try {
      const since = state.lastT ? "?since=" + Math.max(0, state.lastT - 60000) : "";
      const [procs, finds, hist] = await Promise.all([
        getJSON("/api/v1/processes"), getJSON("/api/v1/findings"), getJSON("/api/v1/history" + since),
      ]);
      state.processes = procs.processes || [];
      state.findings = finds.findings || [];
      mergeHistory(hist);
      render();
      state.refreshes++;
      document.body.setAttribute("data-refreshes", state.refreshes);
      const watched = state.processes.filter((p) => p.state === "watching").length;
      setStatus("ok", "updated " + clock(procs.time) + " · " + watched + " watched · refresh every " + REFRESH_MS / 1000 + " s");
    } catch (e) {
      setStatus("error", "agent unreachable: " + e.message + " (retrying)");
    }
    setTimeout(refresh, REFRESH_MS);
  }

  refresh();
})();
