/**
 * Deploys the real round verifier for the root tests: the Groth16RoundVerifier adapter over a
 * circuit configuration's generated verifiers, with the poseidon-solidity libraries it hashes
 * published sealed updates with (`sealedCommitment`: core's `hashNarrow` per chunk with
 * PoseidonT(min(NP, 5) + 1), PoseidonT3 for the chain, PoseidonT4 for the commitment). The
 * libraries are deployed once per network and shared by every adapter, as on a real chain. The testkit has the same helper for its JSON-RPC chains
 * (packages/testkit/src/chain/round-verifier.ts).
 */
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import { NARROW_MAX_INPUTS, circuitNames, maxRounds, packedLength, type CircuitConfig } from "@fedmarket/core";

import type { Groth16RoundVerifier } from "../../types/ethers-contracts/index.js";

/** The deployed libraries an adapter of cipher width `NP` takes. */
export interface PoseidonHashers {
  /** PoseidonT(min(NP, 5) + 1): the calls of `hashNarrow` over one chunk's `NP` ciphertext elements. */
  readonly cipherHasher: string;
  /** PoseidonT3: one step of the ciphertext chain. */
  readonly pairHasher: string;
  /** PoseidonT4: `Poseidon(chain, E.x, E.y)`. */
  readonly tripleHasher: string;
}

/** What the adapter needs to know of a circuit configuration (core's `CircuitConfig` has it all). */
export interface VerifierCircuit {
  readonly kMax: number;
  readonly chunk: number;
  /** `B`, the bits of a quantized update value: `NP = packedLength(chunk, B)`. */
  readonly updateBits: number;
  /** `BG`, the bits of a global-model value: with `B`, the verifier's `maxRounds()`. */
  readonly modelBits: number;
}

/** `NP`, the ciphertext elements of one chunk (core's `packedLength(CHUNK, B)`). */
export function cipherWidthOf(circuit: Pick<VerifierCircuit, "chunk" | "updateBits">): number {
  return packedLength(circuit.chunk, circuit.updateBits);
}

/** Library addresses by input count, per network connection: each library is deployed once. */
const deployedLibraries = new WeakMap<HardhatEthers, Map<number, Promise<string>>>();

async function poseidonLibrary(ethers: HardhatEthers, inputs: number): Promise<string> {
  let byInputs = deployedLibraries.get(ethers);
  if (byInputs === undefined) {
    byInputs = new Map();
    deployedLibraries.set(ethers, byInputs);
  }
  let address = byInputs.get(inputs);
  if (address === undefined) {
    address = ethers.deployContract(`PoseidonT${inputs + 1}`).then((c) => c.getAddress());
    byInputs.set(inputs, address);
  }
  return address;
}

/**
 * The Poseidon libraries an adapter of cipher width `cipherWidth` (at least 1) calls, deployed on
 * first use on this network and reused after.
 */
export async function deployPoseidonHashers(ethers: HardhatEthers, cipherWidth: number): Promise<PoseidonHashers> {
  if (!Number.isInteger(cipherWidth) || cipherWidth < 1) throw new RangeError(`cipher width ${cipherWidth} is not a positive integer`);
  const pairHasher = await poseidonLibrary(ethers, 2);
  const tripleHasher = await poseidonLibrary(ethers, 3);
  const cipherHasher = await poseidonLibrary(ethers, Math.min(cipherWidth, NARROW_MAX_INPUTS));
  return { cipherHasher, pairHasher, tripleHasher };
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

/** Deploys the generated verifiers of `circuit` (contracts/verifiers/generated/, named after core's `circuitNames`). */
export async function deployGeneratedVerifiers(ethers: HardhatEthers, circuit: CircuitConfig): Promise<GeneratedVerifiers> {
  const suffix = circuitNames(circuit).chunk.slice("chunk_".length);
  const generated = async (name: string): Promise<string> => (await ethers.deployContract(`${name}_${suffix}`)).getAddress();
  return {
    chunkVerifier: await generated("ChunkVerifier"),
    batchChunkVerifier: await generated("BatchChunkVerifier"),
    decisionVerifier: await generated("DecisionVerifier"),
  };
}

/**
 * Deploys a Groth16RoundVerifier over the given generated verifiers (the chunk circuit's single and
 * batch verifiers, `ChunkVerifier_<cfg>` and `BatchChunkVerifier_<cfg>`, and the decision circuit's),
 * for `circuit`'s K_MAX, CHUNK and `NP = packedLength(CHUNK, B)`, with the shared Poseidon libraries.
 */
export async function deployGroth16RoundVerifier(
  ethers: HardhatEthers,
  {
    chunkVerifier,
    batchChunkVerifier,
    decisionVerifier,
    circuit,
  }: { chunkVerifier: string; batchChunkVerifier: string; decisionVerifier: string; circuit: VerifierCircuit },
): Promise<Groth16RoundVerifier> {
  const cipherWidth = cipherWidthOf(circuit);
  const { cipherHasher, pairHasher, tripleHasher } = await deployPoseidonHashers(ethers, cipherWidth);
  const adapter = await ethers.deployContract("Groth16RoundVerifier", [
    chunkVerifier,
    decisionVerifier,
    batchChunkVerifier,
    circuit.kMax,
    circuit.chunk,
    cipherWidth,
    maxRounds(circuit),
    cipherHasher,
    pairHasher,
    tripleHasher,
  ]);
  return adapter as unknown as Groth16RoundVerifier;
}
