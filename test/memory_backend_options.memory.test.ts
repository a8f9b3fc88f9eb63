import { describe, expect, it } from "vitest";
import { ConfigurationError, memoryBackend, ValidationError } from "../src/index.js";

describe("memoryBackend options", () => {
  it("refuses unknown keys (ConfigurationError) and a copy that is not a boolean (ValidationError); undefined means the default", () => {
    expect(() => memoryBackend({ copies: true } as never)).toThrow(ConfigurationError);
    expect(() => memoryBackend({ copy: "yes" } as never)).toThrow(ValidationError);
    expect(() => memoryBackend({ copy: "yes" } as never)).toThrow(/copy of memoryBackend must be true or false/);
    expect(() => memoryBackend({ copy: undefined })).not.toThrow();
  });
});
