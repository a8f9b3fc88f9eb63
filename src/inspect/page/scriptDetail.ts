/**
 * The viewer page's script, part 4 of 4 (see `page.ts`): the detail panel of
 * the selected job or worker: its status, restart history, last error with
 * its stack, and the job's options (asked of the server).
 */
export const SCRIPT_DETAIL = `
  // A worker's restarts, each with its cause and granted backoff (its own rows of the transitions).
  function restartLines(mine, origin, prefix) {
    var lines = []; var failedBefore = null;
    mine.forEach(function (t, i) {
      if (t.error) failedBefore = t;
      if (!t.restart) return;
      var next = mine[i + 1]; var previous = mine[i - 1];
      var backoff = t.backoffMs !== undefined ? formatMs(t.backoffMs) : next ? formatMs(next.at - t.at) : null;
      var cause = previous && previous.state === "restarting" ? " (" + siblingCause(t) + ")" : failedBefore ? " (attempt " + failedBefore.attempt + " failed: " + failedBefore.error + ")" : "";
      lines.push("  " + prefix + "restart at +" + formatMs(t.at - origin) + ": attempt " + ((t.attempt || 1) + 1) + (next ? " after a backoff of " + backoff : ", waiting out its backoff" + (backoff ? " of " + backoff : "")) + cause);
      failedBefore = null;
    });
    return lines;
  }
  // The panel is rebuilt only when what it says changed: a stack stays selectable while other jobs run.
  var detailKey = null;
  function showDetail(actorId, refresh) {
    detailId = actorId;
    var detail = document.getElementById("detail");
    var actor = actors.get(actorId); if (!actor) { detail.textContent = ""; detailKey = null; return; }
    var origin = transitions.length ? dataSpan().start : 0;
    var lines = [actor.id + " — " + actor.state + (actor.attempt ? ", attempt " + actor.attempt : "")];
    // A job's panel gathers its workers' restarts and errors; a worker's, its own.
    var members = [actor];
    if (actor.kind === "job") { var ws = workersByJob().get(actor.id) || []; members = members.concat(ws); }
    var lastError = null;
    members.forEach(function (m) {
      var mine = transitions.filter(function (t) { return t.actorId === m.id; });
      lines = lines.concat(restartLines(mine, origin, m === actor ? "" : m.id + ": "));
      mine.forEach(function (t) { if (t.error && (!lastError || t.at >= lastError.at)) lastError = t; });
    });
    var errorLine = lastError && lastError.state === "cancelled" ? "cancelled: " + lastError.error : lastError ? "last error" + (lastError.attempt ? " (attempt " + lastError.attempt + ")" : "") + (lastError.actorId !== actor.id ? " of " + lastError.actorId : "") + ": " + lastError.error : null;
    var key = JSON.stringify([lines, errorLine, lastError && lastError.stack]);
    var options = detail.querySelector(".options");
    var jobActorId = actor.kind === "job" ? actor.id : actor.parentId;
    var optionsKept = refresh && options && options.getAttribute("data-job") === jobActorId;
    if (optionsKept && key === detailKey) return;
    detailKey = key; detail.textContent = "";
    detail.appendChild(el("div", {}, lines.join("\\n")));
    if (errorLine) {
      detail.appendChild(el("div", { class: "error" }, errorLine));
      if (lastError.stack) detail.appendChild(el("pre", { class: "error stack" }, lastError.stack));
    }
    // The job's options come from the server (the process that runs the job), when it runs or ran there.
    if (optionsKept) { detail.appendChild(options); return; }
    if (jobActorId && liveSocket && liveSocket.readyState === 1) liveSocket.send(JSON.stringify({ type: "details", jobActorId: jobActorId }));
  }
  function showOptions(jobActorId, options) {
    var detail = document.getElementById("detail");
    var current = detailId ? actors.get(detailId) : null;
    // A reply for a job no longer shown (two quick clicks) is dropped.
    if (!current || (current.kind === "job" ? current.id : current.parentId) !== jobActorId) return;
    var old = detail.querySelector(".options"); if (old) old.remove();
    // A job of one spec has its options under the spec's name (node key → options, as a flow's): shown unwrapped.
    var name = jobActorId.slice(4, jobActorId.indexOf("/"));
    var single = options !== null && !flowJobs[jobActorId] && Object.keys(options).length === 1 && Object.prototype.hasOwnProperty.call(options, name);
    detail.appendChild(el("div", { class: "options", "data-job": jobActorId }, "job options of " + jobActorId + ": " +
      (options === null ? "not known here (the job runs in another process, or ended long ago)" : JSON.stringify(single ? options[name] : options))));
  }
`;
