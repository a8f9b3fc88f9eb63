/**
 * The import rules `npm run lint` enforces (dependency-cruiser). Type-only
 * imports count: a cycle of types is still a cycle for a reader.
 *
 * Layers, lowest first; a module imports only from its own layer or lower ones:
 *   base         src/*.ts: errors, options, ids, clock, schema, logger, thenable, definitionSite
 *   machines     machines/: pure XState machine definitions (no I/O)
 *   backend      src/backend/: the seam (Backend.ts, events.ts) and its backends
 *   runtime      src/worker/, src/job/, src/stream/, src/spec/types.ts, src/inspect/: what runs a job
 *   env          src/env/: LiveEnv (queues, runner, clients)
 *   definitions  JobSpec, LiveWorkerDef (and its options), Liveflow with flow/: what users define, over an env
 *   entry        src/index.ts, src/testing/
 *   redis        src/redis/: the Redis backend (the `liveworker/redis` entry), over base and the seam only
 * Only the backend's own entry points (defaultBackend.ts, index.ts) name a
 * concrete backend: the rest of the library knows only Backend.ts.
 */
const base = "^src/(errors|options|ids|clock|schema|logger|thenable|definitionSite)\\.ts$";
const definitions = "^src/(spec/JobSpec|worker/(LiveWorkerDef|LiveWorkerOptions)|flow/)";
const runtime = "^src/(worker|job|stream|spec|inspect)/";
const env = "^src/env/";
const entry = "^src/(index\\.ts$|testing/)";

module.exports = {
  forbidden: [
    { name: "no-circular", severity: "error", comment: "An import cycle (type imports included).", from: {}, to: { circular: true } },
    { name: "base-imports-base", severity: "error", from: { path: base }, to: { path: "^(src|machines)/", pathNot: base } },
    { name: "machines-below-backend", severity: "error", from: { path: "^machines/" }, to: { path: "^src/", pathNot: base } },
    { name: "backend-below-runtime", severity: "error", from: { path: "^src/backend/" }, to: { path: "^src/", pathNot: [base, "^src/backend/"] } },
    {
      name: "only-entry-points-name-a-backend",
      severity: "error",
      from: { pathNot: ["^src/backend/memory/", "^src/backend/defaultBackend\\.ts$", "^src/index\\.ts$"] },
      to: { path: "^src/backend/memory/" },
    },
    { name: "runtime-below-env", severity: "error", from: { path: runtime, pathNot: definitions }, to: { path: [env, definitions, entry] } },
    { name: "env-below-definitions", severity: "error", from: { path: env }, to: { path: [definitions, entry] } },
    { name: "definitions-below-entry", severity: "error", from: { path: definitions }, to: { path: entry } },
    { name: "redis-is-a-backend", severity: "error", from: { path: "^src/redis/" }, to: { path: "^src/", pathNot: [base, "^src/backend/(Backend|events|streamLabel)\\.ts$", "^src/redis/"] } },
    { name: "nothing-imports-redis", severity: "error", from: { path: "^(src|machines)/", pathNot: "^src/redis/" }, to: { path: "^src/redis/" } },
    { name: "nothing-imports-the-entry", severity: "error", from: { path: "^(src|machines)/" }, to: { path: "^src/index\\.ts$" } },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    doNotFollow: { path: "node_modules" },
    exclude: { path: "node_modules" },
  },
};
