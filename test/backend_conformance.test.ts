/**
 * What every `Backend` must do, exercised on the interface alone (no env, no
 * spec): each case runs against each backend `LW_BACKEND` selects (default:
 * all available; see `helpers/backends.ts`). The contract is the docstrings
 * of `src/backend/Backend.ts`.
 */
import { describe, expect, it } from "vitest";
import { selectBackends, selectedBackends } from "./helpers/backends.js";
import { closeCases } from "./conformance/close.cases.js";
import { consumerCases } from "./conformance/consumer.cases.js";
import { conformance } from "./conformance/context.js";
import { eventCases } from "./conformance/events.cases.js";
import { jobQueueHandsOutCases } from "./conformance/jobQueueHandsOut.cases.js";
import { jobQueueTicketCases } from "./conformance/jobQueueTickets.cases.js";
import { stateCases } from "./conformance/state.cases.js";
import { streamCases } from "./conformance/streams.cases.js";

describe("LW_BACKEND selection", () => {
  it("selects one backend by name, or every one that needs no service when unset or empty", () => {
    expect(selectBackends("memory-copy").map((factory) => factory.name)).toEqual(["memory-copy"]);
    expect(selectBackends("redis").map((factory) => factory.name)).toEqual(["redis"]);
    const all = selectBackends(undefined).map((factory) => factory.name);
    expect(all).toEqual(["memory", "memory-copy"]);
    expect(selectBackends("").map((factory) => factory.name)).toEqual(all);
  });

  it("fails loudly for an unknown name, naming the choices", () => {
    expect(() => selectBackends("memroy")).toThrow(/Unknown LW_BACKEND "memroy".*memory, memory-copy/);
  });
});

describe.each(selectedBackends().map((factory) => [factory.name, factory] as const))("%s backend", (_name, factory) => {
  const backend = conformance(factory);
  jobQueueHandsOutCases(backend);
  jobQueueTicketCases(backend);
  streamCases(backend);
  consumerCases(backend);
  stateCases(backend);
  eventCases(backend);
  closeCases(backend);
});
