/**
 * Groth16 setup of compiled circuits: powers of tau (dev-only, deterministic and generated
 * locally; or a user-supplied ptau for production), one phase-2 contribution, and the export
 * of the verification key and the Solidity verifier.
 *
 * Dev setup is fully deterministic (snarkjs `beacon` contributions seeded from fixed strings; the
 * dev powers of tau are computed directly from their beacon's secrets, dev-ptau.ts), so
 * regenerating a verifier reproduces it byte for byte (`build.ts --check`). Because the seeds are
 * public, ANYONE CAN COMPUTE THE TOXIC WASTE AND FORGE PROOFS: dev verifiers are NOT FOR PRODUCTION.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { createRequire } from "node:module";
import * as snarkjs from "snarkjs";
import { ROOT, verifierWhenCached, type CompiledCircuit } from "./circom.ts";
import { readR1csHeader } from "./r1cs.ts";
import { checkCeremonyDigest, fileBlake2b } from "./ceremony-ptau.ts";
import { DEV_PTAU_BEACON, DEV_PTAU_SEED, writeDevPtau } from "./dev-ptau.ts";
import { snarkjsProgress } from "./progress.ts";
const require = createRequire(import.meta.url);

/** Where dev powers of tau are cached. */
export const PTAU_DIR = join(ROOT, ".cache", "ptau");
/** Where generated verifiers are written (Groth16RoundVerifier.sol adapts them). */
export const VERIFIERS_DIR = join(ROOT, "contracts", "verifiers", "generated");
/** Smallest dev ptau power generated (covers every test circuit). */
export const DEV_MIN_POWER = 13;
/** Public seed of the dev phase 2 (NOT FOR PRODUCTION). */
const DEV_PHASE2_SEED = "fedmarket dev phase-2 contribution - NOT FOR PRODUCTION";

/** How the setup is done. */
export type SetupMode = { readonly kind: "dev" } | { readonly kind: "production"; readonly ptau: string };

/** Artifacts of a finished setup. */
export interface SetupResult {
  readonly compiled: CompiledCircuit;
  readonly zkey: string;
  readonly vkeyFile: string;
  readonly ptau: string;
  readonly ptauLabel: string;
  readonly constraints: number;
  readonly publicInputs: number;
  readonly dev: boolean;
}

const sha256Hex = (s: string): string => createHash("sha256").update(s).digest("hex");

/** The loud warning printed whenever the dev setup is used. */
export const DEV_WARNING = [
  "#".repeat(78),
  "#  DEV SETUP - NOT FOR PRODUCTION.                                           #",
  "#  The powers of tau and the phase-2 contribution are derived from public    #",
  "#  strings: anyone can compute the toxic waste and forge proofs. For a real  #",
  "#  deployment pass --ptau <ceremony.ptau> (or FEDMARKET_PTAU).               #",
  "#".repeat(78),
].join("\n");

/** ptau power a circuit needs: the domain must hold constraints + public inputs + 1. */
export function requiredPower(compiled: CompiledCircuit): number {
  const h = readR1csHeader(compiled.r1cs);
  const n = h.nConstraints + h.nPubIn + h.nPubOut + 1;
  let p = 1;
  while (2 ** p < n) p++;
  return p;
}

/** Path of the dev ptau of 2^power (it may not exist yet). */
export function devPtauFile(power: number): string {
  return join(PTAU_DIR, `dev_bn128_${power}_NOT_FOR_PRODUCTION.ptau`);
}

