/**
 * The viewer page's script, part 3 of 4 (see `page.ts`): the timeline. One
 * row per job (its status) above one per worker (its states), a time axis,
 * zoom (wheel over the tracks) and pan (drag), "follow live", and the marks
 * of failed attempts and granted restarts.
 */
export const SCRIPT_TIMELINE = `
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
  // A tick's label has the digits its step needs: zoomed in at +1.2 s the ticks read +1.22 s, +1.24 s, … not +1.2 s seven times.
  function formatTick(ms, step) {
    if (Math.abs(ms) >= 1000 || step >= 1000) return (ms / 1000).toFixed(Math.min(6, Math.max(0, Math.ceil(-Math.log10(step / 1000) - 1e-9)))) + " s";
    return ms.toFixed(Math.min(3, Math.max(0, Math.ceil(-Math.log10(step) - 1e-9)))) + " ms";
  }
  // The tooltip opens right of and below the pointer, or left of / above it where the window ends.
  function showTip(event, text) {
    var tip = document.getElementById("tip"); tip.textContent = text; tip.style.display = "block";
    var width = tip.offsetWidth; var height = tip.offsetHeight;
    var left = event.clientX + 12 + width > window.innerWidth ? Math.max(0, event.clientX - 12 - width) : event.clientX + 12;
    var top = event.clientY + 12 + height > window.innerHeight ? Math.max(0, event.clientY - 12 - height) : event.clientY + 12;
    tip.style.left = left + "px"; tip.style.top = top + "px";
  }
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
      var tick = el("div", { class: "tick" + (pct(origin + t) > 92 ? " end" : ""), style: "left:" + pct(origin + t) + "%" }); tick.appendChild(el("span", {}, "+" + formatTick(t, step))); axis.appendChild(tick);
    }
    axisRow.appendChild(axis); root.appendChild(axisRow);
    // Bands narrower than their 5 px minimum are drawn over the band after them (a 0 ms state still shows).
    var shortPct = (5 / Math.max(1, axis.getBoundingClientRect().width)) * 100;
    var byActor = new Map();
    transitions.forEach(function (t) { if (!byActor.has(t.actorId)) byActor.set(t.actorId, []); byActor.get(t.actorId).push(t); });
    var running = dataSpan().end; var byJob = workersByJob();
    // Each job's row (its status), then its workers' rows. An actor whose changes were all dropped (past
    // maxEvents) while it, or a worker of its job, still has some shows its current state since its last change.
    var changesOf = function (a) { return byActor.get(a.id) || [{ at: a.lastAt, actorId: a.id, state: a.state, attempt: a.attempt, error: a.error, restart: false }]; };
    actors.forEach(function (job) {
      if (job.kind !== "job") return;
      var workers = byJob.get(job.id) || [];
      if (!byActor.has(job.id) && !workers.some(function (w) { return byActor.has(w.id); })) return;
      root.appendChild(timelineRow(job, changesOf(job), pct, running, origin, shortPct));
      workers.forEach(function (worker) { root.appendChild(timelineRow(worker, changesOf(worker), pct, running, origin, shortPct)); });
    });
    attachZoom(root);
  }

  // What a restart mark says: when, which attempt comes next, the backoff its supervisor granted, and why.
  function restartText(t, previous, next, end, origin, failed) {
    var waited = (next ? next.at : end) - t.at;
    var backoff = t.backoffMs !== undefined ? formatMs(t.backoffMs) : null;
    var text = "↻ restart granted at +" + formatMs(t.at - origin) + ": attempt " + ((t.attempt || 1) + 1) +
      (next ? " after " + (backoff ? "its backoff of " + backoff : "a backoff of " + formatMs(waited)) : ", waiting out its backoff" + (backoff ? " of " + backoff : "") + " (" + formatMs(waited) + " so far)");
    if (previous && previous.state === "restarting") return text + "\\n" + siblingCause(t);
    if (failed) return text + "\\nattempt " + failed.attempt + " failed: " + failed.error;
    return text;
  }

  // Who made a healthy worker restart: the sibling whose failure came last before it (the job's restart strategy restarts this one too).
  function siblingCause(t) {
    var actor = actors.get(t.actorId); var failed = null;
    transitions.forEach(function (u) {
      if (u.error && u.at <= t.at && u.actorId !== t.actorId && (!failed || u.at >= failed.at)) {
        var other = actors.get(u.actorId); if (other && actor && other.parentId === actor.parentId) failed = u;
      }
    });
    return failed ? "restarted with its sibling " + failed.actorId + ", whose attempt " + failed.attempt + " failed: " + failed.error : "restarted with a sibling that failed (the job's restart strategy restarts this worker too)";
  }

  function timelineRow(actor, list, pct, end, origin, shortPct) {
    var row = el("div", { class: "row " + actor.kind + (actor.id === selected ? " selected" : ""), "data-actor": actor.id });
    var label = el("div", { class: "label", title: actor.id }, actor.id);
    label.onclick = function () { select(actor.id); };
    row.appendChild(label);
    var track = el("div", { class: "track" });
    // A click on the row's bars selects it too (a drag pans instead).
    track.onclick = function (e) { if (!dragged && !e.target.closest(".mark")) select(actor.id); };
    var failed = null; var drawnTo = -Infinity;
    list.forEach(function (t, i) {
      var next = list[i + 1];
      if (t.error) failed = t;
      var to = next ? next.at : (actor.status === "active" ? end : t.at);
      // A band starts where the one before it was drawn to (several short states in a row each keep their 5 px),
      // but a band inside the window never is pushed out of it (the last state of a run sits at its right edge).
      if (pct(to) < 0 || pct(t.at) > 100) return;
      var left = Math.max(pct(t.at), Math.min(drawnTo, 100 - shortPct)); var right = Math.max(pct(to), left);
      drawnTo = right - left < shortPct ? left + shortPct : right;
      var tip = actor.id + ": " + t.state + (t.attempt ? " (attempt " + t.attempt + ")" : "") + "\\nat +" + formatMs(t.at - origin) + " for " + formatMs(to - t.at) + (t.error ? "\\n" + t.error : "");
      var band = el("div", { class: "band s-" + t.state + (right - left < shortPct ? " short" : ""), "data-state": t.state, style: "left:" + Math.max(0, left) + "%;width:" + (Math.min(100, right) - Math.max(0, left)) + "%" });
      band.onmouseenter = function (e) { showTip(e, tip); }; band.onmouseleave = hideTip;
      track.appendChild(band);
      // A mark belongs to an instant: one outside the window is not drawn (the band still shows the state).
      if (left < 0) return;
      if (actor.kind === "job") {
        if (t.state === "failed") track.appendChild(mark("error", "✕", left, "✕ the job failed at +" + formatMs(t.at - origin) + ":\\n" + (t.error || "(no error recorded)"), actor.id));
        return;
      }
      if (t.state === "error") {
        var errorTip = "✕ attempt " + t.attempt + " failed at +" + formatMs(t.at - origin) + ":\\n" + (t.error || "(no error value)");
        track.appendChild(mark("error", "✕", left, errorTip, actor.id));
      }
      if (t.restart) track.appendChild(mark("restart", "↻", left, restartText(t, list[i - 1], next, end, origin, failed), actor.id));
    });
    row.appendChild(track);
    return row;
  }

  function mark(kind, symbol, left, text, actorId) {
    var node = el("div", { class: "mark " + kind, style: "left:" + left + "%", "data-tip": text }, symbol);
    node.onmouseenter = function (e) { showTip(e, text); }; node.onmouseleave = hideTip;
    node.onclick = function () { select(actorId); };
    return node;
  }

  var dragged = false;
  // A drag or a wheel redraws the timeline at most once per frame (a mouse moves faster than 2,000 rows draw).
  var timelinePending = false;
  function scheduleTimeline() {
    if (timelinePending) return; timelinePending = true;
    requestAnimationFrame(function () { timelinePending = false; renderTimeline(); });
  }
  function attachZoom(root) {
    if (root.getAttribute("data-zoom")) return; root.setAttribute("data-zoom", "1");
    // The wheel zooms over the tracks and the axis only: over the labels it scrolls the page.
    root.addEventListener("wheel", function (e) {
      if (!e.target.closest(".track, .axis") || !e.deltaY) return;
      var track = root.querySelector(".track"); if (!track) return;
      e.preventDefault();
      var box = track.getBoundingClientRect(); var w = windowOf(); var span = w.end - w.start;
      var at = w.start + span * Math.min(1, Math.max(0, (e.clientX - box.left) / box.width));
      var factor = e.deltaY < 0 ? 0.8 : 1.25;
      view = clampView({ start: at - (at - w.start) * factor, end: at + (w.end - at) * factor });
      document.getElementById("follow").checked = false; scheduleTimeline();
    }, { passive: false });
    var dragFrom = null;
    root.addEventListener("mousedown", function (e) { if (e.target.closest(".mark") || e.target.closest(".label")) return; dragFrom = { x: e.clientX, w: windowOf() }; dragged = false; });
    window.addEventListener("mousemove", function (e) {
      if (!dragFrom || Math.abs(e.clientX - dragFrom.x) < 3) return;
      dragged = true;
      var track = root.querySelector(".track"); if (!track) return;
      var shift = ((e.clientX - dragFrom.x) / track.getBoundingClientRect().width) * (dragFrom.w.end - dragFrom.w.start);
      view = clampView({ start: dragFrom.w.start - shift, end: dragFrom.w.end - shift });
      document.getElementById("follow").checked = false; scheduleTimeline();
    });
    window.addEventListener("mouseup", function () { dragFrom = null; });
  }
  document.getElementById("fit").onclick = function () { view = null; document.getElementById("follow").checked = true; renderTimeline(); };
  // Ticking "follow live" keeps the zoom and slides the window to the present; "fit" shows everything.
  document.getElementById("follow").onchange = function () { if (transitions.length) view = this.checked ? view : windowOf(); renderTimeline(); };
`;
