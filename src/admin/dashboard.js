// The spliced dashboard. On open it loads the server's history
// (`stats/history?window=15m`: rates and latency quantiles per scope, already
// computed), so the charts are full at once; then each `/events` message (one
// stats snapshot a second, carrying the history's last points) appends the new
// points and refreshes the tiles and tables. Control buttons call the admin
// API with the token typed into the header (kept in sessionStorage). Every URL
// is relative: the page's <base> points at the admin app's mount.
"use strict";
(() => {
  const TOKEN_KEY = "spliced.adminToken";
  const $ = (sel) => document.querySelector(sel);

  // ---- formatting -------------------------------------------------------
  const UNITS = ["B", "kB", "MB", "GB", "TB"]; // decimal, as network rates are usually given
  function bytes(n) {
    let i = 0;
    while (Math.abs(n) >= 1000 && i < UNITS.length - 1) { n /= 1000; i++; }
    return `${i === 0 ? Math.round(n) : n.toFixed(n < 10 ? 2 : 1)} ${UNITS[i]}`;
  }
  const count = (n) => Math.round(n).toLocaleString("en-US");
  const rate = (n) => (n >= 100 ? count(n) : n.toFixed(n >= 10 ? 1 : 2));
  function seconds(s) {
    if (s === null || s === undefined) return "–";
    if (s < 1e-3) return `${(s * 1e6).toFixed(0)} µs`;
    if (s < 1) return `${(s * 1e3).toFixed(s < 0.01 ? 2 : 1)} ms`;
    return `${s.toFixed(2)} s`;
  }
  function duration(s) {
    if (s < 60) return `${s.toFixed(1)}s`;
    if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, "0")}s`;
    return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  }
  const pct = (part, whole) => (whole > 0 ? `${((100 * part) / whole).toFixed(1)} %` : "–");

  // ---- axes: SI units, distinct labels, whole-number counts, clock times -
  /** Decimals that show `step` exactly (steps are 1, 2 or 5 times a power of ten). */
  function decimalsOf(step) {
    for (let d = 0; d < 9; d++) if (Math.abs(Math.round(step * 10 ** d) - step * 10 ** d) < 1e-6) return d;
    return 9;
  }
  const PREFIXES = ["", "k", "M", "G", "T", "P"];
  /** Tick labels in one SI prefix (from the largest tick) with as many decimals as the step needs. */
  function siLabels(unit, space) {
    return (_u, ticks, _axis, _space, step) => {
      const max = Math.max(0, ...ticks.map(Math.abs));
      const p = max >= 1000 ? Math.min(PREFIXES.length - 1, Math.floor(Math.log10(max) / 3)) : 0;
      const scale = 1000 ** p;
      const d = decimalsOf(step / scale);
      return ticks.map((t) => `${(t / scale).toFixed(d)}${space}${PREFIXES[p]}${unit}`);
    };
  }
  function latencyLabels(_u, ticks, _axis, _space, step) {
    const max = Math.max(0, ...ticks);
    const [scale, unit] = max < 1e-3 ? [1e-6, "µs"] : max < 1 ? [1e-3, "ms"] : [1, "s"];
    const d = decimalsOf(step / scale);
    return ticks.map((t) => `${(t / scale).toFixed(d)} ${unit}`);
  }
  function steps(from, to) {
    const out = [];
    for (let e = from; e <= to; e++) for (const m of [1, 2, 5]) out.push(Number((m * 10 ** e).toPrecision(1)));
    return out;
  }
  const pad = (n) => String(n).padStart(2, "0");
  function clockLabels(_u, ticks, _axis, _space, step) {
    return ticks.map((t) => {
      const d = new Date(t * 1000);
      const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
      return step < 60 ? `${hm}:${pad(d.getSeconds())}` : hm;
    });
  }
  const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
  const AXES = {
    // idle: the top of the axis with no data; least: the lowest top (a count axis needs at least 0 and 1)
    bytes: { values: siLabels("B/s", " "), incrs: steps(0, 15), size: 82, idle: 1000, least: 10 },
    count: { values: siLabels("", ""), incrs: steps(0, 15), size: 50, idle: 1, least: 1 },
    seconds: { values: latencyLabels, incrs: steps(-7, 4), size: 70, idle: 0.001, least: 1e-5 },
  };
  const timeAxis = () => ({ values: clockLabels, incrs: TIME_STEPS, space: 70 });

  // ---- token and API calls ----------------------------------------------
  const tokenInput = $("#token");
  tokenInput.value = sessionStorage.getItem(TOKEN_KEY) ?? "";
  function authHeaders(extra = {}) {
    const token = tokenInput.value.trim();
    return token ? { ...extra, authorization: `Bearer ${token}` } : extra;
  }
  function say(text, isError = false) {
    const el = $("#message");
    el.textContent = text;
    el.className = isError ? "error" : "";
  }
  async function errorText(res) {
    try {
      const body = await res.json();
      return `${res.status} ${body.error?.code ?? ""}: ${body.error?.message ?? ""}`;
    } catch {
      return `${res.status} ${res.statusText}`;
    }
  }
  async function control(method, path, body) {
    const init = { method, headers: authHeaders(body ? { "content-type": "application/json" } : {}) };
    if (body) init.body = JSON.stringify(body);
    const res = await fetch(path, init);
    if (!res.ok) throw new Error(await errorText(res));
    return res.json();
  }
  async function getJson(path) {
    const res = await fetch(path, { headers: authHeaders() });
    if (!res.ok) throw new Error(await errorText(res));
    return res.json();
  }

  // ---- the history: time, and per scope key ("totals", "route:web/api", ...) a column per number
  const store = { window: "15m", time: [], interval: [], scopes: new Map(), loaded: false };
  const WINDOW_POINTS = { "15m": 900, "1h": 60, "24h": 1440 };
  function columns(scope) {
    const cols = new Map();
    for (const [k, v] of Object.entries(scope.rates)) cols.set(`rates.${k}`, v);
    for (const [k, v] of Object.entries(scope.gauges)) cols.set(`gauges.${k}`, v);
    for (const [h, qs] of Object.entries(scope.latency)) for (const [q, v] of Object.entries(qs)) cols.set(`latency.${h}.${q}`, v);
    return cols;
  }
  function scopesOf(doc) {
    const out = [["totals", doc.totals]];
    for (const kind of ["listener", "route", "upstream"]) for (const [name, s] of Object.entries(doc[`${kind}s`])) out.push([`${kind}:${name}`, s]);
    return out;
  }
  function loadHistory(doc) {
    store.window = doc.window;
    store.time = doc.time.map((t) => t / 1000);
    store.interval = [...doc.interval_seconds];
    store.scopes = new Map(scopesOf(doc).map(([key, s]) => [key, columns(s)]));
    store.loaded = true;
  }
  /** Appends the points of `doc` newer than the last one held (an event carries the last few). */
  function appendHistory(doc) {
    const last = store.time.at(-1) ?? -Infinity;
    const fresh = doc.time.map((t, i) => [t / 1000, i]).filter(([t]) => t > last);
    if (fresh.length === 0) return false;
    const incoming = new Map(scopesOf(doc).map(([key, s]) => [key, columns(s)]));
    for (const [key, cols] of incoming) {
      if (store.scopes.has(key)) continue;
      store.scopes.set(key, new Map([...cols.keys()].map((c) => [c, store.time.map(() => null)])));
    }
    for (const [t, i] of fresh) {
      store.time.push(t);
      store.interval.push(doc.interval_seconds[i]);
      for (const [key, cols] of store.scopes) {
        const from = incoming.get(key);
        for (const [c, list] of cols) list.push(from?.get(c)?.[i] ?? null);
      }
    }
    const extra = store.time.length - WINDOW_POINTS[store.window];
    if (extra > 0) {
      store.time.splice(0, extra);
      store.interval.splice(0, extra);
      for (const cols of store.scopes.values()) for (const list of cols.values()) list.splice(0, extra);
    }
    return true;
  }
  function column(key, col) {
    return store.scopes.get(key)?.get(col) ?? store.time.map(() => null);
  }
  /** Rate over the last `secs` seconds (whole points), weighted by each point's interval. */
  function recentRate(key, col, secs) {
    const list = column(key, col);
    let n = 0, t = 0;
    for (let i = list.length - 1; i >= 0 && t < secs; i--) {
      if (list[i] === null) continue;
      n += list[i] * store.interval[i];
      t += store.interval[i];
    }
    return t > 0 ? n / t : null;
  }
  function lastValue(key, col, secs = 10) {
    const list = column(key, col);
    let t = 0;
    for (let i = list.length - 1; i >= 0 && t < secs; i--) {
      t += store.interval[i];
      if (list[i] !== null) return list[i];
    }
    return null;
  }

  // ---- charts -----------------------------------------------------------
  const C = { blue: "#2563eb", green: "#16a34a", red: "#dc2626", purple: "#9333ea", amber: "#d97706", gray: "#64748b", teal: "#0d9488", pink: "#db2777" };
  const CHARTS = [
    { id: "c-path", axis: "bytes", series: [["spliced", "rates.bytes_spliced", C.blue], ["sendfile", "rates.bytes_sendfile", C.green], ["copied", "rates.bytes_copied", C.red]] },
    { id: "c-latency", axis: "seconds", series: [
      ["request p50", "latency.http_request_seconds.p50", C.green], ["request p95", "latency.http_request_seconds.p95", C.amber],
      ["request p99", "latency.http_request_seconds.p99", C.red]] },
    { id: "c-connect", axis: "seconds", series: [
      ["connect p50", "latency.upstream_connect_seconds.p50", C.green], ["connect p95", "latency.upstream_connect_seconds.p95", C.amber],
      ["connect p99", "latency.upstream_connect_seconds.p99", C.red]] },
    { id: "c-status", axis: "count", series: [
      ["1xx", "rates.responses_1xx", C.gray], ["2xx", "rates.responses_2xx", C.green], ["3xx", "rates.responses_3xx", C.blue],
      ["4xx", "rates.responses_4xx", C.amber], ["5xx", "rates.responses_5xx", C.red]] },
    { id: "c-errors", axis: "count", series: [
      ["connect failures", "rates.connect_failures", C.red], ["connect timeouts", "rates.connect_timeouts", C.pink],
      ["upstream timeouts", "rates.upstream_timeouts", C.purple], ["send timeouts", "rates.send_timeouts", C.teal],
      ["idle timeouts", "rates.idle_timeouts", C.gray], ["resets", "rates.resets", C.blue],
      ["4xx made by spliced", "rates.local_4xx", C.amber], ["5xx made by spliced", "rates.local_5xx", "#7f1d1d"]] },
    { id: "c-rate", axis: "count", series: [["connections/s", "rates.connections_total", C.blue], ["requests/s", "rates.requests_total", C.green]] },
    { id: "c-open", axis: "count", series: [["open connections", "gauges.connections_active", C.blue]] },
    { id: "c-dir", axis: "bytes", series: [["client→upstream", "rates.bytes_client_to_upstream", C.blue], ["upstream→client", "rates.bytes_upstream_to_client", C.green]] },
  ];
  let scopeKey = "totals";
  /** Mirrors the tick labels uPlot drew (and the tick values) into the DOM, for people and tests. */
  function mirrorTicks(u) {
    const [x, y] = u.axes;
    u.root.dataset.xTicks = JSON.stringify(x._values ?? []);
    u.root.dataset.yTicks = JSON.stringify(y._values ?? []);
    u.root.dataset.ySplits = JSON.stringify(y._splits ?? []);
  }
  /** Points with no neighbour (a second with one observation, between gaps): drawn as dots, as a line cannot show them. */
  function isolated(u, si) {
    const ys = u.data[si], out = [];
    for (let i = 0; i < ys.length; i++) if (ys[i] != null && ys[i - 1] == null && ys[i + 1] == null) out.push(i);
    return out;
  }
  function chart(def) {
    const el = document.getElementById(def.id);
    if (typeof uPlot === "undefined" || !el) return null; // asset missing: tables still work
    const axis = AXES[def.axis];
    const opts = {
      width: Math.max(300, el.clientWidth), height: 210, legend: { live: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? Math.max(axis.least, max * 1.1) : axis.idle] } },
      axes: [timeAxis(), { values: axis.values, incrs: axis.incrs, size: axis.size }],
      series: [{}, ...def.series.map(([label, , stroke]) => ({ label, stroke, width: 2, points: { show: true, size: 5, fill: stroke, filter: isolated } }))],
      hooks: { draw: [mirrorTicks] },
    };
    const u = new uPlot(opts, data(def), el);
    return { u, def, el };
  }
  function data(def) {
    return [store.time, ...def.series.map(([, col]) => column(scopeKey, col))];
  }
  const charts = CHARTS.map(chart).filter(Boolean);
  function redraw() {
    for (const c of charts) c.u.setData(data(c.def));
  }
  window.addEventListener("resize", () => {
    for (const c of charts) c.u.setSize({ width: Math.max(300, c.el.clientWidth), height: 210 });
  });

  // ---- selectors ----------------------------------------------------------
  const scopeSelect = $("#scope");
  function scopeLabel(key) {
    if (key === "totals") return "whole proxy";
    const [kind, ...rest] = key.split(":");
    return `${kind} ${rest.join(":")}`;
  }
  function syncScopes() {
    const keys = [...store.scopes.keys()].filter((k) => !k.startsWith("upstream:") || store.scopes.size < 40);
    const have = [...scopeSelect.options].map((o) => o.value);
    if (have.join("\n") === keys.join("\n")) return;
    scopeSelect.replaceChildren(...keys.map((k) => new Option(scopeLabel(k), k, false, k === scopeKey)));
    if (!keys.includes(scopeKey)) scopeKey = "totals";
  }
  scopeSelect.addEventListener("change", () => {
    scopeKey = scopeSelect.value;
    redraw();
  });
  const windowSelect = $("#window");
  let lastFetch = 0;
  async function fetchHistory(window) {
    lastFetch = Date.now();
    try {
      const doc = await getJson(`stats/history?window=${window}`);
      if (window !== windowSelect.value) return;
      loadHistory(doc);
      $("#history-note").textContent = `loaded ${doc.time.length} points of the server's history, ${doc.step_seconds} s apart`;
      syncScopes();
      redraw();
      renderTiles();
    } catch (err) {
      $("#history-note").textContent = `history: ${err.message}`;
    }
  }
  windowSelect.addEventListener("change", () => fetchHistory(windowSelect.value));

  // ---- snapshots --------------------------------------------------------
  let previous;
  let events = 0;
  function renderTiles() {
    const r = (col) => lastValue("totals", col, 3);
    const conns = r("rates.connections_total"), reqs = r("rates.requests_total");
    if (conns !== null) $("#t-conn-rate").textContent = rate(conns);
    if (reqs !== null) $("#t-req-rate").textContent = rate(reqs);
    $("#t-p99").textContent = seconds(lastValue("totals", "latency.http_request_seconds.p99"));
    const c2u = r("rates.bytes_client_to_upstream"), u2c = r("rates.bytes_upstream_to_client");
    if (c2u !== null) $("#t-rate").textContent = `${bytes(c2u + u2c)}/s`;
    const kinds = ["connect_failures", "connect_timeouts", "upstream_timeouts", "send_timeouts", "idle_timeouts", "errors"];
    const errs = kinds.map((k) => r(`rates.${k}`));
    if (errs[0] !== null) $("#t-error-rate").textContent = rate(errs.reduce((a, b) => a + (b ?? 0), 0));
  }
  function onSnapshot(s) {
    events++;
    const t = s.totals;
    $("#meta").textContent = `${s.runtime} · up ${duration(s.uptime_seconds)} · config generation ${s.generation} · ${s.workers.length} workers`;
    $("#t-active").textContent = count(t.connections_active);
    $("#t-bytes").textContent = bytes(t.bytes_client_to_upstream + t.bytes_upstream_to_client);
    const kernel = t.bytes_spliced + (t.bytes_sendfile ?? 0);
    $("#t-zero-copy").textContent = pct(kernel, kernel + t.bytes_copied);
    $("#t-errors").textContent = count(t.errors + t.connect_failures + t.connect_timeouts + (t.upstream_timeouts ?? 0));
    if (s.history && store.loaded && store.window === "15m" && appendHistory(s.history)) {
      syncScopes();
      redraw();
    } else if (store.window !== "15m" && Date.now() - lastFetch > 30_000) {
      fetchHistory(store.window);
    }
    renderTiles();
    previous = s;
    renderTables(s);
  }
  function renderTables(s) {
    renderRoutes(s);
    renderHealth(s);
    renderListeners(s);
    renderUpstreams(s);
  }

  // ---- tables -----------------------------------------------------------
  function cells(tr, values) {
    values.forEach((v, i) => {
      let td = tr.children[i];
      if (!td) td = tr.appendChild(document.createElement("td"));
      if (typeof v === "number") { td.className = "n"; td.textContent = count(v); }
      else if (v instanceof Node) { if (td.firstChild !== v) td.replaceChildren(v); }
      else td.textContent = v;
    });
  }
  function numeric(tr, from) {
    for (let i = from; i < tr.children.length; i++) tr.children[i].classList.add("n");
  }
  function keyedRows(tbody, keys, make) {
    const current = [...tbody.rows].map((r) => r.dataset.id);
    if (current.join("\n") !== keys.join("\n")) {
      tbody.replaceChildren(...keys.map((k) => {
        const tr = make ? make(k) : document.createElement("tr");
        tr.dataset.id = k;
        return tr;
      }));
    }
    return new Map([...tbody.rows].map((r) => [r.dataset.id, r]));
  }
  function emptyRow(tbody, columns, text) {
    const td = document.createElement("td");
    td.colSpan = columns; td.className = "empty"; td.textContent = text;
    const tr = document.createElement("tr");
    tr.append(td);
    tbody.replaceChildren(tr);
  }
  function renderRoutes(s) {
    const tbody = $("#routes tbody");
    const ids = Object.keys(s.routes);
    if (ids.length === 0) return emptyRow(tbody, 9, "no HTTP routes");
    const rows = keyedRows(tbody, ids);
    for (const [id, r] of Object.entries(s.routes)) {
      const key = `route:${id}`;
      const reqs = recentRate(key, "rates.requests_total", 10);
      const classes = ["1xx", "2xx", "3xx", "4xx", "5xx"].map((c) => recentRate(key, `rates.responses_${c}`, 60) ?? 0);
      const all = classes.reduce((a, b) => a + b, 0);
      const kernel = r.bytes_spliced + (r.bytes_sendfile ?? 0);
      cells(rows.get(id), [id, `${r.host ?? "*"}${r.path}`, r.target, reqs === null ? "–" : rate(reqs),
        seconds(lastValue(key, "latency.http_request_seconds.p99")), pct(classes[4], all),
        bytes(kernel), bytes(r.bytes_copied), pct(kernel, kernel + r.bytes_copied)]);
      numeric(rows.get(id), 3);
    }
  }
  function ago(iso) {
    if (!iso) return "–";
    const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    return `${duration(s)} ago`;
  }
  function renderHealth(s) {
    const tbody = $("#health tbody");
    const ids = Object.keys(s.upstreams);
    if (ids.length === 0) return emptyRow(tbody, 6, "no upstreams");
    const rows = keyedRows(tbody, ids, (id) => {
      const tr = document.createElement("tr");
      tr.parts = { badge: Object.assign(document.createElement("span"), { className: "health" }) };
      tr.dataset.id = id;
      return tr;
    });
    for (const [id, u] of Object.entries(s.upstreams)) {
      const tr = rows.get(id);
      const health = u.health ?? "unchecked";
      tr.parts.badge.textContent = health;
      tr.parts.badge.className = `health ${health}`;
      cells(tr, [id, tr.parts.badge, ago(u.last_check), u.consecutive_successes ?? 0, u.consecutive_failures ?? 0, u.last_error ?? ""]);
      tr.children[5].className = "last-error";
    }
  }
  function renderListeners(s) {
    const rows = keyedRows($("#listeners tbody"), Object.keys(s.listeners));
    for (const [name, l] of Object.entries(s.listeners)) {
      cells(rows.get(name), [name, l.mode, l.listen, l.connections_active, l.connections_total,
        bytes(l.bytes_client_to_upstream), bytes(l.bytes_upstream_to_client), bytes(l.bytes_spliced), bytes(l.bytes_copied), l.errors]);
    }
  }
  function upstreamRow(id) {
    const tr = document.createElement("tr");
    const state = document.createElement("span");
    state.className = "state";
    const health = document.createElement("span");
    const weight = document.createElement("input");
    weight.type = "number"; weight.min = "0"; weight.max = "1000"; weight.className = "weight";
    weight.addEventListener("change", () => act(id, "weight", Number(weight.value)));
    const actions = document.createElement("span");
    for (const action of ["drain", "disable", "enable"]) {
      const b = document.createElement("button");
      b.type = "button"; b.textContent = action; b.dataset.action = action;
      b.addEventListener("click", () => act(id, action));
      actions.append(b);
    }
    tr.parts = { state, health, weight, actions };
    return tr;
  }
  function renderUpstreams(s) {
    const rows = keyedRows($("#upstreams tbody"), Object.keys(s.upstreams), upstreamRow);
    for (const [id, u] of Object.entries(s.upstreams)) {
      const tr = rows.get(id);
      const { state, health, weight, actions } = tr.parts;
      state.textContent = u.state;
      state.className = `state ${u.state}`;
      health.textContent = u.health ?? "unchecked";
      health.className = `health ${u.health ?? "unchecked"}`;
      if (document.activeElement !== weight) weight.value = String(u.weight);
      cells(tr, [id, state, health, weight, u.connections_active, u.connections_total, u.connect_failures,
        bytes(u.bytes_client_to_upstream), bytes(u.bytes_upstream_to_client), actions]);
    }
  }
  async function act(id, action, weight) {
    const path = `upstreams/${encodeURIComponent(id)}/${action}`;
    try {
      const u = action === "weight" ? await control("PUT", path, { weight }) : await control("POST", path);
      say(`${id}: ${u.state}, weight ${u.weight}`);
      if (previous) renderUpstreams({ ...previous, upstreams: { ...previous.upstreams, [id]: { ...previous.upstreams[id], ...u } } });
    } catch (err) {
      say(`${id}: ${action} failed: ${err.message}`, true);
    }
  }
  async function refreshConnections() {
    try {
      const { connections } = await getJson("stats/connections?limit=50");
      $("#conn-count").textContent = `(${connections.length}${connections.length === 50 ? "+" : ""})`;
      const tbody = $("#connections tbody");
      if (connections.length === 0) return emptyRow(tbody, 9, "none");
      tbody.replaceChildren(...connections.map((c) => {
        const tr = document.createElement("tr");
        cells(tr, [c.client, c.listener, c.upstream, c.state, duration(c.age_seconds),
          bytes(c.bytes_client_to_upstream), bytes(c.bytes_upstream_to_client), bytes(c.bytes_spliced), bytes(c.bytes_copied)]);
        tr.children[4].className = "n";
        return tr;
      }));
    } catch {
      // the stream's status dot already says we are disconnected
    }
  }

  // ---- the event stream (fetch, so the token can go in a header) --------
  let stream;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  function parseBlock(block) {
    let event = "message", data = "";
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data += line.slice(5).trimStart();
    }
    if (event === "stats" && data) onSnapshot(JSON.parse(data));
  }
  async function follow(signal) {
    while (!signal.aborted) {
      try {
        const res = await fetch("events", { headers: authHeaders(), signal });
        if (!res.ok) {
          $("#meta").textContent = `events: ${await errorText(res)}`;
        } else {
          $("#live").classList.add("on");
          const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
          let buffer = "";
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buffer += value;
            let end;
            while ((end = buffer.indexOf("\n\n")) >= 0) {
              parseBlock(buffer.slice(0, end));
              buffer = buffer.slice(end + 2);
            }
          }
        }
      } catch {
        // network error or aborted: retry below
      }
      $("#live").classList.remove("on");
      if (!signal.aborted) await sleep(2000);
    }
  }
  async function open() {
    stream?.abort();
    stream = new AbortController();
    previous = undefined;
    const signal = stream.signal;
    await fetchHistory(windowSelect.value);
    try {
      if (!previous) renderTables(await getJson("stats"));
    } catch (err) {
      $("#meta").textContent = `stats: ${err.message}`;
    }
    if (!signal.aborted) follow(signal);
  }
  tokenInput.addEventListener("input", () => sessionStorage.setItem(TOKEN_KEY, tokenInput.value.trim()));
  tokenInput.addEventListener("change", () => {
    open();
    refreshConnections();
  });

  /** For tests and curious people: the history held, how many events arrived, the charts. */
  window.splicedDashboard = {
    store, charts: charts.length,
    events: () => events,
    points: () => store.time.length,
    series: (key, col) => column(key, col),
    chartData: (id) => charts.find((c) => c.def.id === id)?.u.data.map((list) => Array.from(list, (v) => v ?? 0)) ?? null,
  };
  open();
  refreshConnections();
  setInterval(refreshConnections, 2000);
})();
