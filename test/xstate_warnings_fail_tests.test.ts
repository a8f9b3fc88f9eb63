import { createActor, createMachine } from "xstate";
import { describe, expect, it } from "vitest";
import { xstateWarnings } from "./setup/failOnXStateWarnings.js";

describe("the suite fails on XState warnings", () => {
  it("catches XState's own warning (an event sent to a stopped actor), and nothing printed by others", () => {
    const actor = createActor(createMachine({ initial: "a", states: { a: { type: "final" } } })).start();
    console.warn("a warning that is not XState's");
    expect(xstateWarnings).toEqual([]);
    actor.send({ type: "LATE" });
    // Taken out again, so this test itself passes; the setup's afterEach would fail it otherwise.
    const caught = xstateWarnings.splice(0);
    expect(caught).toHaveLength(1);
    expect(caught[0]).toMatch(/Event "LATE" was sent to stopped actor/);
  });
});
