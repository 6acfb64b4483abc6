/**
 * Real Groth16 verifiers for the gas benchmark.
 *
 * The gas of a Groth16 verification depends only on the number of public inputs, so a circuit
 * that merely constrains its N public inputs (`circuits/bench/public_inputs.circom`) has verifiers
 * and proofs that cost exactly what the round circuits' will, for any input values we choose. That
 * lets the benchmark run the marketplace's real finalize path with real proofs over the public
 * inputs the contract computes. These verifiers prove nothing about a round: gas only.
 *
 * Everything is built under `.cache/gas-verifiers/` on the project's dev powers of tau
 * (scripts/circuits/setup.ts) with a deterministic beacon for phase 2, compiled with the project's
 * solc, then deployed straight from bytecode. The chunk circuit (2 inputs) also gets its batch
 * verifier, rendered from its key by the generator of the committed ones
 * (scripts/circuits/batch-verifier.ts), since the market verifies chunk proofs in batches.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";

import { renderBatchVerifier, type ChunkVkey } from "./circuits/batch-verifier.js";
import { DEV_MIN_POWER, devPtau } from "./circuits/setup.js";
import { deployGroth16RoundVerifier } from "../test/helpers/round-verifier.js";
import { proofWords } from "@fedmarket/protocol";
import type { BaseContract } from "ethers";

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const cacheDir = join(root, ".cache", "gas-verifiers");

interface Groth16Proof {
  pi_a: string[];
  pi_b: string[][];
  pi_c: string[];
}
interface SnarkjsApi {
  zKey: {
    newZKey(r1cs: string, ptau: string, zkey: string): Promise<unknown>;
    beacon(oldFile: string, newFile: string, name: string, hash: string, iterationsExp: number): Promise<unknown>;
    exportSolidityVerifier(zkey: string, templates: { groth16: string }): Promise<string>;
    exportVerificationKey(zkey: string): Promise<unknown>;
  };
  groth16: {
    fullProve(input: Record<string, unknown>, wasm: string, zkey: string): Promise<{ proof: Groth16Proof; publicSignals: string[] }>;
  };
}

const snarkjs = (await import("snarkjs")) as unknown as SnarkjsApi;

/** A deployed IRoundVerifier backed by real Groth16 verifiers, and provers for it. */
export interface RealVerifier {
  adapter: BaseContract;
  proveChunk(accIn: bigint, accOut: bigint): Promise<bigint[]>;
  proveDecision(publicInputs: readonly bigint[]): Promise<bigint[]>;
  verifyChunkGas(): Promise<number>;
  verifyDecisionGas(): Promise<number>;
}

interface Built {
  wasm: string;
  zkey: string;
  abi: unknown[];
  bytecode: string;
}

const BEACON = "0000000000000000000000000000000000000000000000000000000000000000";

function compileSolidity(source: string, name: string): { abi: unknown[]; bytecode: string } {
  const solc = require("solc") as { compile(input: string): string };
  const input = {
    language: "Solidity",
    sources: { "Verifier.sol": { content: source } },
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: "cancun",
      outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as {
    errors?: Array<{ severity: string; formattedMessage: string }>;
    contracts: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>>;
  };
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length > 0) throw new Error(errors.map((e) => e.formattedMessage).join("\n"));
  const contract = output.contracts["Verifier.sol"]?.[name];
  if (contract === undefined) throw new Error(`solc produced no ${name}`);
  return { abi: contract.abi, bytecode: "0x" + contract.evm.bytecode.object };
}

/** Builds (or loads from cache) the verifier of a circuit with `n` public inputs. */
async function build(n: number): Promise<Built> {
  const dir = join(cacheDir, `n${n}`);
  const done = join(dir, "verifier.json");
  const wasm = join(dir, `public_inputs_${n}_js`, `public_inputs_${n}.wasm`);
  const zkey = join(dir, "final.zkey");
  if (existsSync(done)) {
    const cached = JSON.parse(readFileSync(done, "utf8")) as { abi: unknown[]; bytecode: string };
    return { wasm, zkey, ...cached };
  }
  mkdirSync(dir, { recursive: true });
  const main = join(dir, `public_inputs_${n}.circom`);
  writeFileSync(main, `pragma circom 2.1.0;\ninclude "public_inputs.circom";\ncomponent main {public [x]} = PublicInputs(${n});\n`);
  // circom2 runs under WASI with the working directory as its only file system: use relative paths.
  const rel = (path: string): string => relative(root, path);
  execFileSync(
    process.execPath,
    [require.resolve("circom2/cli.js"), rel(main), "--r1cs", "--wasm", "-l", "circuits/bench", "-o", rel(dir)],
    { cwd: root, stdio: "pipe" },
  );
  const zkey0 = join(dir, "0.zkey");
  const ptau = await devPtau(DEV_MIN_POWER, (m) => console.warn(m));
  await snarkjs.zKey.newZKey(join(dir, `public_inputs_${n}.r1cs`), ptau, zkey0);
  await snarkjs.zKey.beacon(zkey0, zkey, "gas benchmark beacon", BEACON, 10);
  const template = readFileSync(join(dirname(require.resolve("snarkjs")), "..", "templates", "verifier_groth16.sol.ejs"), "utf8");
  const source = await snarkjs.zKey.exportSolidityVerifier(zkey, { groth16: template });
  const compiled = compileSolidity(source, "Groth16Verifier");
  writeFileSync(done, JSON.stringify(compiled));
  return { wasm, zkey, ...compiled };
}

