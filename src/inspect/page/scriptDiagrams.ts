/**
 * The viewer page's script, part 2 of 4 (see `page.ts`): the machine diagrams
 * and a flow job's wiring, both laid out by the server (ELK), with their legends.
 */
export const SCRIPT_DIAGRAMS = `
  function renderDiagrams() {
    var root = document.getElementById("diagrams"); root.textContent = "";
    var current = selected ? actors.get(selected) : null;
    document.getElementById("selected-name").textContent = current ? "— " + current.id + ": " + current.state : "";
    var parent = current && current.kind === "worker" ? actors.get(current.parentId) : current;
    var worker = current && current.kind === "worker" ? current : null;
    var flowJob = parent ? flowJobs[parent.id] : null;
    if (flowJob && flowLayouts[flowJob.shape]) { root.appendChild(drawWiring(flowLayouts[flowJob.shape], flowJob, parent.id)); root.appendChild(wiringLegend()); }
    ["job", "worker"].forEach(function (name) {
      if (!layouts[name]) return;
      var active = name === "job" ? (parent ? parent.state : null) : (worker ? worker.state : null);
      root.appendChild(drawMachine(layouts[name], active));
    });
    root.appendChild(diagramLegend());
  }

  // Each SVG gets its own arrowhead: ids are global to the document.
  var markerSeq = 0;
  function arrowDefs(svg) {
    var id = "arrow-" + (++markerSeq);
    var defs = svgEl("defs");
    var marker = svgEl("marker", { id: id, viewBox: "0 0 10 10", refX: "10", refY: "5", markerWidth: "6", markerHeight: "6", orient: "auto-start-reverse" });
    marker.appendChild(svgEl("path", { d: "M0,0 L10,5 L0,10 z", fill: "#a9b1c2" }));
    defs.appendChild(marker); svg.appendChild(defs);
    return "url(#" + id + ")";
  }
  function polyline(points, arrow) {
    return svgEl("path", { d: points.map(function (p, i) { return (i === 0 ? "M" : "L") + p.x + "," + p.y; }).join(" "), "marker-end": arrow });
  }

  function sampleLine(kind) {
    var svg = svgEl("svg", { width: 36, height: 10 });
    var g = svgEl("g", { class: "edge " + kind }); g.appendChild(svgEl("path", { d: "M0,5 L34,5" })); svg.appendChild(g);
    return svg;
  }
  // What the line styles and labels of a machine diagram mean.
  function diagramLegend() {
    var box = el("div", { class: "diagram-legend" });
    box.appendChild(sampleLine("event")); box.appendChild(document.createTextNode("on an event"));
    box.appendChild(sampleLine("eventless")); box.appendChild(document.createTextNode("eventless (always): taken as soon as it is enabled"));
    box.appendChild(sampleLine("delayed")); box.appendChild(document.createTextNode("delayed (after …): taken when the named delay elapses"));
    box.appendChild(document.createTextNode(" · [guard]: taken only while the guard holds · dashed box: a choice, left at once · thick box: final · yellow: the selected actor's state"));
    return box;
  }
  // What a wiring graph shows.
  function wiringLegend() {
    var box = el("div", { class: "diagram-legend" });
    box.appendChild(sampleLine("event")); box.appendChild(document.createTextNode("a connection (output tag → input tag; one tag when both are the same, none for the default tag) with the messages it delivered, counted in the job's process and sampled for this page"));
    box.appendChild(sampleLine("exposure")); box.appendChild(document.createTextNode("an exposed port: the job's own input (▶ name, fed by job.input) or output (name ▶); not counted"));
    box.appendChild(document.createTextNode(" · a node's colour: its worker's state (light green executing, green done, yellow initializing, restarting or recovering, red error or crashed, grey stopping or stopped) · blue outline: the selected worker · click a node to select it"));
    return box;
  }

  // A flow job's wiring: its nodes coloured by their worker's state, each wire with the messages it delivered (sampled).
  function drawWiring(layout, job, jobActorId) {
    var jobId = jobActorId.slice(jobActorId.indexOf("/") + 1);
    var svg = svgEl("svg", { class: "machine wiring", width: layout.width, height: layout.height + 24, viewBox: "0 -24 " + layout.width + " " + (layout.height + 24), "data-flow": jobActorId });
    var arrow = arrowDefs(svg);
    svg.appendChild(svgEl("text", { x: 12, y: -6, "font-weight": "bold" }, "wiring of " + jobActorId + (job.counted === false ? " (runs in another process: its wires are counted there)" : " (messages per wire, sampled)")));
    var labels = svgEl("g");
    layout.edges.forEach(function (e) {
      var g = svgEl("g", { class: "edge" + (e.wire === undefined ? " exposure" : "") });
      g.appendChild(polyline(e.points, arrow));
      svg.appendChild(g);
      var count = e.wire !== undefined && job.counted !== false ? String(job.counts[e.wire] || 0) + " msg" : "";
      var text = e.label && count ? e.label + " · " + count : e.label || count;
      if (!text || !e.labelBox) return;
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
      if (worker) { g.appendChild(svgEl("title", {}, worker.id + ": " + state + (worker.error ? "\\n" + worker.error : ""))); g.onclick = function () { select(worker.id); }; }
      svg.appendChild(g);
    });
    svg.appendChild(labels);
    return svg;
  }

  // Diagrams come laid out by the server (ELK: states, routed edges and label boxes that overlap nothing).
  function drawMachine(layout, activeState) {
    var svg = svgEl("svg", { class: "machine", width: layout.width, height: layout.height, viewBox: "0 0 " + layout.width + " " + layout.height, "data-machine": layout.id });
    var arrow = arrowDefs(svg);
    svg.appendChild(svgEl("text", { x: 12, y: 18, "font-weight": "bold" }, layout.id + " machine"));
    var edges = svgEl("g"); var labels = svgEl("g");
    layout.transitions.forEach(function (t) {
      var g = svgEl("g", { class: "edge " + t.kind, "data-from": t.from, "data-to": t.to });
      g.appendChild(polyline(t.points, arrow));
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
`;
