/**
 * The viewer page's script, part 4 of 4 (see `page.ts`): the detail panel of
 * the selected job or worker: its status, restart history, last error with
 * its stack, and the job's options (asked of the server).
 */
export const SCRIPT_DETAIL = `
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
      var next = mine[i + 1]; var previous = mine[i - 1];
      var backoff = t.backoffMs !== undefined ? formatMs(t.backoffMs) : next ? formatMs(next.at - t.at) : null;
      var cause = previous && previous.state === "restarting" ? " (with a sibling that failed)" : failedBefore ? " (attempt " + failedBefore.attempt + " failed: " + failedBefore.error + ")" : "";
      lines.push("  restart at +" + formatMs(t.at - origin) + ": attempt " + ((t.attempt || 1) + 1) + (next ? " after a backoff of " + backoff : ", waiting out its backoff" + (backoff ? " of " + backoff : "")) + cause);
      failedBefore = null;
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
      (options === null ? "not known here (the job runs in another process, or ended long ago)" : JSON.stringify(options))));
  }
`;