/** Powers of the dev ptau files in the cache, ascending. */
export function cachedDevPtauPowers(): number[] {
  if (!existsSync(PTAU_DIR)) return [];
  return readdirSync(PTAU_DIR)
    .map((f) => /^dev_bn128_(\d+)_NOT_FOR_PRODUCTION\.ptau$/.exec(f)?.[1])
    .filter((p): p is string => p !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/**
 * The dev ptau power that names a circuit's dev setup (its `setup-dev-<power>` folder and the
 * "Setup:" line of its verifier): the domain's power, at least DEV_MIN_POWER (one file serves all
 * small circuits).
 */
export function devPtauPower(domainPower: number): number {
  return Math.max(DEV_MIN_POWER, domainPower);
}

/**
 * The dev ptau a circuit with a 2^domainPower domain is set up from, which may not exist yet.
 * snarkjs accepts any ptau at least as large as the domain, but the zkey it makes depends on which:
 * its H query comes from the 2^(domainPower+1) Lagrange basis, which a ptau of exactly the domain's
 * power can only compute with a zero point for the missing power (prepare-phase2 does so), while
 * every larger ptau has the true basis; all larger files give the same zkey. So a larger cached
 * file is used (the largest, rather than generating a smaller one) only when the setup's named
 * power is itself larger than the domain: then the zkey, vkey and verifier are byte-identical to
 * those made from the named file. A circuit whose domain fills its named power (every committed
 * verifier's circuit today) always uses exactly that file.
 */
export function devPtauChoice(domainPower: number): { readonly power: number; readonly file: string } {
  const named = devPtauPower(domainPower);
  const larger = named > domainPower ? cachedDevPtauPowers().filter((p) => p > domainPower) : [];
  const power = larger.length > 0 ? Math.max(...larger) : named;
  return { power, file: devPtauFile(power) };
}

/**
 * Generates (once) the deterministic dev ptau of `2^power`, prepared for phase 2: computed
 * directly from its public beacon (dev-ptau.ts; the same bytes as snarkjs's `powersoftau new` +
 * `beacon` + `prepare phase2`, in seconds instead of minutes). NOT FOR PRODUCTION.
 */
export async function devPtau(power: number, log: (m: string) => void): Promise<string> {
  mkdirSync(PTAU_DIR, { recursive: true });
  const final = devPtauFile(power);
  writeFileSync(
    join(PTAU_DIR, "README-NOT-FOR-PRODUCTION.txt"),
    `${DEV_WARNING}\n\nGenerated by scripts/circuits/dev-ptau.ts: the file snarkjs makes with powersoftau new, one\n` +
      `beacon contribution seeded with sha256("${DEV_PTAU_SEED}") and prepare phase2,\n` +
      "computed directly from the beacon's (public) secrets.\n",
  );
  if (existsSync(final)) return final;
  for (const line of DEV_WARNING.split("\n")) log(line);
  log(`generating dev powers of tau 2^${power}, NOT FOR PRODUCTION (public toxic waste): ${relative(ROOT, final)}`);
  const started = Date.now();
  const tmp = `${final}.tmp-${process.pid}`;
  try {
    await writeDevPtau(power, tmp, { beacon: DEV_PTAU_BEACON, log });
    renameSync(tmp, final);
  } finally {
    rmSync(tmp, { force: true });
  }
  log(`dev ptau 2^${power} (NOT FOR PRODUCTION) ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return final;
}

/** Whether the dev setup of a compiled circuit (its zkey and vkey) is cached: no slow step left. */
export function devSetupCached(compiled: CompiledCircuit): boolean {
  if (!existsSync(compiled.r1cs) || !existsSync(compiled.wasm)) return false;
  const setupDir = join(compiled.dir, `setup-dev-${devPtauPower(requiredPower(compiled))}`);
  return existsSync(join(setupDir, `${compiled.target.name}.zkey`)) && existsSync(join(setupDir, `${compiled.target.name}.vkey.json`));
}

/** sha256 of a file (streams: ceremony ptau files are large). */
async function fileSha256(file: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest("hex");
}

/**
 * Runs (or reuses from the cache) the Groth16 setup of a compiled circuit.
 * Dev: deterministic beacon contribution; production: one random contribution (add further
 * independent contributions with `snarkjs zkey contribute` before deploying).
 */
export async function setupCircuit(
  compiled: CompiledCircuit,
  mode: SetupMode,
  log: (m: string) => void,
  fresh = false,
): Promise<SetupResult> {
  const header = readR1csHeader(compiled.r1cs);
  const power = requiredPower(compiled);
  let ptau: string;
  let ptauLabel: string;
  let setupDir: string;
  // The dev ptau is generated only when the zkey has to be made (below).
  let devPtauPowerUsed: number | undefined;
  if (mode.kind === "dev") {
    const devPower = devPtauPower(power);
    const choice = devPtauChoice(power);
    ptau = choice.file;
    devPtauPowerUsed = choice.power;
    // Named after devPower even when a larger cached file is used: the result is the same (devPtauChoice).
    ptauLabel = `DEV powers of tau 2^${devPower} (public seed) + deterministic phase-2 beacon`;
    setupDir = join(compiled.dir, `setup-dev-${devPower}`);
  } else {
    ptau = mode.ptau;
    if (!existsSync(ptau)) throw new Error(`ptau file ${ptau} not found`);
    const digest = await fileSha256(ptau);
    const ceremony = checkCeremonyDigest(ptau, await fileBlake2b(ptau));
    if (ceremony.kind === "known") {
      log(`${basename(ptau)} matches the published digest of the ceremony's 2^${ceremony.power} file`);
    } else {
      log(
        `WARNING: ${basename(ptau)} is not a known ceremony file; check it with \`snarkjs powersoftau verify\` ` +
          "and make sure its contributors are trustworthy before deploying",
      );
    }
    ptauLabel = `ptau ${basename(ptau)} (sha256 ${digest.slice(0, 16)}...) + 1 random phase-2 contribution`;
    setupDir = join(compiled.dir, `setup-prod-${digest.slice(0, 16)}`);
  }
  const zkey = join(setupDir, `${compiled.target.name}.zkey`);
  const vkeyFile = join(setupDir, `${compiled.target.name}.vkey.json`);
  const result: SetupResult = {
    compiled,
    zkey,
    vkeyFile,
    ptau,
    ptauLabel,
    constraints: header.nConstraints,
    publicInputs: header.nPubIn,
    dev: mode.kind === "dev",
  };
  if (!fresh && existsSync(zkey) && existsSync(vkeyFile)) return result;

  if (devPtauPowerUsed !== undefined) await devPtau(devPtauPowerUsed, log);
  mkdirSync(setupDir, { recursive: true });
  const z0 = `${zkey}.0-${process.pid}`;
  const z1 = `${zkey}.1-${process.pid}`;
  const started = Date.now();
  // snarkjs reports its progress to a logger: shown as a bar on a terminal, stage lines otherwise.
  const steps = {
    newZKey: snarkjsProgress(`zkey new ${compiled.target.name}`, { log }),
    phase2: snarkjsProgress(`phase-2 contribution ${compiled.target.name}`, { log }),
  };
  try {
    log(`groth16 setup of ${compiled.target.name} (${header.nConstraints} constraints, 2^${power} domain)`);
    await snarkjs.zKey.newZKey(compiled.r1cs, ptau, z0, steps.newZKey);
    steps.newZKey.stop();
    if (mode.kind === "dev") {
      await snarkjs.zKey.beacon(
        z0,
        z1,
        "fedmarket dev phase 2 (NOT FOR PRODUCTION)",
        sha256Hex(`${DEV_PHASE2_SEED} ${compiled.target.name}`),
        10,
        steps.phase2,
      );
    } else {
      await snarkjs.zKey.contribute(z0, z1, "fedmarket phase 2", randomBytes(32).toString("hex"), steps.phase2);
    }
    steps.phase2.stop();
    const vkey = await snarkjs.zKey.exportVerificationKey(z1);
    writeFileSync(vkeyFile, `${JSON.stringify(vkey, null, 2)}\n`);
    renameSync(z1, zkey);
  } finally {
    steps.newZKey.stop();
    steps.phase2.stop();
    rmSync(z0, { force: true });
    rmSync(z1, { force: true });
  }
  log(`setup of ${compiled.target.name} done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return result;
}

/** Contract name of a target: chunk_k4_c16 -> ChunkVerifier_k4_c16. */
export function verifierContractName(targetName: string): string {
  const [kind, ...rest] = targetName.split("_");
  const cap = (kind ?? "").charAt(0).toUpperCase() + (kind ?? "").slice(1);
  return [`${cap}Verifier`, ...rest].join("_");
}

/** The generated files (Solidity verifier and verification key) as text. */
export interface VerifierFiles {
  readonly contractName: string;
  readonly solidityPath: string;
  readonly solidity: string;
  readonly vkeyPath: string;
  readonly vkey: string;
}

/** Renders the Solidity verifier (renamed, with the generated-file header) and the vkey JSON. */
export async function renderVerifier(setup: SetupResult): Promise<VerifierFiles> {
  const { target } = setup.compiled;
  const contractName = verifierContractName(target.name);
  // snarkjs's "exports" hide package.json; its CJS entry is build/main.cjs.
  const template = readFileSync(join(dirname(require.resolve("snarkjs")), "..", "templates", "verifier_groth16.sol.ejs"), "utf8");
  const raw = await snarkjs.zKey.exportSolidityVerifier(setup.zkey, { groth16: template });
  if (!/contract Groth16Verifier \{/.test(raw)) throw new Error("unexpected snarkjs verifier template");
  const c = target.config;
  const kindName = target.kind === "chunk" ? "Chunk" : "Decision";
  const header = [
    `// Generated by scripts/circuits/build.ts from ${relative(ROOT, target.mainFile)}; do not edit.`,
    `// Circuit: ${kindName}(K_MAX=${c.kMax}, CHUNK=${c.chunk}, B=${c.updateBits}, BG=${c.modelBits}); ` +
      `${setup.constraints} constraints; ${setup.publicInputs} public inputs.`,
    `// Setup: ${setup.ptauLabel}.`,
    // Lets `build.ts --check` check this file without the (slow) setup: see verifierWhenCached.
    ...(verifierWhenCached(target) ? [`// Sources hash: ${setup.compiled.hash}`] : []),
    ...(setup.dev ? ["// WARNING: DEV SETUP, NOT FOR PRODUCTION: anyone can forge proofs for this verifier."] : []),
    "",
  ].join("\n");
  const solidity = header + raw.replace("contract Groth16Verifier {", `contract ${contractName} {`);
  const vkey = readFileSync(setup.vkeyFile, "utf8");
  return {
    contractName,
    solidityPath: join(VERIFIERS_DIR, `${contractName}.sol`),
    solidity,
    vkeyPath: join(VERIFIERS_DIR, `${contractName}.vkey.json`),
    vkey,
  };
}
