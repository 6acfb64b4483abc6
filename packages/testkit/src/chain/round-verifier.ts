/**
 * Deploys the real round verifier on a JSON-RPC chain from the Hardhat artifacts (run
 * `npx hardhat build` at the repository root first): the Groth16RoundVerifier adapter over a circuit
 * configuration's generated verifiers, with the poseidon-solidity libraries it hashes published
 * sealed updates with (`IRoundVerifier.sealedCommitment`: core's `hashNarrow` per chunk of `NP`
 * ciphertext elements with PoseidonT(min(NP, 5) + 1), PoseidonT3 for the chain, PoseidonT4 for the
 * commitment). The test configuration (CHUNK 16, B 16) has NP 2, the demo one (CHUNK 128, B 8) 5,
 * the production one (CHUNK 512, B 8) 17. The root tests have the same helper for the in-process
 * network (test/helpers/round-verifier.ts).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { ContractFactory, type Signer } from "ethers";
import { NARROW_MAX_INPUTS, circuitNames, maxRounds, packedLength, type CircuitConfig } from "@fedmarket/core";
import { REPO_ROOT } from "@fedmarket/protocol";

/** The deployed libraries an adapter of cipher width `NP` calls. */
export interface PoseidonHashers {
  /** PoseidonT(min(NP, 5) + 1): the calls of `hashNarrow` over one chunk's `NP` ciphertext elements. */
  readonly cipherHasher: string;
  /** PoseidonT3: one step of the ciphertext chain. */
  readonly pairHasher: string;
  /** PoseidonT4: `Poseidon(chain, E.x, E.y)`. */
  readonly tripleHasher: string;
}

/** The adapter's view of a circuit configuration. */
export type VerifierCircuit = Pick<CircuitConfig, "kMax" | "chunk" | "updateBits" | "modelBits">;

interface Artifact {
  abi: unknown[];
  bytecode: string;
}

function readArtifact(relative: string): Artifact {
  const file = path.join(REPO_ROOT, "artifacts", relative);
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Artifact;
  } catch (err) {
    throw new Error(`cannot read ${file} (${(err as Error).message}): run \`npx hardhat build\` at the repository root`);
  }
}

async function deployArtifact(deployer: Signer, relative: string, args: readonly unknown[]): Promise<string> {
  const a = readArtifact(relative);
  const contract = await new ContractFactory(a.abi as never, a.bytecode, deployer).deploy(...args);
  await contract.waitForDeployment();
  return contract.getAddress();
}

/** `NP`, the ciphertext elements of one chunk: core's `packedLength(CHUNK, B)`. */
export function cipherWidthOf(circuit: Pick<CircuitConfig, "chunk" | "updateBits">): number {
  return packedLength(circuit.chunk, circuit.updateBits);
}

/**
 * Deploys the Poseidon libraries an adapter of cipher width `cipherWidth` (at least 1) calls:
 * PoseidonT3, PoseidonT4 and PoseidonT(min(NP, 5) + 1) (one of the first two when NP is 2 or 3).
 * Deploy them once per chain and pass them to every `deployGroth16RoundVerifier` of the same width.
 */
export async function deployPoseidonHashers(deployer: Signer, cipherWidth: number): Promise<PoseidonHashers> {
  if (!Number.isInteger(cipherWidth) || cipherWidth < 1) throw new RangeError(`cipher width ${cipherWidth} is not a positive integer`);
  const callWidth = Math.min(cipherWidth, NARROW_MAX_INPUTS);
  const byInputs = new Map<number, string>();
  // Sequential: one deployer, one nonce at a time.
  for (const inputs of [2, 3, callWidth]) {
    if (byInputs.has(inputs)) continue;
    const name = `PoseidonT${inputs + 1}`;
    byInputs.set(inputs, await deployArtifact(deployer, `poseidon-solidity/${name}.sol/${name}.json`, []));
  }
  const address = (inputs: number): string => byInputs.get(inputs) as string;
  return { cipherHasher: address(callWidth), pairHasher: address(2), tripleHasher: address(3) };
}

/** The generated verifiers of one circuit configuration, as an adapter takes them. */
export interface GeneratedVerifiers {
  /** `ChunkVerifier_<cfg>`: one chunk proof (`IRoundVerifier.verifyChunk`). */
  readonly chunkVerifier: string;
  /** `BatchChunkVerifier_<cfg>`: the chunk proofs of one submission at once (`verifyChunks`, the market's path). */
  readonly batchChunkVerifier: string;
  /** `DecisionVerifier_<cfg>`. */
  readonly decisionVerifier: string;
}

/**
 * Deploys the generated verifiers of `circuit` (contracts/verifiers/generated/, named after
 * core's `circuitNames`) from their artifacts.
 */
export async function deployGeneratedVerifiers(deployer: Signer, circuit: CircuitConfig): Promise<GeneratedVerifiers> {
  const suffix = circuitNames(circuit).chunk.slice("chunk_".length);
  const generated = (name: string): Promise<string> =>
    deployArtifact(deployer, `contracts/verifiers/generated/${name}_${suffix}.sol/${name}_${suffix}.json`, []);
  // Sequential: one deployer, one nonce at a time.
  const chunkVerifier = await generated("ChunkVerifier");
  const batchChunkVerifier = await generated("BatchChunkVerifier");
  const decisionVerifier = await generated("DecisionVerifier");
  return { chunkVerifier, batchChunkVerifier, decisionVerifier };
}

/**
 * Deploys a Groth16RoundVerifier over the given generated verifiers (the chunk circuit's single and
 * batch verifiers, `ChunkVerifier_<cfg>` and `BatchChunkVerifier_<cfg>`, and the decision circuit's)
 * for `circuit`'s K_MAX, CHUNK and `NP = packedLength(CHUNK, B)`; returns its address. Deploys the
 * Poseidon libraries too unless `hashers` (of the same width) are given.
 */
export async function deployGroth16RoundVerifier(
  deployer: Signer,
  o: {
    readonly chunkVerifier: string;
    readonly batchChunkVerifier: string;
    readonly decisionVerifier: string;
    readonly circuit: VerifierCircuit;
    readonly hashers?: PoseidonHashers;
  },
): Promise<string> {
  const cipherWidth = cipherWidthOf(o.circuit);
  const { cipherHasher, pairHasher, tripleHasher } = o.hashers ?? (await deployPoseidonHashers(deployer, cipherWidth));
  return deployArtifact(deployer, "contracts/verifiers/Groth16RoundVerifier.sol/Groth16RoundVerifier.json", [
    o.chunkVerifier,
    o.decisionVerifier,
    o.batchChunkVerifier,
    o.circuit.kMax,
    o.circuit.chunk,
    cipherWidth,
    maxRounds(o.circuit),
    cipherHasher,
    pairHasher,
    tripleHasher,
  ]);
}
