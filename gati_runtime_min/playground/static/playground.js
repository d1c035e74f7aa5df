// The playground page: the request list, one request's path, replay with diffs, and the debug gates.
// Plain JavaScript, no framework and no build step. Everything shown is set as text (never HTML).
"use strict";

const BASE = "/_gati/playground";
const API = BASE + "/api";
const POLL_MS = 1000;

const state = {
  added: -1, // the store's `added` counter when the list was last drawn
  filter: "",
  selected: null, // the request id shown
  trace: null,
  versions: { current: null, versions: [] },
  handlers: new Set(),
  targets: new Set(["handler"]),
  paths: new Set(),
  paused: new Map(), // pause id -> its card
};

// ------------------------------------------------------------------ helpers
function $(id) {
  return document.getElementById(id);
}

// el("td", {class: "x", testid: "y", title: "z"}, "text", child, ...)
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "testid") node.dataset.testid = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

function pretty(value) {
  if (value === undefined) return "";
  try {
    return JSON.stringify(value, null, 2);
  } catch (err) {
    return String(value);
  }
}

function short(value) {
  if (value === undefined) return "";
  if (typeof value === "string") return JSON.stringify(value);
  return JSON.stringify(value);
}

function ms(value) {
  if (value === null || value === undefined) return "…";
  return value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : Math.round(value).toString();
}

