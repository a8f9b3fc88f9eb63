/**
 * The viewer page's script, part 1 of 4 (see `page.ts`): the page's state, the
 * WebSocket that fills it, render scheduling and the list of jobs and workers.
 * Plain ES5 in a string: no backticks and no dollar-brace in it, as it sits in
 * a template literal; "\\n" here is a newline escape in the page's script.
 */
export const SCRIPT_CORE = `
  var liveSocket = null; var receivedAt = Date.now(); var detailId = null; var machines = {}; var layouts = {}; var flowLayouts = {}; var flowJobs = {};
  var actors = new Map(); var transitions = []; var serverNow = 0; var selected = null; var maxEvents = Infinity;
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
        if (data.type === "flows") { scheduleRender(); return; }
      }
      if (data.type === "init") { machines = data.machines; layouts = data.layouts || {}; actors = new Map(); transitions = []; drawLegend(); }
      maxEvents = data.maxEvents;
      data.actors.forEach(function (a) { actors.set(a.id, a); });
      transitions = transitions.concat(data.transitions);
      if (transitions.length > maxEvents) forgetOldest();
      serverNow = data.now; receivedAt = Date.now();
      if (!selected || !actors.has(selected)) selected = firstWorker();
      scheduleRender();
    };
  }
  // Past maxEvents the page drops its oldest changes, and the ended actors only they mentioned (as the server does).
  function forgetOldest() {
    transitions = transitions.slice(transitions.length - maxEvents);
    var mentioned = new Set(); transitions.forEach(function (t) { mentioned.add(t.actorId); });
    actors.forEach(function (a, id) { if (a.status !== "active" && !mentioned.has(id)) actors.delete(id); });
    Object.keys(flowJobs).forEach(function (id) { if (!actors.has(id)) delete flowJobs[id]; });
  }
  function firstWorker() {
    var last = null;
    actors.forEach(function (a) { if (a.kind === "worker") last = a.id; });
    return last;
  }
  // Each job's workers, in arrival order: one pass over the actors (O(actors)).
  function workersByJob() {
    var byJob = new Map();
    actors.forEach(function (a) {
      if (a.kind !== "worker") return;
      if (!byJob.has(a.parentId)) byJob.set(a.parentId, []);
      byJob.get(a.parentId).push(a);
    });
    return byJob;
  }

  function drawLegend() {
    var legend = document.getElementById("legend"); legend.textContent = "";
    var seen = {};
    ["job", "worker"].forEach(function (name) {
      (machines[name] ? machines[name].states : []).forEach(function (s) {
        if (seen[s.key] || s.transient) return; seen[s.key] = true;
        legend.appendChild(el("span", { class: "s-" + s.key }, s.key));
      });
    });
    legend.appendChild(el("span", { class: "legend-mark error" }, "✕ attempt failed"));
    legend.appendChild(el("span", { class: "legend-mark restart" }, "↻ restart granted"));
  }

  // Messages arrive up to 10 times a second: the page draws at most once per frame.
  var renderPending = false;
  function scheduleRender() {
    if (renderPending) return; renderPending = true;
    var run = function () { if (!renderPending) return; renderPending = false; render(); };
    requestAnimationFrame(run);
    setTimeout(run, 250); // a hidden tab gets no frames; it still keeps up, four times a second
  }
  function render() { renderActors(); renderDiagrams(); renderTimeline(); if (detailId && actors.has(detailId)) showDetail(detailId, true); }
  function select(actorId) { selected = actorId; render(); showDetail(actorId); }
  // While actors run, the timeline follows the time passing between the server's messages.
  setInterval(function () {
    var running = false; actors.forEach(function (a) { if (a.status === "active") running = true; });
    if (running && document.getElementById("follow").checked) renderTimeline();
  }, 1000);

  function renderActors() {
    var root = document.getElementById("actors"); root.textContent = "";
    var jobs = 0; var workers = 0; var byJob = workersByJob();
    actors.forEach(function (a) {
      if (a.kind !== "job") return; jobs++;
      var box = el("div", { class: "job" });
      box.appendChild(actorLine(a));
      (byJob.get(a.id) || []).forEach(function (w) { workers++; box.appendChild(actorLine(w)); });
      root.appendChild(box);
    });
    document.getElementById("counts").textContent = jobs + " jobs, " + workers + " workers";
  }
  function actorLine(a) {
    var line = el("div", { class: "actor " + a.kind + (a.id === selected ? " selected" : ""), "data-actor": a.id, title: a.error || "" });
    line.appendChild(el("span", { title: a.id }, a.id));
    line.appendChild(el("span", { class: "status s-text-" + a.state, title: a.attempt > 1 ? "attempt " + a.attempt : "" }, a.state + (a.attempt > 1 ? " (attempt " + a.attempt + ")" : "")));
    line.onclick = function () { select(a.id); };
    return line;
  }
`;
