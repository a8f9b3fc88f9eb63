import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { JobFailedError, JobSpec, UnrecoverableError, ValidationError, rebuildError, serializeError } from "../src/index.js";
import { closeAll, createTestEnv } from "./helpers/env.js";

afterEach(closeAll);

/** A user's own error class, built on a liveworker one, with a field of its own. */
class OvenFireError extends UnrecoverableError {
  constructor(readonly ovenId: string) {
    super(`oven ${ovenId} is on fire`);
  }
}

describe("an error rebuilt from its serialised form keeps its name and its fields", () => {
  it("a subclass of a liveworker error: the class its code names, with the subclass's name and fields", () => {
    const rebuilt = rebuildError(serializeError(new OvenFireError("north"))) as Error & { ovenId?: string };
    expect(rebuilt).toBeInstanceOf(UnrecoverableError);
    expect(rebuilt.name).toBe("OvenFireError");
    expect(rebuilt.message).toBe("oven north is on fire");
    expect(rebuilt.ovenId).toBe("north");
    expect(Object.keys(rebuilt).sort()).toEqual(Object.keys(new OvenFireError("north")).sort());
  });

  it("a ValidationError given extra fields keeps them", () => {
    const original = Object.assign(new ValidationError("size must be at most 3", [{ message: "too big", path: ["size"] }]), { limit: 3 });
    const rebuilt = rebuildError(serializeError(original)) as ValidationError & { limit?: number };
    expect(rebuilt).toBeInstanceOf(ValidationError);
    expect(rebuilt.issues).toEqual([{ message: "too big", path: ["size"] }]);
    expect(rebuilt.limit).toBe(3);
  });

  it("a job's cause reaches its waiter with its name and fields, whatever the backend", async () => {
    const { env } = createTestEnv();
    const spec = JobSpec.define({ name: "bake", input: z.number(), output: z.number() });
    spec.defineWorker({
      liveEnv: env,
      processor: async () => {
        throw new OvenFireError("north");
      },
    });
    const job = await spec.enqueueJob({ liveEnv: env });
    const error = await job.waitUntilFinish().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobFailedError);
    const cause = (error as JobFailedError).cause as Error & { ovenId?: string };
    expect(cause).toBeInstanceOf(UnrecoverableError);
    expect(cause.name).toBe("OvenFireError");
    expect(cause.ovenId).toBe("north");
  });
});
