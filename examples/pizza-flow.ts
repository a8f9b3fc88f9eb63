/**
 * A Liveflow (`dough → sauce → toppings → bake`) run as one job. Four orders go
 * in; the toppings station drops the basil on order 2 once, the supervisor
 * restarts it (and, under `rest_for_one`, the oven downstream of it), and every
 * pizza still comes out. Prints a lifecycle timeline from `env.subscribe`.
 * Run: `npx tsx examples/pizza-flow.ts`. Exits non-zero if a pizza is wrong or
 * missing, or if the wrong stations restarted.
 */
import { strict as assert } from "node:assert";
import { z } from "zod";
import { JobSpec, LiveEnv, Liveflow, conn, expose, type LifecycleEvent } from "liveworker";

const env = LiveEnv.create({ projectId: "pizza-flow" });

// ——— the stations ———

const dough = JobSpec.define({
  name: "dough",
  input: z.object({ order: z.number(), size: z.enum(["small", "large"]) }),
  output: z.object({ order: z.number(), grams: z.number() }),
});
const sauce = JobSpec.define({
  name: "sauce",
  jobOptions: z.object({ base: z.enum(["tomato", "cream"]) }),
  input: z.object({ order: z.number(), grams: z.number() }),
  output: z.object({ order: z.number(), grams: z.number(), sauce: z.string() }),
});
const toppings = JobSpec.define({
  name: "toppings",
  input: z.object({ order: z.number(), grams: z.number(), sauce: z.string() }),
  output: z.object({ order: z.number(), layers: z.array(z.string()) }),
});
const bake = JobSpec.define({
  name: "bake",
  input: z.object({ order: z.number(), description: z.string() }),
  output: z.object({ order: z.number(), pizza: z.string() }),
});

dough.defineWorker({
  liveEnv: env,
  processor: async ({ input, output }) => {
    for await (const { order, size } of input) await output.emit({ order, grams: size === "large" ? 400 : 250 });
  },
});
sauce.defineWorker({
  liveEnv: env,
  processor: async ({ input, output, jobOptions }) => {
    for await (const base of input) await output.emit({ ...base, sauce: jobOptions.base });
  },
});
let basilDropped = false;
toppings.defineWorker({
  liveEnv: env,
  processor: async ({ input, output }) => {
    for await (const { order, grams, sauce: base } of input) {
      if (order === 2 && !basilDropped) {
        basilDropped = true;
        throw new Error("dropped the basil on order 2");
      }
      await output.emit({ order, layers: [`${grams} g dough`, `${base} sauce`, "mozzarella", "basil"] });
    }
  },
});
bake.defineWorker({
  liveEnv: env,
  processor: async ({ input, output }) => {
    for await (const { order, description } of input) await output.emit({ order, pizza: `baked ${description}` });
  },
});

// ——— the menu ———

const pizzeria = Liveflow.define({
  name: "pizzeria",
  connections: [
    conn({ from: dough, to: sauce }),
    conn({ from: sauce, to: toppings }),
    conn({ from: toppings, to: bake, transform: (t: { order: number; layers: string[] }) => ({ order: t.order, description: t.layers.join(" + ") }) }),
  ],
  exposures: [expose(dough.input.default, "orders"), expose(bake.output.default, "pizzas")],
  supervision: { strategy: "rest_for_one", maxRestarts: 3, withinMs: 60_000, backoff: { initialMs: 20, jitter: 0 } },
});

// ——— the timeline ———

const startedAt = Date.now();
const timeline: string[] = [];
const restarted: string[] = [];
env.subscribe((event: LifecycleEvent) => {
  const ms = `${String(Date.now() - startedAt).padStart(4)} ms`;
  if (event.type === "job.status") timeline.push(`${ms}  job ${event.status}`);
  if (event.type === "worker.state") {
    const why = event.error ? `: ${event.error.message}` : "";
    timeline.push(`${ms}  ${event.workerName.padEnd(8)} ${event.state} (attempt ${event.attempt})${why}`);
  }
  if (event.type === "worker.restart") restarted.push(event.workerName);
});

// ——— service ———

const job = await pizzeria.enqueueJob({ liveEnv: env, jobOptions: { sauce: { base: "tomato" } } });
const orders = [
  { order: 1, size: "large" },
  { order: 2, size: "small" },
  { order: 3, size: "large" },
  { order: 4, size: "small" },
] as const;
for (const order of orders) await job.input("orders").feed(order);
await job.input("orders").terminate();
const pizzas = new Map<number, string>();
for await (const { data } of job.output("pizzas")) pizzas.set(data.order, data.pizza); // at-least-once: keyed by order
await job.waitUntilFinish();
await env.close();

console.log("timeline:");
for (const line of timeline) console.log(`  ${line}`);
console.log("\npizzas:");
for (const [order, pizza] of pizzas) console.log(`  #${order}: ${pizza}`);

// ——— the checks ———

assert.equal(job.status, "completed");
assert.deepEqual([...pizzas.keys()].sort(), [1, 2, 3, 4], "every order became a pizza");
assert.equal(pizzas.get(1), "baked 400 g dough + tomato sauce + mozzarella + basil");
assert.equal(pizzas.get(2), "baked 250 g dough + tomato sauce + mozzarella + basil");
// rest_for_one: the failed station and the one downstream of it restart; upstream ones keep going.
assert.deepEqual(restarted.sort(), ["bake", "toppings"]);
assert.ok(timeline.some((line) => /toppings +error \(attempt 1\): dropped the basil on order 2/.test(line)));
assert.ok(timeline.some((line) => /toppings +done \(attempt 2\)/.test(line)));
assert.ok(timeline.some((line) => /dough +done \(attempt 1\)/.test(line)));
assert.equal(timeline.at(-1)?.endsWith("job completed"), true);
