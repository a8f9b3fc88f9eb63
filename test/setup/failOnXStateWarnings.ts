/**
 * Fails the test during which XState printed a warning or an error of its
 * own ("Event … was sent to stopped actor", "Custom actions should not call
 * …"): each one is a symptom of an event sent where the runtime did not
 * mean to. Messages are recognised by where they come from (XState's code
 * called `console` itself), not by their wording.
 */
import { afterEach } from "vitest";

/** XState's messages caught since the last check. */
export const xstateWarnings: string[] = [];

/** True when the function that called console (the frame right above our wrapper) is XState's own code. */
const fromXState = (stack: string | undefined) => /[\\/]node_modules[\\/]xstate[\\/]/.test((stack ?? "").split("\n")[2] ?? "");

for (const method of ["warn", "error"] as const) {
  const original = console[method].bind(console);
  console[method] = (...args: unknown[]) => {
    if (fromXState(new Error().stack)) xstateWarnings.push(args.map(String).join(" "));
    original(...args);
  };
}

afterEach(() => {
  if (xstateWarnings.length === 0) return;
  const caught = xstateWarnings.splice(0);
  throw new Error(`XState printed ${caught.length} warning(s) during this test:\n  ${caught.join("\n  ")}`);
});