/**
 * The batch verifier of a 2-input circuit's key (`verifyChunkBatch`, what Groth16RoundVerifier's
 * `verifyChunks` calls), rendered and compiled on every run: cheap, and never stale against the generator.
 */
async function buildBatch(chunk: Built): Promise<{ abi: unknown[]; bytecode: string }> {
  const vkey = (await snarkjs.zKey.exportVerificationKey(chunk.zkey)) as ChunkVkey;
  const vkeyPath = join(dirname(chunk.zkey), "vkey.json");
  writeFileSync(vkeyPath, JSON.stringify(vkey, null, 1));
  const name = "BatchChunkVerifier_gas";
  const source = renderBatchVerifier({
    contractName: name,
    vkey,
    vkeyPath,
    describe: ["Gas benchmark only (scripts/gas-verifiers.ts): circuits/bench/public_inputs.circom, 2 public inputs, dev setup."],
  });
  return compileSolidity(source, name);
}

async function prove(built: Built, inputs: readonly bigint[]): Promise<bigint[]> {
  const { proof } = await snarkjs.groth16.fullProve({ x: inputs.map(String) }, built.wasm, built.zkey);
  return proofWords(proof);
}

/**
 * Deploys the adapter over real verifiers of `k`'s public-input counts; `updateBits` sets its cipher
 * width (`packedLength(chunkSize, updateBits)` ciphertext elements per chunk of a published update).
 */
export async function deployRealVerifier(
  ethers: HardhatEthers,
  k: number,
  chunkSize: number,
  updateBits: number,
  modelBits: number,
): Promise<RealVerifier> {
  // ctx, prevModel, newModel, accFinal, sealKey.x, sealKey.y, reference, K commitments, ceil(K / 3) outcome words.
  const decisionInputs = 7 + k + Math.ceil(k / 3);
  const chunk = await build(2);
  const decision = await build(decisionInputs);
  const [signer] = await ethers.getSigners();
  const deploy = async (b: { abi: unknown[]; bytecode: string }): Promise<BaseContract> => {
    const factory = new ethers.ContractFactory(b.abi as never, b.bytecode, signer);
    const c = await factory.deploy();
    await c.waitForDeployment();
    return c;
  };
  const chunkVerifier = await deploy(chunk);
  const batchChunkVerifier = await deploy(await buildBatch(chunk));
  const decisionVerifier = await deploy(decision);
  const adapter = await deployGroth16RoundVerifier(ethers, {
    chunkVerifier: await chunkVerifier.getAddress(),
    batchChunkVerifier: await batchChunkVerifier.getAddress(),
    decisionVerifier: await decisionVerifier.getAddress(),
    circuit: { kMax: k, chunk: chunkSize, updateBits, modelBits },
  });

  const sample = Array.from({ length: decisionInputs }, (_, i) => BigInt(i + 1) << 200n);
  const gasOfCall = async (data: string): Promise<number> =>
    Number(await ethers.provider.estimateGas({ to: await adapter.getAddress(), data })) - 21000;

  return {
    adapter,
    proveChunk: (accIn, accOut) => prove(chunk, [accIn, accOut]),
    proveDecision: (inputs) => prove(decision, inputs),
    async verifyChunkGas() {
      const proof = await prove(chunk, [1n, 2n]);
      const ok: boolean = await adapter.getFunction("verifyChunk").staticCall(proof, 1n, 2n);
      if (!ok) throw new Error("chunk proof did not verify");
      return gasOfCall(adapter.interface.encodeFunctionData("verifyChunk", [proof, 1n, 2n]));
    },
    async verifyDecisionGas() {
      const proof = await prove(decision, sample);
      const ok: boolean = await adapter.getFunction("verifyDecision").staticCall(proof, sample);
      if (!ok) throw new Error("decision proof did not verify");
      return gasOfCall(adapter.interface.encodeFunctionData("verifyDecision", [proof, sample]));
    },
  };
}
