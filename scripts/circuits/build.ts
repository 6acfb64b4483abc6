/**
 * Build pipeline of the circuits: compile -> Groth16 setup -> phase-2 contribution -> export
 * of the verification key and the Solidity verifier into contracts/verifiers/generated/.
 *
 *   node scripts/circuits/build.ts                 # every circuits/main/*.circom, dev setup
 *                                                  # (except `// no-verifier` ones: measured only;
 *                                                  # `// verifier-when-cached` ones only if their
 *                                                  # setup is cached, else their sources hash is checked)
 *   node scripts/circuits/build.ts chunk_k4_c16    # selected targets
 *   node scripts/circuits/build.ts --check         # regenerate and fail on any diff
 *   node scripts/circuits/build.ts --fresh         # redo the setup even if cached
 *   node scripts/circuits/build.ts --ptau pot.ptau # production: ceremony ptau (or FEDMARKET_PTAU)
 *
 * Artifacts are cached in .cache/circuits/<name>-<hash of sources + params>/; dev powers of tau
 * in .cache/ptau/. The dev setup is deterministic, hence `--check` is reproducible; it is NOT
 * FOR PRODUCTION. With --ptau the phase-2 contribution is random: `--check` then re-exports
 * from the cached zkey of that ptau (it cannot re-create the randomness).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { ROOT, compileTarget, compiledPaths, generatesVerifier, listTargets, verifierWhenCached, type CircuitTarget } from "./circom.ts";
import { DEV_WARNING, VERIFIERS_DIR, devSetupCached, renderVerifier, setupCircuit, verifierContractName, type SetupMode } from "./setup.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    check: { type: "boolean", default: false },
    fresh: { type: "boolean", default: false },
    ptau: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(readFileSync(new URL(import.meta.url), "utf8").split("*/")[0]);
  process.exit(0);
}

const log = (m: string): void => console.error(`[circuits] ${m}`);
const ptau = values.ptau ?? process.env["FEDMARKET_PTAU"];
const mode: SetupMode = ptau !== undefined && ptau !== "" ? { kind: "production", ptau } : { kind: "dev" };
if (mode.kind === "dev") console.error(DEV_WARNING);

const all = listTargets();
// Without names: every main file except the measured-only ones (`// no-verifier`).
const skipped = positionals.length === 0 ? all.filter((t) => !generatesVerifier(t)) : [];
if (skipped.length > 0) log(`skipping no-verifier main files: ${skipped.map((t) => t.name).join(", ")}`);
const targets =
  positionals.length === 0
    ? all.filter(generatesVerifier)
    : positionals.map((name) => {
        const t = all.find((x) => x.name === name);
        if (t === undefined) throw new Error(`no circuits/main/${name}.circom (have: ${all.map((x) => x.name).join(", ")})`);
        return t;
      });

/**
 * A `// verifier-when-cached` target without its cached dev setup (CI, fresh clones): instead of
 * regenerating (the demo circuits' compile and dev zkeys take about a minute on 2 cores), check that its committed verifier was generated
 * from the current sources (deterministic dev setup: same sources, same verifier).
 */
function checkSourcesHash(target: CircuitTarget): boolean {
  const expected = compiledPaths(target).hash;
  const file = join(VERIFIERS_DIR, `${verifierContractName(target.name)}.sol`);
  const committed = existsSync(file) ? readFileSync(file, "utf8") : "";
  const recorded = /^\/\/ Sources hash: ([0-9a-f]+)$/m.exec(committed)?.[1];
  if (recorded === expected) {
    log(`ok (sources hash ${expected}; dev setup not cached, so not regenerated): ${relative(ROOT, file)}`);
    return true;
  }
  log(
    `DIFF: ${relative(ROOT, file)} ${recorded === undefined ? "is missing or has no sources hash" : `was generated from other sources (${recorded}, now ${expected})`}: ` +
      `run node scripts/circuits/build.ts ${target.name} (generates its dev setup: about a minute on 2 cores, mostly the circom compile) ` +
      "and commit the result",
  );
  return false;
}

let failures = 0;
try {
  for (const target of targets) {
    if (positionals.length === 0 && mode.kind === "dev" && verifierWhenCached(target) && !devSetupCached(compiledPaths(target))) {
      if (!checkSourcesHash(target)) failures++;
      continue;
    }
    // circom says nothing until it is done (tens of seconds for the demo circuits): a line every 10 s.
    const started = Date.now();
    const heartbeat = setInterval(() => log(`still compiling ${target.name}: ${Math.round((Date.now() - started) / 1000)} s`), 10_000);
    const compiled = await compileTarget(target, log).finally(() => clearInterval(heartbeat));
    if (values.check && mode.kind === "production" && values.fresh) {
      throw new Error("--check with --ptau re-exports the cached zkey; --fresh would re-randomise it");
    }
    const setup = await setupCircuit(compiled, mode, log, values.fresh);
    const files = await renderVerifier(setup);
    const outputs: [string, string][] = [
      [files.solidityPath, files.solidity],
      [files.vkeyPath, files.vkey],
    ];
    if (values.check) {
      for (const [path, text] of outputs) {
        const committed = existsSync(path) ? readFileSync(path, "utf8") : undefined;
        if (committed !== text) {
          failures++;
          log(`DIFF: ${relative(ROOT, path)} is ${committed === undefined ? "missing" : "out of date"}`);
        } else {
          log(`ok: ${relative(ROOT, path)}`);
        }
      }
    } else {
      mkdirSync(VERIFIERS_DIR, { recursive: true });
      for (const [path, text] of outputs) {
        writeFileSync(path, text);
        log(`wrote ${relative(ROOT, path)} (${files.contractName}, ${setup.constraints} constraints)`);
      }
    }
  }
} finally {
  const holder = globalThis as { curve_bn128?: { terminate(): Promise<void> } | null };
  await holder.curve_bn128?.terminate();
}
if (failures > 0) {
  log(`${failures} generated file(s) differ; run node scripts/circuits/build.ts and commit the result`);
  process.exit(1);
}
