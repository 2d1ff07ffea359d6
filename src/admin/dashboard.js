// The spliced dashboard: reads the `/events` stream (one stats snapshot a
// second), turns counters into rates, draws them with uPlot, and keeps the
// listener, upstream and connection tables current. Control buttons call the
// admin API with the token typed into the header (kept in sessionStorage).
// Every URL is relative: the page's <base> points at the admin app's mount.
"use strict";
(() => {
  const HISTORY = 120; // points kept per chart (two minutes)
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
  function duration(s) {
    if (s < 60) return `${s.toFixed(1)}s`;
    if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, "0")}s`;
    return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  }

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

  // ---- charts -----------------------------------------------------------
  const history = { time: [], spliced: [], sendfile: [], copied: [], c2u: [], u2c: [], open: [], conns: [], reqs: [] };
  const COLORS = ["#2563eb", "#16a34a", "#dc2626", "#9333ea"];
  const byteAxis = { values: (_u, ticks) => ticks.map((t) => `${bytes(t)}/s`), size: 80 };
  function chart(el, names, axis, keys) {
    if (typeof uPlot === "undefined") return null; // asset missing: tables still work
    const opts = {
      width: Math.max(300, el.clientWidth), height: 200, legend: { live: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [{}, axis],
      series: [{}, ...names.map((label, i) => ({ label, stroke: COLORS[i], width: 2, points: { show: false } }))],
    };
    const u = new uPlot(opts, [history.time, ...keys.map((k) => history[k])], el);
    return { u, keys, el };
  }
  const charts = [
    chart($("#c-path"), ["spliced", "sendfile", "copied"], byteAxis, ["spliced", "sendfile", "copied"]),
    chart($("#c-dir"), ["client→upstream", "upstream→client"], byteAxis, ["c2u", "u2c"]),
    chart($("#c-open"), ["open connections"], {}, ["open"]),
    chart($("#c-rate"), ["connections/s", "requests/s"], {}, ["conns", "reqs"]),
  ].filter(Boolean);
  function redraw() {
    for (const c of charts) c.u.setData([history.time, ...c.keys.map((k) => history[k])]);
  }
  window.addEventListener("resize", () => {
    for (const c of charts) c.u.setSize({ width: Math.max(300, c.el.clientWidth), height: 200 });
  });

  // ---- snapshots --------------------------------------------------------
  let previous;
  function perSecond(cur, prev, field, dt) {
    return Math.max(0, (cur.totals[field] - prev.totals[field]) / dt);
  }
  function onSnapshot(s) {
    const t = s.totals;
    $("#meta").textContent = `${s.runtime} · up ${duration(s.uptime_seconds)} · config generation ${s.generation} · ${s.workers.length} workers`;
    $("#t-active").textContent = count(t.connections_active);
    const moved = t.bytes_client_to_upstream + t.bytes_upstream_to_client;
    $("#t-bytes").textContent = bytes(moved);
    const kernel = t.bytes_spliced + (t.bytes_sendfile ?? 0);
    const byPath = kernel + t.bytes_copied;
    $("#t-zero-copy").textContent = byPath > 0 ? `${((100 * kernel) / byPath).toFixed(1)} %` : "–";
    $("#t-errors").textContent = count(t.errors);
    if (previous) {
      const dt = Math.max(0.001, (s.time - previous.time) / 1000);
      const r = (f) => perSecond(s, previous, f, dt);
      const point = {
        spliced: r("bytes_spliced"), sendfile: t.bytes_sendfile === undefined ? 0 : r("bytes_sendfile"), copied: r("bytes_copied"),
        c2u: r("bytes_client_to_upstream"), u2c: r("bytes_upstream_to_client"), open: t.connections_active,
        conns: r("connections_total"), reqs: t.requests_total === undefined ? 0 : r("requests_total"),
      };
      history.time.push(s.time / 1000);
      for (const [k, v] of Object.entries(point)) history[k].push(v);
      if (history.time.length > HISTORY) for (const list of Object.values(history)) list.shift();
      $("#t-conn-rate").textContent = rate(point.conns);
      $("#t-req-rate").textContent = rate(point.reqs);
      $("#t-rate").textContent = `${bytes(point.c2u + point.u2c)}/s`;
      redraw();
    }
    previous = s;
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
    const healthBadge = document.createElement("span");
    const lastError = document.createElement("span");
    lastError.className = "last-error";
    health.append(healthBadge, lastError);
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
    tr.parts = { state, health, healthBadge, lastError, weight, actions };
    return tr;
  }
  function renderUpstreams(s) {
    const rows = keyedRows($("#upstreams tbody"), Object.keys(s.upstreams), upstreamRow);
    for (const [id, u] of Object.entries(s.upstreams)) {
      const tr = rows.get(id);
      const { state, health, healthBadge, lastError, weight, actions } = tr.parts;
      state.textContent = u.state;
      state.className = `state ${u.state}`;
      healthBadge.textContent = u.health ?? "unchecked";
      healthBadge.className = `health ${u.health ?? "unchecked"}`;
      lastError.textContent = u.last_error ?? "";
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
      const res = await fetch("stats/connections?limit=50", { headers: authHeaders() });
      if (!res.ok) return;
      const { connections } = await res.json();
      $("#conn-count").textContent = `(${connections.length}${connections.length === 50 ? "+" : ""})`;
      const tbody = $("#connections tbody");
      if (connections.length === 0) {
        const td = document.createElement("td");
        td.colSpan = 9; td.className = "empty"; td.textContent = "none";
        tbody.replaceChildren(document.createElement("tr"));
        tbody.rows[0].append(td);
        return;
      }
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
  function restart() {
    stream?.abort();
    stream = new AbortController();
    previous = undefined;
    follow(stream.signal);
  }
  tokenInput.addEventListener("input", () => sessionStorage.setItem(TOKEN_KEY, tokenInput.value.trim()));
  tokenInput.addEventListener("change", () => {
    restart();
    refreshConnections();
  });

  window.splicedDashboard = { history, charts: charts.length };
  restart();
  refreshConnections();
  setInterval(refreshConnections, 2000);
})();
