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
  :root { font: 13px/1.4 system-ui, sans-serif; color: #1d2330; background: #f6f7f9; }
  body { margin: 0; }
  header { padding: 8px 16px; background: #1d2330; color: #fff; display: flex; gap: 16px; align-items: baseline; }
  header h1 { font-size: 15px; margin: 0; }
  #connection.open { color: #7be38f; } #connection.closed { color: #ff8a8a; }
  main { display: grid; grid-template-columns: 300px 1fr; gap: 12px; padding: 12px; }
  section { background: #fff; border: 1px solid #dde1e8; border-radius: 6px; padding: 8px 12px; overflow: auto; }
  h2 { font-size: 13px; margin: 4px 0 8px; text-transform: uppercase; letter-spacing: .05em; color: #5b6478; }
  #actors { max-height: 460px; }
  .job { margin-bottom: 8px; }
  .actor { cursor: pointer; padding: 2px 4px; border-radius: 4px; display: flex; justify-content: space-between; gap: 8px; }
  .actor.worker { margin-left: 16px; }
  .actor.selected { background: #e4ecff; }
  .status { font-family: ui-monospace, monospace; font-size: 12px; }
  #diagrams { display: grid; grid-template-columns: 1fr; gap: 8px; }
  svg.machine { max-width: 100%; height: auto; }
  svg text { font: 12px system-ui, sans-serif; }
  .node rect { fill: #fff; stroke: #8a93a6; }
  .node.final rect { stroke-width: 3; }
  .node.choice rect { stroke-dasharray: 4 3; }
  .node.current rect { fill: #ffe58a; stroke: #b88a00; stroke-width: 2; }
  .edge path { fill: none; stroke: #a9b1c2; marker-end: url(#arrow); }
  .edge.eventless path { stroke-dasharray: 6 4; }
  .edge.delayed path { stroke-dasharray: 2 3; stroke: #8e7cc3; }
  .edge-label rect { fill: #fff; stroke: #e3e6ec; }
  .edge-label text { fill: #5b6478; font: 10px ui-monospace, SFMono-Regular, Menlo, monospace; }
  .diagram-legend { font-size: 12px; color: #5b6478; margin: 4px 0 8px; }
  .diagram-legend svg { vertical-align: middle; margin: 0 4px 0 12px; }
  #timeline-section { grid-column: 1 / span 2; }
  .row { display: flex; align-items: center; height: 22px; border-bottom: 1px solid #f0f1f4; }
  .row .label { width: 260px; flex: none; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; font-family: ui-monospace, monospace; font-size: 11px; cursor: pointer; }
  .track { position: relative; flex: 1; height: 16px; background: #fafbfc; }
  .band { position: absolute; top: 0; height: 16px; min-width: 3px; box-sizing: border-box; border-right: 1px solid #fff; }
  .mark { position: absolute; top: -3px; width: 8px; height: 22px; margin-left: -4px; cursor: pointer; font-size: 11px; line-height: 22px; text-align: center; }
  .mark.error { color: #c62828; } .mark.restart { color: #1565c0; }
  #detail { font-family: ui-monospace, monospace; white-space: pre-wrap; color: #c62828; min-height: 1.4em; }
  .s-queued { background: #cfd8dc; } .s-running { background: #81c784; } .s-stopping { background: #ffb74d; }
  .s-completed, .s-done { background: #2e7d32; } .s-failed, .s-crashed { background: #c62828; } .s-cancelled, .s-stopped { background: #757575; }
  .s-initializing { background: #90caf9; } .s-executing { background: #66bb6a; } .s-error { background: #ef5350; } .s-recovering { background: #ffca28; } .s-restarting { background: #ffe082; }
  .legend span { display: inline-block; padding: 0 6px; margin-right: 4px; border-radius: 3px; color: #000; }
</style>
</head>
<body>
<header><h1>liveworker viewer</h1><span id="connection" class="closed">connecting…</span><span id="counts"></span></header>
<main>
  <section><h2>Jobs and workers</h2><div id="actors"></div></section>
  <section><h2>Machines <span id="selected-name"></span></h2><div id="diagrams"></div></section>
  <section id="timeline-section">
    <h2>Timeline</h2>
    <div class="legend" id="legend"></div>
    <div id="detail"></div>
    <div id="timeline"></div>
  </section>
</main>
<script>
(function () {
  "use strict";
  var machines = {}; var layouts = {}; var actors = new Map(); var transitions = []; var serverNow = 0; var selected = null;
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
    var socket = new WebSocket(wsUrl);
    var status = document.getElementById("connection");
    socket.onopen = function () { status.textContent = "live"; status.className = "open"; };
    socket.onclose = function () { status.textContent = "disconnected"; status.className = "closed"; };
    socket.onmessage = function (message) {
      var data = JSON.parse(message.data);
      if (data.type === "init") { machines = data.machines; layouts = data.layouts || {}; actors = new Map(); transitions = []; drawLegend(); }
      data.actors.forEach(function (a) { actors.set(a.id, a); });
      transitions = transitions.concat(data.transitions);
      if (transitions.length > data.maxEvents) transitions = transitions.slice(transitions.length - data.maxEvents);
      serverNow = data.now;
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

  function render() { renderActors(); renderDiagrams(); renderTimeline(); }

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
    line.appendChild(el("span", {}, a.id));
    line.appendChild(el("span", { class: "status s-text-" + a.state }, a.state + (a.attempt > 1 ? " #" + a.attempt : "")));
    line.onclick = function () { selected = a.id; render(); };
    return line;
  }

  function renderDiagrams() {
    var root = document.getElementById("diagrams"); root.textContent = "";
    var current = selected ? actors.get(selected) : null;
    document.getElementById("selected-name").textContent = current ? "— " + current.id + ": " + current.state : "";
    var parent = current && current.kind === "worker" ? actors.get(current.parentId) : current;
    var worker = current && current.kind === "worker" ? current : null;
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

  function renderTimeline() {
    var root = document.getElementById("timeline"); root.textContent = "";
    if (transitions.length === 0) return;
    var start = transitions[0].at; var end = Math.max(serverNow, transitions[transitions.length - 1].at);
    var span = Math.max(1, end - start);
    var byActor = new Map();
    transitions.forEach(function (t) { if (!byActor.has(t.actorId)) byActor.set(t.actorId, []); byActor.get(t.actorId).push(t); });
    byActor.forEach(function (list, actorId) {
      var actor = actors.get(actorId);
      if (!actor || actor.kind !== "worker") return;
      var row = el("div", { class: "row", "data-actor": actorId });
      var label = el("div", { class: "label", title: actorId }, actorId);
      label.onclick = function () { selected = actorId; render(); };
      row.appendChild(label);
      var track = el("div", { class: "track" });
      list.forEach(function (t, i) {
        var next = list[i + 1];
        var to = next ? next.at : (actor.status === "active" ? end : t.at);
        var left = ((t.at - start) / span) * 100; var width = ((to - t.at) / span) * 100;
        var tip = t.state + (t.attempt ? " (attempt " + t.attempt + ")" : "") + " at +" + (t.at - start) + " ms for " + (to - t.at) + " ms" + (t.error ? "\\n" + t.error : "");
        track.appendChild(el("div", { class: "band s-" + t.state, "data-state": t.state, style: "left:" + left + "%;width:" + width + "%", title: tip }));
        if (t.error || t.restart) {
          var mark = el("div", { class: "mark " + (t.restart ? "restart" : "error"), style: "left:" + left + "%", title: t.restart ? "restart (attempt " + (t.attempt + 1) + ")" : t.error }, t.restart ? "↻" : "✕");
          mark.onclick = function () { document.getElementById("detail").textContent = actorId + ": " + (t.error || "restart after attempt " + t.attempt); };
          track.appendChild(mark);
        }
      });
      row.appendChild(track);
      root.appendChild(row);
    });
  }

  connect();
})();
</script>
</body>
</html>
`;
