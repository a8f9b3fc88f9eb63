import { VIEWER_STYLE } from "./pageStyle.js";

/**
 * The viewer page: one self-contained HTML document (inline CSS and script,
 * no network fetch but its own WebSocket). Shipped as a string so it is part
 * of the bundle. The script avoids template literals, so it can sit inside
 * this one.
 */
export const VIEWER_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>liveworker viewer</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
${VIEWER_STYLE}</style>
</head>
<body>
<header><h1>liveworker viewer</h1><span id="connection" class="closed">connecting…</span><span id="counts"></span></header>
<main>
  <section><h2>Jobs and workers</h2><div id="actors"></div></section>
  <section><h2>Machines <span id="selected-name"></span></h2><div id="diagrams"></div></section>
  <section id="timeline-section">
    <h2>Timeline</h2>
    <div class="timeline-tools"><label><input type="checkbox" id="follow" checked> follow live</label><button id="fit" type="button">fit</button><span>wheel: zoom · drag: pan · click a row or a mark for details</span></div>
    <div class="legend" id="legend"></div>
    <div id="timeline"></div>
    <div id="detail"></div>
    <div id="tip"></div>
  </section>
</main>
<script>
(function () {
  "use strict";
  var liveSocket = null; var receivedAt = Date.now(); var detailId = null; var detailFocus = null; var machines = {}; var layouts = {}; var flowLayouts = {}; var flowJobs = {}; var actors = new Map(); var transitions = []; var serverNow = 0; var selected = null;
  var SVG = "http://www.w3.org/2000/svg";
  var params = new URLSearchParams(location.search);
  var wsUrl = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws" + (params.get("token") ? "?token=" + encodeURIComponent(params.get("token")) : "");

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var key in attrs || {}) node.setAttribute(key, attrs[key]);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function svgEl(tag, attrs, text) {
    var node = document.createElementNS(SVG, tag);
    for (var key in attrs || {}) node.setAttribute(key, attrs[key]);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function connect() {
    var socket = new WebSocket(wsUrl); liveSocket = socket;
    var status = document.getElementById("connection");
    socket.onopen = function () { status.textContent = "live"; status.className = "open"; };
    socket.onclose = function () { status.textContent = "disconnected"; status.className = "closed"; };
    socket.onmessage = function (message) {
      var data = JSON.parse(message.data);
      if (data.type === "details") { showOptions(data.jobActorId, data.jobOptions); return; }
      if (data.type === "flows" || (data.type === "init" && data.flows)) {
        var f = data.type === "flows" ? data : data.flows;
        if (data.type === "init") { flowLayouts = {}; flowJobs = {}; }
        Object.keys(f.layouts).forEach(function (k) { flowLayouts[k] = f.layouts[k]; });
        f.flows.forEach(function (j) { flowJobs[j.jobActorId] = j; });
        if (data.type === "flows") { renderDiagrams(); return; }
      }
      if (data.type === "init") { machines = data.machines; layouts = data.layouts || {}; actors = new Map(); transitions = []; drawLegend(); }
      data.actors.forEach(function (a) { actors.set(a.id, a); });
      transitions = transitions.concat(data.transitions);
      if (transitions.length > data.maxEvents) transitions = transitions.slice(transitions.length - data.maxEvents);
      serverNow = data.now; receivedAt = Date.now();
      if (!selected || !actors.has(selected)) selected = firstWorker();
      render();
    };
  }
  function firstWorker() {
    var last = null;
    actors.forEach(function (a) { if (a.kind === "worker") last = a.id; });
    return last;
  }

  function drawLegend() {
    var legend = document.getElementById("legend"); legend.textContent = "";
    var seen = {};
    ["worker", "job"].forEach(function (name) {
      (machines[name] ? machines[name].states : []).forEach(function (s) {
        if (seen[s.key] || s.transient) return; seen[s.key] = true;
        legend.appendChild(el("span", { class: "s-" + s.key }, s.key));
      });
    });
  }

  function render() { renderActors(); renderDiagrams(); renderTimeline(); if (detailId && actors.has(detailId)) showDetail(detailId, undefined, true); }
  // While actors run, the timeline follows the time passing between the server's messages.
  setInterval(function () {
    var running = false; actors.forEach(function (a) { if (a.status === "active") running = true; });
    if (running && document.getElementById("follow").checked) renderTimeline();
  }, 1000);

  function renderActors() {
    var root = document.getElementById("actors"); root.textContent = "";
    var jobs = 0; var workers = 0;
    actors.forEach(function (a) {
      if (a.kind !== "job") return; jobs++;
      var box = el("div", { class: "job" });
      box.appendChild(actorLine(a));
      actors.forEach(function (w) { if (w.kind === "worker" && w.parentId === a.id) { workers++; box.appendChild(actorLine(w)); } });
      root.appendChild(box);
    });
    document.getElementById("counts").textContent = jobs + " jobs, " + workers + " workers";
  }
  function actorLine(a) {
    var line = el("div", { class: "actor " + a.kind + (a.id === selected ? " selected" : ""), "data-actor": a.id, title: a.error || "" });
    line.appendChild(el("span", { title: a.id }, a.id));
    line.appendChild(el("span", { class: "status s-text-" + a.state, title: a.attempt > 1 ? "attempt " + a.attempt : "" }, a.state + (a.attempt > 1 ? " (attempt " + a.attempt + ")" : "")));
    line.onclick = function () { selected = a.id; render(); showDetail(a.id); };
    return line;
  }

  function renderDiagrams() {
    var root = document.getElementById("diagrams"); root.textContent = "";
    var current = selected ? actors.get(selected) : null;
    document.getElementById("selected-name").textContent = current ? "— " + current.id + ": " + current.state : "";
    var parent = current && current.kind === "worker" ? actors.get(current.parentId) : current;
    var worker = current && current.kind === "worker" ? current : null;
    var flowJob = parent ? flowJobs[parent.id] : null;
    if (flowJob && flowLayouts[flowJob.shape]) root.appendChild(drawWiring(flowLayouts[flowJob.shape], flowJob, parent.id));
    ["job", "worker"].forEach(function (name) {
      if (!layouts[name]) return;
      var active = name === "job" ? (parent ? parent.state : null) : (worker ? worker.state : null);
      root.appendChild(drawMachine(layouts[name], active));
    });
    root.appendChild(diagramLegend());
  }

  // What the line styles and labels of a diagram mean.
  function diagramLegend() {
    var box = el("div", { class: "diagram-legend" });
    function sample(kind) {
      var svg = svgEl("svg", { width: 36, height: 10 });
      var g = svgEl("g", { class: "edge " + kind }); g.appendChild(svgEl("path", { d: "M0,5 L34,5" })); svg.appendChild(g);
      return svg;
    }
    box.appendChild(sample("event")); box.appendChild(document.createTextNode("on an event"));
    box.appendChild(sample("eventless")); box.appendChild(document.createTextNode("eventless (always): taken as soon as it is enabled"));
    box.appendChild(sample("delayed")); box.appendChild(document.createTextNode("delayed (after …): taken when the named delay elapses"));
    box.appendChild(document.createTextNode(" · [guard]: taken only while the guard holds · dashed box: a choice, left at once · thick box: final · yellow: the selected actor's state"));
    return box;
  }

  // A flow job's wiring: its nodes coloured by their worker's state, each wire with the messages it delivered (sampled).
  function drawWiring(layout, job, jobActorId) {
    var jobId = jobActorId.slice(jobActorId.indexOf("/") + 1);
    var svg = svgEl("svg", { class: "machine wiring", width: layout.width, height: layout.height + 24, viewBox: "0 -24 " + layout.width + " " + (layout.height + 24), "data-flow": jobActorId });
    var defs = svgEl("defs");
    var marker = svgEl("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "10", refY: "5", markerWidth: "6", markerHeight: "6", orient: "auto-start-reverse" });
    marker.appendChild(svgEl("path", { d: "M0,0 L10,5 L0,10 z", fill: "#a9b1c2" }));
    defs.appendChild(marker); svg.appendChild(defs);
    svg.appendChild(svgEl("text", { x: 12, y: -6, "font-weight": "bold" }, "wiring of " + jobActorId + " (messages per wire, sampled)"));
    var labels = svgEl("g");
    layout.edges.forEach(function (e) {
      var g = svgEl("g", { class: "edge" + (e.wire === undefined ? " exposure" : "") });
      g.appendChild(svgEl("path", { d: e.points.map(function (p, i) { return (i === 0 ? "M" : "L") + p.x + "," + p.y; }).join(" ") }));
      svg.appendChild(g);
      var text = e.label + (e.wire !== undefined ? " · " + (job.counts[e.wire] || 0) : "");
      var b = e.labelBox;
      var label = svgEl("g", { class: "edge-label", "data-wire": e.wire === undefined ? "" : String(e.wire) });
      label.appendChild(svgEl("rect", { x: b.x, y: b.y, width: b.width, height: b.height, rx: 3 }));
      label.appendChild(svgEl("text", { x: b.x + b.width / 2, y: b.y + b.height - 4, "text-anchor": "middle" }, text));
      labels.appendChild(label);
    });
    layout.boxes.forEach(function (b) {
      var worker = b.node ? actors.get("worker:" + b.node + "/" + jobId) : null;
      var state = worker ? worker.state : "";
      var g = svgEl("g", { class: "node flow-" + b.kind + (worker && worker.id === selected ? " current" : ""), "data-node": b.node || b.id, "data-state": state });
      var rect = svgEl("rect", { x: b.x, y: b.y, width: b.width, height: b.height, rx: b.kind === "node" ? 6 : 12 });
      if (state) rect.setAttribute("class", "s-" + state);
      g.appendChild(rect);
      g.appendChild(svgEl("text", { x: b.x + b.width / 2, y: b.y + b.height / 2 + 4, "text-anchor": "middle" }, b.text));
      if (worker) { g.appendChild(svgEl("title", {}, worker.id + ": " + state + (worker.error ? "\\n" + worker.error : ""))); g.onclick = function () { selected = worker.id; render(); showDetail(worker.id); }; }
      svg.appendChild(g);
    });
    svg.appendChild(labels);
    return svg;
  }

  // Diagrams come laid out by the server (ELK: states, routed edges and label boxes that overlap nothing).
  function drawMachine(layout, activeState) {
    var svg = svgEl("svg", { class: "machine", width: layout.width, height: layout.height, viewBox: "0 0 " + layout.width + " " + layout.height, "data-machine": layout.id });
    var defs = svgEl("defs");
    var marker = svgEl("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "10", refY: "5", markerWidth: "6", markerHeight: "6", orient: "auto-start-reverse" });
    marker.appendChild(svgEl("path", { d: "M0,0 L10,5 L0,10 z", fill: "#a9b1c2" }));
    defs.appendChild(marker); svg.appendChild(defs);
    svg.appendChild(svgEl("text", { x: 12, y: 18, "font-weight": "bold" }, layout.id + " machine"));
    var edges = svgEl("g"); var labels = svgEl("g");
    layout.transitions.forEach(function (t) {
      var d = t.points.map(function (p, i) { return (i === 0 ? "M" : "L") + p.x + "," + p.y; }).join(" ");
      var g = svgEl("g", { class: "edge " + t.kind, "data-from": t.from, "data-to": t.to });
      g.appendChild(svgEl("path", { d: d }));
      g.appendChild(svgEl("title", {}, t.from + " → " + t.to + ": " + t.label));
      edges.appendChild(g);
      var b = t.labelBox;
      var label = svgEl("g", { class: "edge-label", "data-from": t.from, "data-to": t.to });
      label.appendChild(svgEl("rect", { x: b.x, y: b.y, width: b.width, height: b.height, rx: 3 }));
      label.appendChild(svgEl("text", { x: b.x + b.width / 2, y: b.y + b.height - 4, "text-anchor": "middle" }, t.label));
      label.appendChild(svgEl("title", {}, t.from + " → " + t.to + ": " + t.label));
      labels.appendChild(label);
    });
    svg.appendChild(edges);
    layout.states.forEach(function (s) {
      var g = svgEl("g", { class: "node" + (s.final ? " final" : "") + (s.transient ? " choice" : "") + (s.path === activeState ? " current" : ""), "data-state": s.path });
      g.appendChild(svgEl("rect", { x: s.x, y: s.y, width: s.width, height: s.height, rx: s.transient ? 14 : 6 }));
      g.appendChild(svgEl("text", { x: s.x + s.width / 2, y: s.y + s.height / 2 + 4, "text-anchor": "middle" }, s.key));
      if (s.transient) g.appendChild(svgEl("title", {}, s.key + ": a choice, left at once by an eventless transition"));
      svg.appendChild(g);
    });
    svg.appendChild(labels);
    return svg;
  }

  // The timeline's window (ms, collector clock): null follows the data (and live time while actors run).
  var view = null;
  function dataSpan() {
    // Lifecycle events of other processes may arrive out of order (replayed): the span is their min and max.
    var start = Infinity; var last = -Infinity; var running = false;
    transitions.forEach(function (t) { if (t.at < start) start = t.at; if (t.at > last) last = t.at; });
    actors.forEach(function (a) { if (a.status === "active") running = true; });
    // A page opened after the run spans the run, not the time it was opened.
    var end = running ? Math.max(serverNow + (Date.now() - receivedAt), last) : last;
    return { start: start, end: Math.max(end, start + 10) };
  }
  function windowOf() {
    var data = dataSpan();
    if (!view || document.getElementById("follow").checked) {
      var span = view ? view.end - view.start : data.end - data.start;
      view = view && document.getElementById("follow").checked ? { start: Math.max(data.start, data.end - span), end: data.end } : null;
      if (!view) return { start: data.start - (data.end - data.start) * 0.01, end: data.end + (data.end - data.start) * 0.01 };
    }
    return view;
  }
  // A zoom or a pan keeps the window between 1 ms and 100 × the data's span, and within a span of the data.
  function clampView(v) {
    var data = dataSpan(); var dataLen = Math.max(10, data.end - data.start);
    var len = Math.min(Math.max(v.end - v.start, 1), dataLen * 100);
    var mid = (v.start + v.end) / 2;
    mid = Math.min(Math.max(mid, data.start - dataLen), data.end + dataLen);
    return { start: mid - len / 2, end: mid + len / 2 };
  }
  function niceStep(span) {
    var raw = span / 8; var power = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = [1, 2, 5, 10].map(function (k) { return k * power; }).find(function (k) { return k >= raw; });
    return step || power * 10;
  }
  function formatMs(ms) { return Math.abs(ms) >= 1000 ? (ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1) + " s" : Math.round(ms) + " ms"; }
  function showTip(event, text) { var tip = document.getElementById("tip"); tip.textContent = text; tip.style.display = "block"; tip.style.left = (event.clientX + 12) + "px"; tip.style.top = (event.clientY + 12) + "px"; }
  function hideTip() { document.getElementById("tip").style.display = "none"; }

  function renderTimeline() {
    var root = document.getElementById("timeline"); root.textContent = "";
    if (transitions.length === 0) return;
    var w = windowOf(); var origin = dataSpan().start; var span = Math.max(1, w.end - w.start);
    var pct = function (at) { return ((at - w.start) / span) * 100; };
    var axisRow = el("div", { class: "row axis-row" }); axisRow.appendChild(el("div", { class: "label" }, "")); 
    var axis = el("div", { class: "axis" }); var step = niceStep(span);
    var first = Math.ceil((w.start - origin) / step);
    for (var k = 0; k < 60; k++) {
      var t = (first + k) * step; if (origin + t > w.end) break;
      var tick = el("div", { class: "tick", style: "left:" + pct(origin + t) + "%" }); tick.appendChild(el("span", {}, "+" + formatMs(t))); axis.appendChild(tick);
    }
    axisRow.appendChild(axis); root.appendChild(axisRow);
    var byActor = new Map();
    transitions.forEach(function (t) { if (!byActor.has(t.actorId)) byActor.set(t.actorId, []); byActor.get(t.actorId).push(t); });
    var running = dataSpan().end;
    // Each job's row (its status), then its workers' rows.
    actors.forEach(function (job) {
      if (job.kind !== "job" || !byActor.has(job.id)) return;
      root.appendChild(timelineRow(job, byActor.get(job.id), pct, running, origin));
      actors.forEach(function (worker) {
        if (worker.kind === "worker" && worker.parentId === job.id && byActor.has(worker.id)) root.appendChild(timelineRow(worker, byActor.get(worker.id), pct, running, origin));
      });
    });
    attachZoom(root);
  }

  function timelineRow(actor, list, pct, end, origin) {
    var row = el("div", { class: "row " + actor.kind, "data-actor": actor.id });
    var label = el("div", { class: "label", title: actor.id }, actor.id);
    label.onclick = function () { selected = actor.id; render(); showDetail(actor.id); };
    row.appendChild(label);
    var track = el("div", { class: "track" });
    list.forEach(function (t, i) {
      var next = list[i + 1];
      var to = next ? next.at : (actor.status === "active" ? end : t.at);
      var left = pct(t.at); var right = pct(to);
      if (right < 0 || left > 100) return;
      var tip = actor.id + ": " + t.state + (t.attempt ? " (attempt " + t.attempt + ")" : "") + "\\nat +" + formatMs(t.at - origin) + " for " + formatMs(to - t.at) + (t.error ? "\\n" + t.error : "");
      var band = el("div", { class: "band s-" + t.state, "data-state": t.state, style: "left:" + Math.max(0, left) + "%;width:" + (Math.min(100, right) - Math.max(0, left)) + "%" });
      band.onmouseenter = function (e) { showTip(e, tip); }; band.onmouseleave = hideTip;
      track.appendChild(band);
      if (actor.kind !== "worker") return;
      if (t.state === "error" && t.error) {
        var errorTip = "✕ attempt " + t.attempt + " failed at +" + formatMs(t.at - origin) + ":\\n" + t.error;
        track.appendChild(mark("error", "✕", left, errorTip, actor.id));
      }
      if (t.restart) {
        var backoff = (next ? next.at : end) - t.at;
        var restartTip = "↻ restart granted at +" + formatMs(t.at - origin) + ": attempt " + ((t.attempt || 1) + 1) + (next ? " after a backoff of " + formatMs(backoff) : ", waiting out its backoff (" + formatMs(backoff) + " so far)");
        track.appendChild(mark("restart", "↻", left, restartTip, actor.id));
      }
    });
    row.appendChild(track);
    return row;
  }

  function mark(kind, symbol, left, text, actorId) {
    var node = el("div", { class: "mark " + kind, style: "left:" + Math.max(0, Math.min(100, left)) + "%", "data-tip": text }, symbol);
    node.onmouseenter = function (e) { showTip(e, text); }; node.onmouseleave = hideTip;
    node.onclick = function () { selected = actorId; render(); showDetail(actorId, text); };
    return node;
  }

  // The detail panel: an actor's status, its restart history and its last error.
  function showDetail(actorId, focus, refresh) {
    var changed = actorId !== detailId; detailId = actorId; if (focus !== undefined || changed) detailFocus = focus || null; focus = detailFocus;
    var detail = document.getElementById("detail"); var options = detail.querySelector(".options"); detail.textContent = "";
    var actor = actors.get(actorId); if (!actor) return;
    var lines = [actor.id + " — " + actor.state + (actor.attempt ? ", attempt " + actor.attempt : "")];
    var mine = transitions.filter(function (t) { return t.actorId === actorId; });
    var origin = transitions.length ? dataSpan().start : 0;
    var failedBefore = null;
    mine.forEach(function (t, i) {
      if (t.error) failedBefore = t;
      if (!t.restart) return;
      var next = mine[i + 1];
      lines.push("  restart at +" + formatMs(t.at - origin) + ": attempt " + ((t.attempt || 1) + 1) + (next ? " after a backoff of " + formatMs(next.at - t.at) : ", waiting out its backoff") +
        (failedBefore ? " (attempt " + failedBefore.attempt + " failed: " + failedBefore.error + ")" : ""));
    });
    detail.appendChild(el("div", {}, lines.join("\\n")));
    var lastError = null; mine.forEach(function (t) { if (t.error) lastError = t; });
    if (lastError) {
      detail.appendChild(el("div", { class: "error" }, "last error (attempt " + lastError.attempt + "): " + lastError.error));
      if (lastError.stack) detail.appendChild(el("pre", { class: "error stack" }, lastError.stack));
    }
    if (focus) detail.appendChild(el("div", {}, focus));
    // The job's options come from the server (the process that runs the job), when it still runs there.
    var jobActorId = actor.kind === "job" ? actor.id : actor.parentId;
    if (refresh && options && options.getAttribute("data-job") === jobActorId) { detail.appendChild(options); return; }
    if (jobActorId && liveSocket && liveSocket.readyState === 1) liveSocket.send(JSON.stringify({ type: "details", jobActorId: jobActorId }));
  }
  function showOptions(jobActorId, options) {
    var detail = document.getElementById("detail");
    var current = detailId ? actors.get(detailId) : null;
    // A reply for a job no longer shown (two quick clicks) is dropped.
    if (!current || (current.kind === "job" ? current.id : current.parentId) !== jobActorId) return;
    var old = detail.querySelector(".options"); if (old) old.remove();
    detail.appendChild(el("div", { class: "options", "data-job": jobActorId }, "job options of " + jobActorId + ": " +
      (options === null ? "not known here (the job ended, or runs in another process)" : JSON.stringify(options))));
  }

  function attachZoom(root) {
    if (root.getAttribute("data-zoom")) return; root.setAttribute("data-zoom", "1");
    root.addEventListener("wheel", function (e) {
      var track = root.querySelector(".track"); if (!track) return;
      e.preventDefault();
      var box = track.getBoundingClientRect(); var w = windowOf(); var span = w.end - w.start;
      var at = w.start + span * Math.min(1, Math.max(0, (e.clientX - box.left) / box.width));
      if (!e.deltaY) return;
      var factor = e.deltaY < 0 ? 0.8 : 1.25;
      view = clampView({ start: at - (at - w.start) * factor, end: at + (w.end - at) * factor });
      document.getElementById("follow").checked = false; renderTimeline();
    }, { passive: false });
    var dragFrom = null;
    root.addEventListener("mousedown", function (e) { if (e.target.closest(".mark") || e.target.closest(".label")) return; dragFrom = { x: e.clientX, w: windowOf() }; });
    window.addEventListener("mousemove", function (e) {
      if (!dragFrom) return;
      var track = root.querySelector(".track"); if (!track) return;
      var shift = ((e.clientX - dragFrom.x) / track.getBoundingClientRect().width) * (dragFrom.w.end - dragFrom.w.start);
      view = clampView({ start: dragFrom.w.start - shift, end: dragFrom.w.end - shift });
      document.getElementById("follow").checked = false; renderTimeline();
    });
    window.addEventListener("mouseup", function () { dragFrom = null; });
  }

  document.getElementById("fit").onclick = function () { view = null; document.getElementById("follow").checked = true; renderTimeline(); };
  document.getElementById("follow").onchange = function () { if (this.checked) view = null; else if (transitions.length) view = windowOf(); renderTimeline(); };
  connect();
})();
</script>
</body>
</html>
`;