function clock(unixSeconds) {
  const d = new Date(unixSeconds * 1000);
  const two = (n) => String(n).padStart(2, "0");
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, "0")}`;
}

function statusClass(status) {
  return "status-" + String(status || 0).charAt(0);
}

class ApiError extends Error {
  constructor(status, body) {
    const err = body && body.error;
    super(err ? `${err.code}: ${err.message}` : `HTTP ${status}`);
    this.status = status;
    this.code = err ? err.code : null;
  }
}

// `body`: a value to send as JSON, or a string already JSON (sent as it is)
async function api(method, path, body) {
  const init = { method, headers: {} };
  if (method !== "GET") {
    init.headers["content-type"] = "application/json";
    init.body = body === undefined ? "{}" : typeof body === "string" ? body : JSON.stringify(body);
    if (method === "DELETE") delete init.body;
  }
  const response = await fetch(API + path, init);
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (err) {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

function versionLabel(tsv) {
  if (!tsv) return "current";
  const entry = state.versions.versions.find((v) => v.version === tsv);
  const tags = entry && entry.tags.length ? entry.tags.join(", ") + " " : "";
  return tags ? `${tags}(${tsv})` : tsv;
}

function shortVersion(tsv) {
  if (!tsv) return "current";
  const entry = state.versions.versions.find((v) => v.version === tsv);
  return entry && entry.tags.length ? entry.tags[0] : tsv;
}

function remember(set, value, listId) {
  if (!value || set.has(value)) return;
  set.add(value);
  $(listId).append(el("option", { value }));
}

// ------------------------------------------------------------------ tabs
function showView(name) {
  for (const tab of document.querySelectorAll(".tab")) tab.classList.toggle("active", tab.dataset.view === name);
  for (const view of document.querySelectorAll(".view")) view.hidden = view.id !== "view-" + name;
}

function showPane(name) {
  for (const tab of document.querySelectorAll(".subtab")) tab.classList.toggle("active", tab.dataset.pane === name);
  for (const pane of document.querySelectorAll(".pane")) pane.hidden = pane.id !== "pane-" + name;
}

// ------------------------------------------------------------------ the request list
async function pollTraces(force) {
  const query = new URLSearchParams({ limit: "200" });
  if (state.filter) query.set("handler", state.filter);
  const data = await api("GET", "/traces?" + query.toString());
  if (!force && data.added === state.added) return;
  state.added = data.added;
  drawList(data.traces);
}

function drawList(traces) {
  const body = clear($("requests-body"));
  $("requests-empty").hidden = traces.length > 0;
  for (const t of traces) {
    remember(state.handlers, t.handlerId, "known-handlers");
    remember(state.paths, t.path, "known-paths");
    const row = el(
      "tr",
      {
        testid: "request-row",
        "data-request-id": t.requestId,
        "data-handler": t.handlerId || "",
        "data-status": t.status,
        class: t.requestId === state.selected ? "selected" : null,
        title: `request ${t.requestId}`,
        onclick: () => selectTrace(t.requestId),
      },
      el("td", { class: "mono" }, clock(t.startedAt)),
      el("td", { class: "mono" }, t.method),
      el(
        "td",
        { class: "mono" },
        t.path + (t.query ? "?" + t.query : ""),
        t.replayOf ? el("span", { class: "badge replay", title: `replay of ${t.replayOf}` }, "replay") : null,
      ),
      el("td", { class: statusClass(t.status) }, t.status || "-"),
      el("td", { class: "mono", title: t.version || "current" }, shortVersion(t.version)),
      el("td", { class: "mono num" }, ms(t.durationMs)),
      el("td", { class: "mono" }, t.handlerId || "-"),
    );
    body.append(row);
  }
}

// ------------------------------------------------------------------ sending a request
function parseHeaders(text) {
  const headers = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const at = line.indexOf(":");
    if (at <= 0) throw new Error(`not a header line (name: value): ${line}`);
    headers.push([line.slice(0, at).trim(), line.slice(at + 1).trim()]);
  }
  return headers;
}

async function sendRequest(event) {
  event.preventDefault();
  const error = $("send-error");
  const result = $("send-result");
  error.textContent = "";
  const method = $("send-method").value;
  let path = $("send-path").value.trim() || "/";
  if (!path.startsWith("/")) path = "/" + path;
  const init = { method, headers: new Headers() };
  try {
    for (const [name, value] of parseHeaders($("send-headers").value)) init.headers.append(name, value);
  } catch (err) {
    error.textContent = err.message;
    return;
  }
  const version = $("send-version").value;
  if (version) init.headers.set("x-gati-version", version);
  const bodyText = $("send-body").value.trim();
  if (bodyText && method !== "GET" && method !== "HEAD") {
    try {
      JSON.parse(bodyText);
    } catch (err) {
      error.textContent = "the body is not JSON: " + err.message;
      return;
    }
    init.body = bodyText;
    if (!init.headers.has("content-type")) init.headers.set("content-type", "application/json");
  }
  const button = $("send-button");
  button.disabled = true;
  result.hidden = false;
  result.dataset.state = "pending";
  clear(result).append(el("p", { class: "hint" }, `${method} ${path} … waiting for the answer (a gate may hold it)`));
  const started = performance.now();
  try {
    const response = await fetch(path, init);
    const text = await response.text();
    drawSendResult(response, text, performance.now() - started);
  } catch (err) {
    clear(result).append(el("p", { class: "error-text" }, "no answer: " + err.message));
    result.dataset.state = "failed";
  } finally {
    button.disabled = false;
  }
  pollTraces(false).catch(() => {});
}

function drawSendResult(response, text, elapsed) {
  const result = clear($("send-result"));
  result.dataset.state = "done";
  result.dataset.status = String(response.status);
  const rid = response.headers.get("x-request-id");
  const line = el(
    "div",
    { class: "row" },
    el("span", { class: statusClass(response.status), testid: "send-status" }, `${response.status} ${response.statusText}`),
    el("span", { class: "hint" }, `${ms(elapsed)} ms`),
  );
  if (rid) {
    line.append(
      el("button", { type: "button", class: "secondary", testid: "send-open-trace", onclick: () => selectTrace(rid, 10) }, "Open its trace"),
    );
  }
  result.append(line);
  const headerLines = [];
  response.headers.forEach((value, name) => headerLines.push(`${name}: ${value}`));
  result.append(
    el(
      "details",
      {},
      el("summary", {}, `Headers (${headerLines.length})`),
      el("pre", { testid: "send-response-headers" }, headerLines.join("\n")),
    ),
  );
  let body = text;
  try {
    body = text ? pretty(JSON.parse(text)) : "(no body)";
  } catch (err) {
    body = text;
  }
  result.append(el("h3", {}, "Body"), el("pre", { testid: "send-response-body" }, body));
}

// ------------------------------------------------------------------ one request
async function selectTrace(rid, retries) {
  state.selected = rid;
  for (const row of document.querySelectorAll("#requests-body tr")) {
    row.classList.toggle("selected", row.dataset.requestId === rid);
  }
  let trace = null;
  for (let attempt = 0; ; attempt++) {
    try {
      trace = await api("GET", "/traces/" + encodeURIComponent(rid));
      break;
    } catch (err) {
      // the trace is stored once the answer is sent: right after a send it may be a moment away
      if (!(err instanceof ApiError && err.status === 404) || attempt >= (retries || 0)) {
        $("detail-empty").hidden = false;
        $("detail-empty").textContent = err.message;
        $("detail-body").hidden = true;
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  if (state.selected !== rid) return;
  state.trace = trace;
  showView("requests");
  drawTrace(trace);
}

function drawTrace(t) {
  $("detail-empty").hidden = true;
  const body = $("detail-body");
  body.hidden = false;
  body.dataset.requestId = t.requestId;
  $("detail-title").textContent = `${t.method} ${t.path}${t.query ? "?" + t.query : ""} → ${t.status}`;
  $("detail-title").className = statusClass(t.status);
  const rid = encodeURIComponent(t.requestId);
  $("trace-otlp").href = `${API}/traces/${rid}/otlp`;
  $("trace-test").href = `${API}/traces/${rid}/test`;
  $("trace-json").href = `${API}/traces/${rid}`;
  const meta = clear($("detail-meta"));
  const pairs = [
    ["request id", t.requestId],
    ["trace id", t.traceId],
    ["handler", t.handlerId || "-"],
    ["route", t.route || "-"],
    ["version", versionLabel(t.version)],
    ["outcome", t.outcome],
    ["started", new Date(t.startedAt * 1000).toISOString()],
    ["duration", `${ms(t.durationMs)} ms`],
  ];
  for (const [name, value] of pairs) meta.append(el("dt", {}, name), el("dd", { "data-field": name }, value));
  if (t.replayOf) {
    meta.append(
      el("dt", {}, "replay of"),
      el("dd", {}, el("a", { href: "#", onclick: (e) => (e.preventDefault(), selectTrace(t.replayOf)) }, t.replayOf)),
    );
  }
  drawTimeline(t);
  drawEvents(t.events || []);
  drawExchange(t);
  drawSnapshots(t.snapshots || []);
  drawReplayForm();
}

function spanTree(spans) {
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map();
  const roots = [];
  for (const s of spans) {
    if (s.parentId && ids.has(s.parentId)) {
      if (!children.has(s.parentId)) children.set(s.parentId, []);
      children.get(s.parentId).push(s);
    } else {
      roots.push(s);
    }
  }
  const byStart = (a, b) => a.startMs - b.startMs;
  const rows = [];
  const walk = (span, depth) => {
    rows.push({ span, depth });
    for (const child of (children.get(span.spanId) || []).sort(byStart)) walk(child, depth + 1);
  };
  for (const root of roots.sort(byStart)) walk(root, 0);
  return rows;
}

function drawTimeline(t) {
  const box = clear($("timeline"));
  clear($("span-detail")).hidden = true;
  const spans = t.spans || [];
  if (!spans.length) {
    box.append(el("p", { class: "hint" }, "No spans were recorded for this request."));
    return;
  }
  let total = t.durationMs || 0;
  for (const s of spans) total = Math.max(total, s.startMs + s.durationMs);
  total = total || 1;
  const axis = el("div", { class: "axis" }, el("span", {}, "step"));
  const track = el("div", { class: "axis-track" });
  for (const f of [0, 0.25, 0.5, 0.75, 1]) {
    const tick = el("span", { class: "tick" }, `${ms(total * f)} ms`);
    tick.style.left = `${f * 100}%`;
    track.append(tick);
  }
  axis.append(track);
  box.append(axis);
  for (const { span, depth } of spanTree(spans)) {
    const label = el("div", { class: "span-label" }, span.name, el("span", { class: "dur" }, `${ms(span.durationMs)} ms`));
    label.style.paddingLeft = `${depth * 14}px`;
    const bar = el("div", { class: "span-bar" });
    bar.style.left = `${(span.startMs / total) * 100}%`;
    bar.style.width = `${(span.durationMs / total) * 100}%`;
    const attrs = Object.entries(span.attributes || {})
      .map(([k, v]) => `${k} = ${short(v)}`)
      .join("\n");
    const row = el(
      "div",
      {
        class: "span-row",
        testid: "span-row",
        "data-span-name": span.name,
        "data-span-id": span.spanId,
        "data-status": span.status,
        "data-kind": span.kind,
        "data-depth": depth,
        title: `${span.name}\nstart ${ms(span.startMs)} ms, ${ms(span.durationMs)} ms${span.error ? "\n" + span.error : ""}${attrs ? "\n" + attrs : ""}`,
        onclick: () => drawSpanDetail(span, row),
      },
      label,
      el("div", { class: "span-track" }, bar),
    );
    box.append(row);
    const hook = /^hook (?:before|after) (.+)$/.exec(span.name);
    if (hook) remember(state.targets, hook[1], "known-targets");
  }
}

function drawSpanDetail(span, row) {
  for (const r of document.querySelectorAll(".span-row.selected")) r.classList.remove("selected");
  row.classList.add("selected");
  const box = clear($("span-detail"));
  box.hidden = false;
  box.dataset.spanName = span.name;
  box.append(el("h3", {}, span.name));
  const table = el("table", { class: "list" });
  const add = (k, v) => table.append(el("tr", {}, el("th", {}, k), el("td", { class: "mono" }, v)));
  add("kind", span.kind);
  add("status", span.status);
  if (span.error) add("error", span.error);
  add("start", `${ms(span.startMs)} ms`);
  add("duration", `${ms(span.durationMs)} ms`);
  add("span id", span.spanId);
  add("parent", span.parentId || "-");
  for (const [k, v] of Object.entries(span.attributes || {})) add(k, typeof v === "string" ? v : short(v));
  box.append(table);
}

function drawEvents(events) {
  const body = clear($("events").querySelector("tbody"));
  if (!events.length) body.append(el("tr", {}, el("td", { colspan: 3, class: "hint" }, "No lifecycle events.")));
  for (const e of events) {
    const { event, ms: at, ...detail } = e;
    body.append(
      el(
        "tr",
        { testid: "event-row" },
        el("td", { class: "mono" }, ms(at)),
        el("td", { class: "mono" }, event),
        el("td", { class: "mono" }, Object.keys(detail).length ? short(detail) : ""),
      ),
    );
  }
}

function headerBlock(pairs) {
  return el("pre", {}, (pairs || []).map(([k, v]) => `${k}: ${v}`).join("\n") || "(none)");
}

function drawExchange(t) {
  const req = clear($("exchange-request"));
  req.append(
    el("pre", { class: "mono" }, `${t.method} ${t.path}${t.query ? "?" + t.query : ""}`),
    el("h3", {}, "Headers"),
    headerBlock((t.request && t.request.headers) || []),
    el("h3", {}, "Body"),
    el("pre", { testid: "exchange-request-body" }, t.request && t.request.body != null ? pretty(t.request.body) : "(no body)"),
  );
  const r = t.response || {};
  const res = clear($("exchange-response"));
  const headers = Array.isArray(r.headers) ? r.headers : Object.entries(r.headers || {});
  res.append(
    el("pre", { class: statusClass(r.status) }, String(r.status ?? t.status)),
    el("h3", {}, "Headers"),
    headerBlock(headers),
    el("h3", {}, "Body"),
    el("pre", { testid: "exchange-response-body" }, r.body != null ? pretty(r.body) : "(no body)"),
  );
}

function drawSnapshots(snapshots) {
  $("snapshot-count").textContent = String(snapshots.length);
  const box = clear($("snapshots"));
  if (!snapshots.length) {
    box.append(
      el(
        "p",
        { class: "hint" },
        "No snapshots: turn them on for this route with [tool.gati.playground] snapshots = true (or a list of handler ids).",
      ),
    );
    return;
  }
  for (const s of snapshots) {
    const card = el("div", { class: "snapshot", testid: "snapshot", "data-position": s.position }, el("h3", {}, s.position));
    card.append(el("pre", { testid: "snapshot-state" }, pretty(s.state)));
    if (s.published && s.published.length) card.append(el("h3", {}, "Published"), el("pre", {}, pretty(s.published)));
    if (s.redacted && s.redacted.length) card.append(el("p", { class: "hint" }, "redacted: " + s.redacted.join(", ")));
    const details = el("details", {}, el("summary", {}, "request at this point"), el("pre", {}, pretty(s.request)));
    card.append(details);
    box.append(card);
  }
}

// ------------------------------------------------------------------ replay
async function loadVersions() {
  state.versions = await api("GET", "/versions");
  $("current-version").textContent = state.versions.current ? versionLabel(state.versions.current) : "none recorded";
  const send = $("send-version");
  for (const v of [...state.versions.versions].reverse()) {
    send.append(el("option", { value: v.version }, `${versionLabel(v.version)} ${v.status !== "active" ? v.status : ""}`.trim()));
  }
}

function drawReplayForm() {
  const select = clear($("replay-version"));
  const versions = [...state.versions.versions].reverse();
  for (const v of versions) {
    const current = v.version === state.versions.current ? " current" : "";
    select.append(el("option", { value: v.version }, `${versionLabel(v.version)}${current} ${v.status}`));
  }
  const older = versions.find((v) => v.version !== state.versions.current);
  if (older) select.value = older.version;
  $("replay-run").disabled = versions.length === 0;
  $("replay-error").textContent = versions.length ? "" : "This app has no recorded versions (gatic timescape record).";
  clear($("replay-result")).hidden = true;
}

async function runReplay() {
  const rid = state.selected;
  const version = $("replay-version").value;
  const out = $("replay-result");
  $("replay-error").textContent = "";
  $("replay-run").disabled = true;
  out.hidden = false;
  clear(out).append(el("p", { class: "hint" }, `replaying ${rid} as ${versionLabel(version)} …`));
  try {
    const result = await api("POST", "/replay", { requestId: rid, version });
    drawReplay(result);
    pollTraces(false).catch(() => {});
  } catch (err) {
    clear(out).hidden = true;
    $("replay-error").textContent = err.message;
  } finally {
    $("replay-run").disabled = false;
  }
}

function sideOf(side, name) {
  // a side: its run's trace (`requestId`, spans, ...), what was `sent`, `notes`, and the `answer`
  const box = el("div", { class: "side", testid: "replay-side-" + name });
  if (!side) return box;
  if (side.requestId) {
    box.append(
      el(
        "p",
        {},
        "run ",
        el("a", { href: "#", onclick: (e) => (e.preventDefault(), selectTrace(side.requestId)) }, side.requestId),
        side.durationMs != null ? ` in ${ms(side.durationMs)} ms` : "",
      ),
    );
  }
  const sent = side.sent;
  if (sent) {
    box.append(
      el("details", {}, el("summary", {}, `sent ${sent.method} ${sent.path}${sent.query ? "?" + sent.query : ""}`), el("pre", {}, pretty(sent))),
    );
  }
  for (const note of side.notes || []) box.append(el("p", { class: "hint" }, note));
  const answer = side.answer || side.response || {};
  box.append(
    el("pre", { class: statusClass(answer.status) }, String(answer.status ?? "")),
    el("pre", { testid: "replay-answer-body" }, answer.body != null ? pretty(answer.body) : "(no body)"),
  );
  return box;
}

function valueCell(value, present) {
  return el("td", { class: "mono" }, present ? short(value) : "");
}

function drawReplay(r) {
  const out = clear($("replay-result"));
  out.hidden = false;
  out.dataset.same = String(Boolean(r.same));
  const changes = r.responseDiff || [];
  out.append(
    el(
      "p",
      { class: "verdict " + (r.same ? "same" : "differs"), testid: "replay-verdict" },
      r.same
        ? `Same response as ${versionLabel(r.version)} and as current.`
        : `The responses differ: ${changes.length} change${changes.length === 1 ? "" : "s"}.`,
    ),
  );
  out.append(el("h3", {}, "Response diff (left → right)"));
  if (!changes.length) out.append(el("p", { class: "hint" }, "No difference in the response bodies."));
  else {
    const table = el(
      "table",
      { class: "list", testid: "replay-response-diff" },
      el("thead", {}, el("tr", {}, el("th", {}, "op"), el("th", {}, "path"), el("th", {}, "old"), el("th", {}, "new"))),
    );
    const body = el("tbody");
    for (const c of changes) {
      body.append(
        el(
          "tr",
          { class: "diff-" + c.op, testid: "diff-row", "data-op": c.op, "data-path": c.path },
          el("td", { class: "op" }, c.op),
          el("td", { class: "mono" }, c.path),
          valueCell(c.old, c.op !== "added"),
          valueCell(c.new, c.op !== "removed"),
        ),
      );
    }
    table.append(body);
    out.append(table);
  }
  out.append(el("h3", {}, "Trace diff (the steps each run took)"));
  const steps = r.traceDiff || [];
  if (!steps.length) out.append(el("p", { class: "hint" }, "No steps were recorded."));
  else {
    const changed = steps.filter((s) => s.changed).length;
    out.append(
      el("p", { class: "hint", testid: "replay-trace-summary" }, changed ? `${changed} step${changed === 1 ? "" : "s"} differ.` : "The same steps ran on both sides."),
    );
    const table = el(
      "table",
      { class: "list", testid: "replay-trace-diff" },
      el(
        "thead",
        {},
        el("tr", {}, el("th", {}, "step"), el("th", {}, "left ms"), el("th", {}, "right ms"), el("th", {}, "status")),
      ),
    );
    const body = el("tbody");
    for (const s of steps) {
      const kind = s.side === "left" ? "removed" : s.side === "right" ? "added" : s.changed ? "changed" : null;
      const status =
        s.side !== "both" || s.leftStatus === s.rightStatus
          ? s.leftStatus || s.rightStatus
          : `${s.leftStatus} → ${s.rightStatus}`;
      body.append(
        el(
          "tr",
          { class: kind ? "diff-" + kind : null, testid: "trace-diff-row", "data-side": s.side, "data-step": s.step },
          el("td", { class: "mono" }, s.step, s.side !== "both" ? el("span", { class: "replay-mark" }, `${s.side} only`) : null),
          el("td", { class: "mono" }, s.leftMs == null ? "" : ms(s.leftMs)),
          el("td", { class: "mono" }, s.rightMs == null ? "" : ms(s.rightMs)),
          el("td", {}, status || ""),
        ),
      );
    }
    table.append(body);
    out.append(table);
  }
  out.append(
    el(
      "div",
      { class: "two" },
      el("div", {}, el("h3", {}, `Left: as ${versionLabel(r.version)}`), sideOf(r.left, "left")),
      el("div", {}, el("h3", {}, `Right: upgraded${r.upgradedFrom ? " from " + versionLabel(r.upgradedFrom) : ""}, as current ${versionLabel(r.current)}`), sideOf(r.right, "right")),
    ),
  );
}

// ------------------------------------------------------------------ gates
function describeCondition(c) {
  if (!c) return "-";
  return c.op === "exists" ? `${c.path} exists` : `${c.path} ${c.op} ${short(c.value)}`;
}

async function armGate(event) {
  event.preventDefault();
  const error = $("gate-error");
  error.textContent = "";
  const gate = { when: $("gate-when").value, target: $("gate-target").value.trim() || "handler" };
  const handler = $("gate-handler").value.trim();
  gate.handlerId = handler || null;
  const condPath = $("gate-cond-path").value.trim();
  if (condPath) {
    const op = $("gate-cond-op").value;
    const raw = $("gate-cond-value").value.trim();
    let value = null;
    if (op !== "exists" && raw) {
      try {
        value = JSON.parse(raw);
      } catch (err) {
        value = raw; // plain text is a string
      }
    }
    gate.condition = { path: condPath, op, value };
  }
  const timeout = $("gate-timeout").value.trim();
  if (timeout) gate.timeout = Number(timeout);
  gate.onTimeout = $("gate-on-timeout").value;
  try {
    await api("POST", "/gates", gate);
    await pollGates();
  } catch (err) {
    error.textContent = err.message;
  }
}

async function disarm(id) {
  try {
    await api("DELETE", "/gates/" + encodeURIComponent(id));
  } catch (err) {
    $("gate-error").textContent = err.message;
  }
  await pollGates();
}

async function pollGates() {
  const data = await api("GET", "/gates");
  drawGates(data.gates || []);
  drawPaused(data.paused || []);
}

function drawGates(gates) {
  const body = clear($("gates-body"));
  $("gates-empty").hidden = gates.length > 0;
  for (const g of gates) {
    body.append(
      el(
        "tr",
        { testid: "gate-row", "data-gate-id": g.id },
        el("td", { class: "mono" }, g.id),
        el("td", {}, g.when),
        el("td", { class: "mono" }, g.target),
        el("td", { class: "mono" }, g.handlerId || "every route"),
        el("td", { class: "mono" }, describeCondition(g.condition)),
        el("td", {}, g.timeout == null ? "default" : `${g.timeout} s`, g.onTimeout ? `, then ${g.onTimeout}` : ""),
        el("td", {}, el("button", { type: "button", class: "danger", testid: "gate-disarm", onclick: () => disarm(g.id) }, "Disarm")),
      ),
    );
  }
}

function drawPaused(paused) {
  const count = $("paused-count");
  count.textContent = String(paused.length);
  count.classList.toggle("hot", paused.length > 0);
  $("paused-empty").hidden = paused.length > 0;
  const seen = new Set();
  for (const p of paused) {
    seen.add(p.id);
    let card = state.paused.get(p.id);
    if (!card) {
      card = pausedCard(p);
      state.paused.set(p.id, card);
      $("paused").append(card);
    }
    card.querySelector(".age").textContent = `${Math.max(0, Date.now() / 1000 - p.since).toFixed(0)} s`;
  }
  for (const [id, card] of state.paused) {
    if (!seen.has(id) && !card.dataset.busy) {
      card.remove();
      state.paused.delete(id);
    }
  }
}

function pausedCard(p) {
  const snapshot = p.snapshot || {};
  // the state as the server wrote it: sent back as text, `1.0` stays a float
  const original = typeof p.stateText === "string" ? p.stateText : pretty(snapshot.state ?? {});
  const gate = p.gate && typeof p.gate === "object" ? p.gate : null;
  const editor = el("textarea", { testid: "paused-state", spellcheck: "false", rows: 8, "aria-label": "state" });
  editor.value = original;
  const edited = el("span", { class: "edited", hidden: true }, "edited: resume sends this state");
  const message = el("span", { class: "error-text", testid: "paused-error" });
  editor.addEventListener("input", () => (edited.hidden = editor.value === original));
  const card = el(
    "div",
    { class: "paused-card", testid: "paused-card", "data-pause-id": p.id, "data-request-id": p.requestId },
    el(
      "div",
      { class: "row spread" },
      el("strong", { class: "mono" }, `${(snapshot.request && snapshot.request.method) || ""} ${(snapshot.request && snapshot.request.path) || ""}`),
      el("span", { class: "hint" }, "waiting ", el("span", { class: "age" }, "0 s")),
    ),
    el(
      "p",
      { class: "hint" },
      `request ${p.requestId}, handler ${p.handlerId || "-"}, at `,
      el("code", { testid: "paused-position" }, p.position),
      gate ? `, gate ${gate.id}` : p.gate ? `, gate ${p.gate}` : "",
    ),
    el("h3", {}, "State (lctx), editable JSON"),
    editor,
    edited,
    el("details", {}, el("summary", {}, "request"), el("pre", {}, pretty(snapshot.request))),
  );
  const resume = el("button", { type: "button", testid: "paused-resume" }, "Resume");
  const abort = el("button", { type: "button", class: "danger", testid: "paused-abort" }, "Abort");
  const act = async (what) => {
    message.textContent = "";
    let body = {};
    if (what === "resume" && editor.value !== original) {
      let edited;
      try {
        edited = JSON.parse(editor.value);
      } catch (err) {
        message.textContent = "the state is not JSON: " + err.message;
        return;
      }
      if (edited === null || typeof edited !== "object" || Array.isArray(edited)) {
        message.textContent = "the state is a JSON object (the request's whole lctx state)";
        return;
      }
      body = `{"state": ${editor.value}}`; // the text as typed: numbers keep their form
    }
    card.dataset.busy = "1";
    resume.disabled = abort.disabled = true;
    try {
      await api("POST", `/paused/${encodeURIComponent(p.id)}/${what}`, body);
      card.dataset.done = what;
      card.remove();
      state.paused.delete(p.id);
    } catch (err) {
      message.textContent = err.message;
      resume.disabled = abort.disabled = false;
    } finally {
      delete card.dataset.busy;
    }
    pollGates().catch(() => {});
  };
  resume.addEventListener("click", () => act("resume"));
  abort.addEventListener("click", () => act("abort"));
  card.append(el("div", { class: "row" }, resume, abort, message));
  return card;
}

// ------------------------------------------------------------------ start
async function tick() {
  if (!$("live").checked) return;
  try {
    await Promise.all([pollTraces(false), pollGates()]);
    $("status-line").textContent = "";
  } catch (err) {
    $("status-line").textContent = "cannot reach the app: " + err.message;
  }
}

async function start() {
  for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => showView(tab.dataset.view));
  for (const tab of document.querySelectorAll(".subtab")) tab.addEventListener("click", () => showPane(tab.dataset.pane));
  $("send-form").addEventListener("submit", sendRequest);
  $("gate-form").addEventListener("submit", armGate);
  $("replay-run").addEventListener("click", runReplay);
  $("filter-handler").addEventListener("change", () => {
    state.filter = $("filter-handler").value.trim();
    pollTraces(true).catch(() => {});
  });
  try {
    const health = await fetch("/_gati/health").then((r) => r.json());
    $("app-name").textContent = health.app || "";
    document.title = `${health.app} - Gati playground`;
  } catch (err) {
    // the name is a nicety; the API below says whether the app answers
  }
  try {
    await loadVersions();
  } catch (err) {
    $("status-line").textContent = err.message;
  }
  await tick();
  document.body.dataset.ready = "1";
  setInterval(tick, POLL_MS);
}

document.addEventListener("DOMContentLoaded", start);
