import { VIEWER_STYLE } from "./pageStyle.js";
import { SCRIPT_CORE } from "./scriptCore.js";
import { SCRIPT_DETAIL } from "./scriptDetail.js";
import { SCRIPT_DIAGRAMS } from "./scriptDiagrams.js";
import { SCRIPT_TIMELINE } from "./scriptTimeline.js";

/**
 * The viewer page: one self-contained HTML document (inline CSS and script,
 * no network fetch but its own WebSocket). Shipped as a string so it is part
 * of the bundle. The script comes in four parts (`script*.ts`), which share
 * one function scope; it avoids template literals, so it can sit inside this one.
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
  <section id="timeline-section">
    <h2>Timeline</h2>
    <div class="timeline-tools"><label><input type="checkbox" id="follow" checked> follow live</label><button id="fit" type="button">fit</button><span>wheel over the tracks: zoom · drag: pan · click a row or a mark for details</span></div>
    <div class="legend" id="legend"></div>
    <div id="timeline"></div>
    <div id="detail"></div>
    <div id="tip"></div>
  </section>
  <section id="machines-section"><h2>Machines <span id="selected-name"></span></h2><div id="diagrams"></div></section>
</main>
<script>
(function () {
  "use strict";${SCRIPT_CORE}${SCRIPT_DIAGRAMS}${SCRIPT_TIMELINE}${SCRIPT_DETAIL}
  connect();
})();
</script>
</body>
</html>
`;
