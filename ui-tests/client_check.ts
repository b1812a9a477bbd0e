// Calls every operation of the running service through openapi-fetch, typed by the
// `paths` that openapi-typescript generated from openapi.yaml (scripts/clients_check.sh
// generates generated/schema.d.ts, compiles this file with tsc --strict and runs it). A typed
// call for /crr is checked by the compiler (its body fields and the answer's `value`), then
// each operation with its first spec example, then one problem+json parsed.
import createClient from "openapi-fetch";
import { readFileSync } from "node:fs";
import type { paths, components } from "./generated/schema.js";

const base = process.argv[2];
const spec = JSON.parse(readFileSync(process.argv[3], "utf8")) as {
  paths: Record<string, Record<string, {
    requestBody?: { content: Record<string, { examples?: Record<string, { value: unknown }> }> };
    parameters?: { name: string; in: string; example?: unknown }[];
  }>>;
};
const client = createClient<paths>({ baseUrl: base });
const failures: string[] = [];

// Typed: a wrong field name or a missing one would not compile.
const crr = await client.POST("/crr", { body: { start_customers: 200, end_customers: 170, new_customers: 20 } });
const value: number | undefined = crr.data?.value;
console.log(`${value === 75 ? "ok  " : "FAIL"} typed POST /crr -> ${crr.response.status} value ${value}`);
if (value !== 75) failures.push("typed /crr did not answer 75");

let calls = 0;
for (const [path, item] of Object.entries(spec.paths)) {
  for (const [method, operation] of Object.entries(item)) {
    const examples = operation.requestBody?.content["application/json"]?.examples;
    const body = examples ? Object.values(examples)[0].value : undefined;
    // Parameters with an example (GET /sql/{reduction}) take it.
    const params: { path: Record<string, unknown>; query: Record<string, unknown> } = { path: {}, query: {} };
    for (const p of operation.parameters ?? []) {
      if (p.example !== undefined && (p.in === "path" || p.in === "query")) params[p.in][p.name] = p.example;
    }
    // The generic loop gives up the per-path types the typed call above checks.
    const call = method === "post"
      ? (client.POST as (p: string, o: object) => Promise<{ data?: unknown; error?: unknown; response: Response }>)(path, { body, parseAs: path === "/openapi.yaml" ? "text" : "json" })
      : (client.GET as (p: string, o: object) => Promise<{ data?: unknown; error?: unknown; response: Response }>)(path, { params, parseAs: path === "/metrics" || path === "/openapi.yaml" ? "text" : "json" });
    const { data, response } = await call;
    calls++;
    const ok = response.status === 200 && data !== undefined;
    console.log(`${ok ? "ok  " : "FAIL"} ${method.toUpperCase()} ${path} -> ${response.status}`);
    if (!ok) failures.push(`${method.toUpperCase()} ${path}: ${response.status}`);
  }
}

// A refusal: `error` is the spec's Problem.
const refused = await client.POST("/crr", { body: { start_customers: 0, end_customers: 5, new_customers: 5 } });
const problem: components["schemas"]["Problem"] | undefined = refused.error as components["schemas"]["Problem"] | undefined;
const pointer = problem?.errors?.[0]?.pointer;
const refusedOk = refused.response.status === 422 && problem?.status === 422 && pointer === "/start_customers";
console.log(`${refusedOk ? "ok  " : "FAIL"} POST /crr refused -> ${refused.response.status} ${problem?.type} ${pointer}`);
if (!refusedOk) failures.push("the refusal was not a Problem naming /start_customers");

if (failures.length) {
  console.error(`${failures.length} failure(s):\n  ${failures.join("\n  ")}`);
  process.exit(1);
}
console.log(`typescript client: ${calls} operations called, one problem parsed`);
