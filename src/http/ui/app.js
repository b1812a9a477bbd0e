// The page at /ui/: lists the API's computing operations from /openapi.json, sends the body
// the user pastes or uploads, and shows the answer's KPIs with their breakdowns, the chart
// where the operation draws one, and the equivalent curl command. No framework, no build
// step, nothing fetched from anywhere but this server.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { operations: [], chartUrl: null };

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const child of children) node.append(child instanceof Node ? child : String(child));
  return node;
}

function formatNumber(value) {
  if (typeof value !== "number") return String(value);
  if (Number.isInteger(value)) return value.toLocaleString("en-US");
  return Number(value.toPrecision(6)).toLocaleString("en-US", { maximumFractionDigits: 6 });
}

async function loadOperations() {
  const response = await fetch("/openapi.json");
  const spec = await response.json();
  for (const [path, item] of Object.entries(spec.paths)) {
    const op = item.post;
    if (!op || !op.requestBody) continue;
    const content = op.requestBody.content || {};
    const json = content["application/json"] || {};
    const first = Object.values(json.examples || {})[0];
    const responses = (op.responses && op.responses["200"] && op.responses["200"].content) || {};
    state.operations.push({
      path,
      summary: op.summary || path,
      example: first ? first.value : json.example,
      csvExample: content["text/csv"] ? content["text/csv"].example : null,
      charts: "image/svg+xml" in responses,
    });
  }
  const select = $("operation");
  for (const [i, op] of state.operations.entries()) {
    select.append(el("option", { value: String(i) }, `${op.path} — ${op.summary}${op.charts ? " (chart)" : ""}`));
  }
  const start = state.operations.findIndex((op) => op.path === "/crr");
  select.value = String(Math.max(start, 0));
  onOperation();
}

function current() {
  return state.operations[Number($("operation").value)];
}

function bodyType(text) {
  const t = text.trim();
  return t.startsWith("{") || t.startsWith("[") ? "application/json" : "text/csv";
}

function onOperation() {
  const op = current();
  $("operation-summary").textContent = op.charts
    ? "Answers JSON and draws a chart of the same answer."
    : "";
  loadExample();
}

function loadExample() {
  const op = current();
  $("body").value = op.example !== undefined ? JSON.stringify(op.example, null, 2) : op.csvExample || "";
  $("query").value = "";
  onBody();
}

function onBody() {
  const type = bodyType($("body").value);
  $("body-type").textContent = `(sent as ${type})`;
}

function headers(type, accept) {
  const h = { "content-type": type, accept };
  const key = $("api-key").value.trim();
  if (key) h["x-api-key"] = key;
  return h;
}

function url(op, extra) {
  const type = bodyType($("body").value);
  const params = new URLSearchParams(type === "text/csv" ? $("query").value.trim() : "");
  for (const [k, v] of Object.entries(extra || {})) params.set(k, v);
  const q = params.toString();
  return op.path + (q ? `?${q}` : "");
}

function shellQuote(text) {
  return `'${text.replace(/'/g, `'"'"'`)}'`;
}

function curlCommand(op) {
  const body = $("body").value;
  const type = bodyType(body);
  const parts = [`curl -sS -X POST ${shellQuote(location.origin + url(op))}`, `-H ${shellQuote(`content-type: ${type}`)}`];
  if ($("api-key").value.trim()) parts.push("-H 'x-api-key: YOUR_KEY'");
  parts.push(`--data-binary ${shellQuote(body)}`);
  return parts.join(" \\\n  ");
}

function renderProblem(problem) {
  const box = el("div", { class: "problem" }, el("strong", {}, `${problem.status} ${problem.title || "refused"}`), el("p", {}, problem.detail || ""));
  if (Array.isArray(problem.errors) && problem.errors.length) {
    const list = el("ul", {});
    for (const e of problem.errors) list.append(el("li", {}, `${e.pointer || "(body)"}: ${e.detail}`));
    box.append(list);
  }
  return box;
}

