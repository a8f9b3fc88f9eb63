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
  svg text { font: 11px system-ui, sans-serif; }
  .node rect { fill: #fff; stroke: #8a93a6; rx: 6; }
  .node.final rect { stroke-width: 3; }
  .node.current rect { fill: #ffe58a; stroke: #b88a00; stroke-width: 2; }
  .edge path { fill: none; stroke: #a9b1c2; marker-end: url(#arrow); }
  .edge-label rect { fill: #fff; fill-opacity: .9; }
  .edge-label text { fill: #5b6478; font-size: 10px; }
  .node.choice path { fill: #fff; stroke: #8a93a6; }
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
  var machines = {}; var actors = new Map(); var transitions = []; var serverNow = 0; var selected = null;
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
      if (data.type === "init") { machines = data.machines; actors = new Map(); transitions = []; drawLegend(); }
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
      if (!machines[name]) return;
      var active = name === "job" ? (parent ? parent.state : null) : (worker ? worker.state : null);
      root.appendChild(drawMachine(machines[name], active));
    });
  }

  // Layout: columns by distance from the initial state; within a column, rows
  // follow the mean row of each state's predecessors (fewer crossings). Labels
  // sit on their edge where they cover no state and no other label.
  var NODE_W = 120, NODE_H = 30, COL_W = 200, ROW_H = 66, CHOICE = 10;
  function layout(graph) {
    var depth = {}; var order = [];
    if (graph.initial) { depth[graph.initial] = 0; order.push(graph.initial); }
    for (var i = 0; i < order.length; i++) {
      graph.transitions.forEach(function (t) {
        if (t.from === order[i] && depth[t.to] === undefined) { depth[t.to] = depth[t.from] + 1; order.push(t.to); }
      });
    }
    graph.states.forEach(function (s) { if (depth[s.path] === undefined) { depth[s.path] = 0; order.push(s.path); } });
    var columns = [];
    order.forEach(function (path) { (columns[depth[path]] = columns[depth[path]] || []).push(path); });
    var row = {};
    columns.forEach(function (column, c) {
      var wanted = column.map(function (path, index) {
        var rows = graph.transitions.filter(function (t) { return t.to === path && row[t.from] !== undefined && depth[t.from] < c; })
          .map(function (t) { return row[t.from]; });
        return { path: path, key: rows.length ? rows.reduce(function (a, b) { return a + b; }, 0) / rows.length : index };
      });
      wanted.sort(function (a, b) { return a.key - b.key; });
      var next = 0;
      wanted.forEach(function (w) { var r = Math.max(next, Math.round(w.key)); row[w.path] = r; next = r + 1; });
    });
    var pos = {};
    order.forEach(function (path) { pos[path] = { x: 20 + depth[path] * COL_W, y: 30 + row[path] * ROW_H }; });
    return pos;
  }
  function boxOf(p, transient) {
    return transient ? { x: p.x + NODE_W / 2 - CHOICE, y: p.y + NODE_H / 2 - CHOICE, w: 2 * CHOICE, h: 2 * CHOICE } : { x: p.x, y: p.y, w: NODE_W, h: NODE_H };
  }
  function overlaps(a, b) { return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h; }

  function drawMachine(graph, activeState) {
    var pos = layout(graph);
    var transient = {}; graph.states.forEach(function (s) { transient[s.path] = s.transient; });
    var boxes = graph.states.map(function (s) { return boxOf(pos[s.path], s.transient); });
    var width = 0; var height = 0;
    Object.keys(pos).forEach(function (p) { width = Math.max(width, pos[p].x + NODE_W + 60); height = Math.max(height, pos[p].y + NODE_H + 50); });
    var svg = svgEl("svg", { width: width, height: height, "data-machine": graph.id });
    var defs = svgEl("defs");
    var marker = svgEl("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "10", refY: "5", markerWidth: "6", markerHeight: "6", orient: "auto-start-reverse" });
    marker.appendChild(svgEl("path", { d: "M0,0 L10,5 L0,10 z", fill: "#a9b1c2" }));
    defs.appendChild(marker); svg.appendChild(defs);
    svg.appendChild(svgEl("text", { x: 4, y: 14, "font-weight": "bold" }, graph.id + " machine"));
    var pairs = {}; var pairOrder = [];
    graph.transitions.forEach(function (t) {
      var k = t.from + ">" + t.to;
      if (!pairs[k]) { pairs[k] = []; pairOrder.push(k); }
      pairs[k].push(t.label);
    });
    var edges = svgEl("g"); var labels = svgEl("g"); var placed = [];
    pairOrder.forEach(function (key, index) {
      var parts = key.split(">"); var a = boxOf(pos[parts[0]], transient[parts[0]]); var b = boxOf(pos[parts[1]], transient[parts[1]]);
      if (!pos[parts[0]] || !pos[parts[1]]) return;
      var x1, y1, x2, y2, bend = 0;
      if (b.x > a.x + a.w / 2) { x1 = a.x + a.w; y1 = a.y + a.h / 2; x2 = b.x; y2 = b.y + b.h / 2; }
      else if (b.x + b.w / 2 < a.x) { x1 = a.x; y1 = a.y + a.h / 2; x2 = b.x + b.w; y2 = b.y + b.h / 2; bend = 36 + (index % 3) * 8; }
      else if (b.y > a.y) { x1 = a.x + a.w / 2; y1 = a.y + a.h; x2 = b.x + b.w / 2; y2 = b.y; bend = Math.abs(b.y - a.y) > ROW_H ? 40 : 0; }
      else { x1 = a.x + a.w / 2; y1 = a.y; x2 = b.x + b.w / 2; y2 = b.y + b.h; bend = Math.abs(b.y - a.y) > ROW_H ? -40 : 0; }
      // The control point leans off the straight line (sideways for vertical edges) so edges that would overlap part.
      var vertical = Math.abs(x2 - x1) < 1;
      var cx = (x1 + x2) / 2 + (vertical ? bend : 0), cy = (y1 + y2) / 2 + (vertical ? 0 : bend);
      var g = svgEl("g", { class: "edge", "data-edge": key });
      g.appendChild(svgEl("path", { d: "M" + x1 + "," + y1 + " Q" + cx + "," + cy + " " + x2 + "," + y2 }));
      g.appendChild(svgEl("title", {}, pairs[key].join("\\n")));
      edges.appendChild(g);
      // The event alone (its guard and the other labels of this pair are in the tooltip).
      var text = pairs[key][0].split(" if ")[0] + (pairs[key].length > 1 ? " (+" + (pairs[key].length - 1) + ")" : "");
      var w = text.length * 5.6 + 6, h = 13;
      // Points along the quadratic curve, middle first.
      var spot = null;
      [0.5, 0.35, 0.65, 0.25, 0.75, 0.15, 0.85].some(function (t) {
        var px = (1 - t) * (1 - t) * x1 + 2 * (1 - t) * t * cx + t * t * x2;
        var py = (1 - t) * (1 - t) * y1 + 2 * (1 - t) * t * cy + t * t * y2;
        return [0, -9, 9, -18, 18].some(function (dy) {
          var box = { x: px - w / 2, y: py - h / 2 + dy, w: w, h: h };
          var free = !boxes.some(function (n) { return overlaps(box, n); }) && !placed.some(function (l) { return overlaps(box, l); });
          if (free) spot = box;
          return free;
        });
      });
      if (!spot) { var mx = (x1 + 2 * cx + x2) / 4, my = (y1 + 2 * cy + y2) / 4; spot = { x: mx - w / 2, y: my - h / 2, w: w, h: h }; }
      placed.push(spot);
      var label = svgEl("g", { class: "edge-label" });
      label.appendChild(svgEl("rect", { x: spot.x, y: spot.y, width: spot.w, height: spot.h, rx: 3 }));
      label.appendChild(svgEl("text", { x: spot.x + spot.w / 2, y: spot.y + 10, "text-anchor": "middle" }, text));
      label.appendChild(svgEl("title", {}, pairs[key].join("\\n")));
      labels.appendChild(label);
    });
    svg.appendChild(edges);
    graph.states.forEach(function (s) {
      var p = pos[s.path];
      var g = svgEl("g", { class: "node" + (s.final ? " final" : "") + (s.transient ? " choice" : "") + (s.path === activeState ? " current" : ""), "data-state": s.path });
      if (s.transient) {
        var cx = p.x + NODE_W / 2, cy = p.y + NODE_H / 2;
        g.appendChild(svgEl("path", { d: "M" + (cx - CHOICE) + "," + cy + " L" + cx + "," + (cy - CHOICE) + " L" + (cx + CHOICE) + "," + cy + " L" + cx + "," + (cy + CHOICE) + " Z" }));
        g.appendChild(svgEl("text", { x: cx, y: cy - CHOICE - 4, "text-anchor": "middle" }, s.key));
      } else {
        g.appendChild(svgEl("rect", { x: p.x, y: p.y, width: NODE_W, height: NODE_H }));
        g.appendChild(svgEl("text", { x: p.x + NODE_W / 2, y: p.y + 19, "text-anchor": "middle" }, s.key));
      }
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
