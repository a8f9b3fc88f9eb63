/** The viewer page's CSS (see `page.ts`): layout, diagrams, the wiring graph, the timeline, and one class per state. */
export const VIEWER_STYLE = `  :root { font: 13px/1.4 system-ui, sans-serif; color: #1d2330; background: #f6f7f9; }
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
  .actor span:first-child { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; min-width: 0; }
  .actor .status { flex: none; }
  .actor.worker { margin-left: 16px; }
  .actor.selected { background: #e4ecff; }
  .status { font-family: ui-monospace, monospace; font-size: 12px; }
  #diagrams { display: grid; grid-template-columns: 1fr; gap: 8px; }
  svg.machine { max-width: 100%; height: auto; }
  svg.machine.wiring { max-width: none; } /* a long pipeline scrolls sideways instead of shrinking to unreadable text */
  svg text { font: 12px system-ui, sans-serif; }
  .node rect { fill: #fff; stroke: #8a93a6; }
  .node.final rect { stroke-width: 3; }
  .node.choice rect { stroke-dasharray: 4 3; }
  .wiring .node rect.s-executing { fill: #c8e6c9; } .wiring .node rect.s-done { fill: #66bb6a; } .wiring .node rect.s-error, .wiring .node rect.s-crashed { fill: #ffcdd2; }
  .wiring .node rect.s-recovering, .wiring .node rect.s-restarting, .wiring .node rect.s-initializing, .wiring .node rect.s-starting { fill: #fff3c4; }
  .wiring .node rect.s-stopped, .wiring .node rect.s-stopping { fill: #e0e0e0; }
  .wiring .flow-input rect, .wiring .flow-output rect { fill: #eef2fb; }
  .wiring .node { cursor: pointer; }
  svg:not(.wiring) .node.current rect { fill: #ffe58a; stroke: #b88a00; stroke-width: 2; }
  .wiring .node.current rect { stroke: #1565c0; stroke-width: 3; } /* the selected node keeps its state's colour */
  .edge path { fill: none; stroke: #a9b1c2; }
  .edge.exposure path { stroke-dasharray: 1 3; stroke: #6b7a99; }
  .edge.eventless path { stroke-dasharray: 6 4; }
  .edge.delayed path { stroke-dasharray: 2 3; stroke: #8e7cc3; }
  .edge-label rect { fill: #fff; stroke: #e3e6ec; }
  .edge-label text { fill: #5b6478; font: 10px ui-monospace, SFMono-Regular, Menlo, monospace; }
  .diagram-legend { font-size: 12px; color: #5b6478; margin: 4px 0 8px; }
  .diagram-legend svg { vertical-align: middle; margin: 0 4px 0 12px; }
  #timeline-section { min-width: 0; }
  #machines-section { grid-column: 1 / span 2; }
  .timeline-tools { display: flex; gap: 12px; align-items: center; font-size: 12px; color: #5b6478; margin-bottom: 4px; }
  .timeline-tools button { font: inherit; }
  .row { display: flex; align-items: center; height: 40px; border-bottom: 1px solid #f0f1f4; }
  .row.job { height: 22px; background: #f8f9fb; }
  .row .label { width: 260px; flex: none; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; font-family: ui-monospace, monospace; font-size: 11px; cursor: pointer; }
  .row.worker .label { padding-left: 14px; box-sizing: border-box; }
  .track { position: relative; flex: 1; height: 16px; background: #fafbfc; overflow: visible; }
  .row.job .track { height: 10px; }
  #timeline .track { cursor: grab; }
  .axis { position: relative; flex: 1; height: 18px; border-bottom: 1px solid #c8cdd6; }
  .tick { position: absolute; bottom: 0; height: 5px; border-left: 1px solid #8a93a6; }
  .tick span { position: absolute; bottom: 6px; left: 2px; font-size: 10px; color: #5b6478; white-space: nowrap; }
  .tick.end span { left: auto; right: 2px; } /* the last ticks' labels stay inside the axis */
  .row.selected { background: #e4ecff; }
  .band { position: absolute; top: 0; height: 100%; min-width: 5px; box-sizing: border-box; border-right: 1px solid #fff; }
  .band.s-error, .band.s-crashed, .band.s-failed, .band.short { z-index: 1; } /* a short failure stays visible over the band after it */
  .mark { position: absolute; width: 12px; height: 12px; margin-left: -6px; border-radius: 6px; cursor: pointer; font-size: 9px; line-height: 12px; text-align: center; color: #fff; z-index: 2; }
  .mark.error { top: -12px; background: #c62828; } .mark.restart { top: 16px; background: #1565c0; }
  #tip { position: fixed; display: none; max-width: 420px; padding: 4px 8px; background: #1d2330; color: #fff; font: 11px/1.4 ui-monospace, monospace; white-space: pre-wrap; overflow-wrap: anywhere; border-radius: 4px; pointer-events: none; z-index: 10; }
  #detail { font-family: ui-monospace, monospace; white-space: pre-wrap; overflow-wrap: anywhere; min-height: 1.4em; margin: 4px 0; }
  #detail .error { color: #c62828; }
  .s-queued { background: #cfd8dc; } .s-running { background: #81c784; } .s-stopping { background: #ffb74d; }
  .s-completed, .s-done { background: #2e7d32; } .s-failed, .s-crashed { background: #c62828; } .s-cancelled, .s-stopped { background: #757575; }
  .s-initializing { background: #90caf9; } .s-executing { background: #66bb6a; } .s-error { background: #ef5350; } .s-recovering { background: #ffca28; } .s-restarting { background: #ffe082; }
  .legend span { display: inline-block; padding: 0 6px; margin-right: 4px; border-radius: 3px; color: #000; }
  .legend .legend-mark { color: #fff; } .legend-mark.error { background: #c62828; } .legend-mark.restart { background: #1565c0; }
`;