function renderKpi(answer) {
  const box = el("div", { class: "kpi" });
  box.append(el("div", { class: "name" }, `${answer.metric}${answer.unit ? ` (${answer.unit})` : ""}`));
  box.append(el("div", { class: "value", "data-metric": answer.metric }, formatNumber(answer.value)));
  if (answer.interval) {
    box.append(el("div", { class: "hint" }, `${formatNumber(answer.interval.level_pct)} % interval ${formatNumber(answer.interval.lower)} – ${formatNumber(answer.interval.upper)} (${answer.interval.method})`));
  }
  const b = answer.breakdown;
  if (b) {
    box.append(el("div", { class: "formula" }, b.formula));
    if (b.substitution) box.append(el("div", { class: "formula" }, `= ${b.substitution}`));
    if (Array.isArray(b.steps)) {
      const steps = el("ol", {});
      for (const s of b.steps) steps.append(el("li", {}, `${s.label}: ${s.expression} = ${formatNumber(s.value)}`));
      box.append(steps);
    }
  }
  return box;
}

function renderAnswer(answer) {
  const out = el("div", {});
  if (answer && typeof answer.metric === "string" && "value" in answer) {
    out.append(renderKpi(answer));
    for (const related of answer.related || []) out.append(renderKpi(related));
    return out;
  }
  // Not a single KPI: its top-level figures, and any breakdowns one level down.
  const table = el("table", { class: "fields" });
  for (const [k, v] of Object.entries(answer || {})) {
    if (v === null || typeof v !== "object") table.append(el("tr", {}, el("td", {}, k), el("td", { "data-field": k }, formatNumber(v))));
    else if (v && typeof v.metric === "string" && "value" in v) out.append(renderKpi(v));
    else if (v && v.estimate !== undefined) table.append(el("tr", {}, el("td", {}, k), el("td", { "data-field": k }, formatNumber(v.estimate))));
  }
  out.prepend(table);
  return out;
}

async function run() {
  const op = current();
  const body = $("body").value;
  const type = bodyType(body);
  $("status").textContent = "computing…";
  $("status").className = "";
  $("kpis").replaceChildren();
  $("chart-box").hidden = true;
  if (state.chartUrl) URL.revokeObjectURL(state.chartUrl);
  state.chartUrl = null;
  let response;
  try {
    response = await fetch(url(op), { method: "POST", headers: headers(type, "application/json"), body });
  } catch (e) {
    $("status").textContent = `the server did not answer: ${e.message}`;
    $("status").className = "error";
    return;
  }
  const text = await response.text();
  let answer = null;
  try { answer = JSON.parse(text); } catch (_) { answer = null; }
  $("status").textContent = `${response.status} ${response.ok ? "OK" : "refused"}`;
  $("status").className = response.ok ? "" : "error";
  $("kpis").append(response.ok ? renderAnswer(answer) : renderProblem(answer || { status: response.status, detail: text }));
  $("json").textContent = answer ? JSON.stringify(answer, null, 2) : text;
  $("json-box").hidden = false;
  $("curl").textContent = curlCommand(op);
  $("curl-box").hidden = false;
  if (response.ok && op.charts) {
    const chart = await fetch(url(op, { format: "svg" }), { method: "POST", headers: headers(type, "image/svg+xml"), body });
    if (chart.ok) {
      state.chartUrl = URL.createObjectURL(await chart.blob());
      $("chart").src = state.chartUrl;
      $("chart").alt = `chart of ${op.path}`;
      $("chart-caption").textContent = `The same answer drawn: ${op.path}?format=svg`;
      $("chart-box").hidden = false;
    }
  }
}

async function onFile(event) {
  const file = event.target.files[0];
  if (!file) return;
  $("body").value = await file.text();
  onBody();
}

async function copyCurl() {
  const text = $("curl").textContent;
  try {
    await navigator.clipboard.writeText(text);
    $("copy-curl").textContent = "Copied";
  } catch (_) {
    const range = document.createRange();
    range.selectNodeContents($("curl"));
    window.getSelection().removeAllRanges();
    window.getSelection().addRange(range);
    $("copy-curl").textContent = "Selected: press Ctrl+C";
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("operation").addEventListener("change", onOperation);
  $("load-example").addEventListener("click", loadExample);
  $("body").addEventListener("input", onBody);
  $("file").addEventListener("change", onFile);
  $("run").addEventListener("click", run);
  $("copy-curl").addEventListener("click", copyCurl);
  loadOperations().catch((e) => {
    $("status").textContent = `could not read /openapi.json: ${e.message}`;
    $("status").className = "error";
  });
});
