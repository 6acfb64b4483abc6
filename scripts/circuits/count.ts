/**
 * Measures constraint counts of generated configurations (compiles r1cs/wasm into the cache).
 *
 *   node scripts/circuits/count.ts chunk 8 1024 16 32      # kind K_MAX CHUNK B BG
 *   node scripts/circuits/count.ts decision 8 1024 16 32
 *
 * Prints constraints, constraints per parameter and per trainer-parameter (chunk circuit).
 */
import { compileConfig, type CircuitKind } from "./circom.ts";
import { readR1csHeader } from "./r1cs.ts";
import { validateConfig } from "@fedmarket/core";

const [kindArg, k, c, b, bg] = process.argv.slice(2);
if (kindArg !== "chunk" && kindArg !== "decision") {
  console.error("usage: node scripts/circuits/count.ts chunk|decision K_MAX CHUNK B BG");
  process.exit(2);
}
const kind: CircuitKind = kindArg;
const config = { kMax: Number(k), chunk: Number(c), updateBits: Number(b ?? 16), modelBits: Number(bg ?? 32) };
validateConfig(config);
const started = Date.now();
const compiled = await compileConfig(kind, config, (m) => console.error(m));
const header = readR1csHeader(compiled.r1cs);
const seconds = (Date.now() - started) / 1000;
const perParam = header.nConstraints / config.chunk;
const line = {
  kind,
  ...config,
  constraints: header.nConstraints,
  wires: header.nWires,
  perParameter: Number(perParam.toFixed(2)),
  perTrainerParameter: Number((perParam / config.kMax).toFixed(2)),
  compileSeconds: Number(seconds.toFixed(1)),
};
console.log(JSON.stringify(line));
