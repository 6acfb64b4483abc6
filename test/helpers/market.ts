/**
 * Fixtures and builders for the marketplace's unit tests (mock verifier; the real Groth16
 * verifier is exercised by the circuit end-to-end tests).
 */
import type { HardhatEthers, HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { AbiCoder, keccak256 } from "ethers";

import type { FedMarket, MockRoundVerifier } from "../../types/ethers-contracts/index.js";
import type { IFedMarket } from "../../types/ethers-contracts/FedMarket.js";

export const FIELD_MODULUS = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
export const ETH = "0x0000000000000000000000000000000000000000";
export const K_MAX = 4;
export const CHUNK_SIZE = 100;
export const SUBMISSION_WINDOW = 3600n;
export const AGGREGATION_WINDOW = 1800n;
export const REWARD = 1_000_000n;
export const BOND = 500_000n;
export const SLASH = 200_000n;

export type ProjectConfig = IFedMarket.ProjectConfigStruct;
export type ChunkProof = IFedMarket.ChunkProofStruct;
export type RoundResult = IFedMarket.RoundResultStruct;
export type HyperParams = IFedMarket.HyperParamsStruct;

/** Hyper-parameters of the base config: round 0 values and the bounds the aggregator must respect. */
export const HYPER_INITIAL = { learningRateMicros: 10_000n, localEpochs: 2n, batchSize: 32n } as const;
export const HYPER_MIN = { learningRateMicros: 1_000n, localEpochs: 1n, batchSize: 16n } as const;
export const HYPER_MAX = { learningRateMicros: 50_000n, localEpochs: 5n, batchSize: 64n } as const;

const coder = AbiCoder.defaultAbiCoder();

/** `IFedMarket.ProjectStatus` values. */
export const ProjectStatus = { None: 0, AwaitingAggregator: 1, Active: 2, Completed: 3, Cancelled: 4 } as const;

/** Slot statuses as the proof encodes them (docs/PROOF-INTERFACE.md). */
export const Status = { Empty: 0, Inlier: 1, NotAggregated: 2, Excluded: 3 } as const;
export type SlotOutcome = { status: number; score: bigint };

/** Packs slot outcomes three per word, 66 bits per slot (`status | score << 2`). */
export function packOutcomes(outcomes: readonly SlotOutcome[], kMax: number = K_MAX): bigint[] {
  const words: bigint[] = new Array<bigint>(Math.ceil(kMax / 3)).fill(0n);
  outcomes.forEach((o, slot) => {
    const value = BigInt(o.status) | (o.score << 2n);
    const word = Math.floor(slot / 3);
    words[word] = (words[word] ?? 0n) | (value << (66n * BigInt(slot % 3)));
  });
  return words;
}

/** A mock "proof" accepted by MockRoundVerifier for the chunk step `accIn -> accOut`. */
export function mockChunkProof(accIn: bigint, accOut: bigint): ChunkProof {
  const digest = BigInt(keccak256(coder.encode(["uint256", "uint256"], [accIn, accOut])));
  return { proof: [digest, 0n, 0n, 0n, 0n, 0n, 0n, 0n], accOut };
}

/** A mock decision "proof" for exactly these public inputs. */
export function mockDecisionProof(publicInputs: readonly bigint[]): bigint[] {
  const digest = BigInt(keccak256(coder.encode(["uint256[]"], [publicInputs])));
  return [digest, 0n, 0n, 0n, 0n, 0n, 0n, 0n];
}

/** A plausible CIDv1 string (the contract only checks its length). */
export function cid(tag: string): string {
  return `bafkrei${tag
    .toLowerCase()
    .replace(/[^a-z2-7]/g, "a")
    .padEnd(52, "a")
    .slice(0, 52)}`;
}

/** A distinct non-zero field element per label. */
export function commitmentOf(label: string): bigint {
  return BigInt(keccak256(Buffer.from(label))) % FIELD_MODULUS || 1n;
}

/** Config fields a test may override; `verifier` and `aggregator` are always given as addresses. */
export type ConfigOverrides = Partial<Omit<ProjectConfig, "verifier" | "aggregator">> & {
  verifier?: string;
  aggregator?: string;
};

export function baseConfig(overrides: ConfigOverrides & { verifier: string; aggregator: string }): ProjectConfig {
  return {
    token: ETH,
    budget: REWARD * 3n,
    rewardPerRound: REWARD,
    numRounds: 3,
    maxTrainersPerRound: K_MAX,
    submissionWindow: SUBMISSION_WINDOW,
    aggregationWindow: AGGREGATION_WINDOW,
    aggregatorBond: BOND,
    slashAmount: SLASH,
    trainerStake: 0n,
    allowlistRoot: "0x" + "00".repeat(32),
    ownerEncryptionKey: "0x" + "11".repeat(32),
    initialModelCommitment: commitmentOf("model-0"),
    params: { modelSize: 250, byzantineTolerance: 1, quantizationScale: 1n << 16n, clipBound: 127n },
    initialHyperParams: { ...HYPER_INITIAL },
    minHyperParams: { ...HYPER_MIN },
    maxHyperParams: { ...HYPER_MAX },
    specCid: cid("spec"),
    initialModelCid: cid("model0"),
    ...overrides,
  };
}

export interface MarketFixture {
  market: FedMarket;
  verifier: MockRoundVerifier;
  owner: HardhatEthersSigner;
  aggregator: HardhatEthersSigner;
  trainers: HardhatEthersSigner[];
  stranger: HardhatEthersSigner;
}

export async function deployMarket(ethers: HardhatEthers): Promise<MarketFixture> {
  const [owner, aggregator, stranger, ...trainers] = await ethers.getSigners();
  if (owner === undefined || aggregator === undefined || stranger === undefined) throw new Error("need signers");
  const market = (await ethers.deployContract("FedMarket")) as unknown as FedMarket;
  const verifier = (await ethers.deployContract("MockRoundVerifier", [K_MAX, CHUNK_SIZE])) as unknown as MockRoundVerifier;
  return { market, verifier, owner, aggregator, trainers: trainers.slice(0, 8), stranger };
}

/** Creates an ETH project, has the aggregator accept it and registers `trainerCount` trainers. */
export async function createActiveProject(f: MarketFixture, overrides: ConfigOverrides = {}, trainerCount = 4): Promise<bigint> {
  const config = baseConfig({ verifier: await f.verifier.getAddress(), aggregator: f.aggregator.address, ...overrides });
  await f.market.connect(f.owner).createProject(config, { value: config.token === ETH ? config.budget : 0n });
  const projectId = await f.market.projectCount();
  await acceptTerms(f.market, f.aggregator, projectId, config.token === ETH);
  for (const t of f.trainers.slice(0, trainerCount)) {
    const stake = BigInt(config.trainerStake);
    await f.market.connect(t).registerTrainer(projectId, [], { value: config.token === ETH ? stake : 0n });
  }
  return projectId;
}

/**
 * The appointed aggregator accepts the project's current terms (bond and slash amount, read from
 * the chain), paying the bond in ETH when `inEth`.
 */
export async function acceptTerms(
  market: FedMarket,
  aggregator: HardhatEthersSigner,
  projectId: bigint,
  inEth = true,
  encryptionKey: string = "0x" + "22".repeat(32),
) {
  const p = await market.getProject(projectId);
  return market
    .connect(aggregator)
    .acceptAggregator(projectId, encryptionKey, p.aggregatorBond, p.slashAmount, { value: inEth ? p.aggregatorBond : 0n });
}

/** Submits one update from each of the given trainers into the open round. */
export async function submitAll(f: MarketFixture, projectId: bigint, trainers: readonly HardhatEthersSigner[]): Promise<bigint[]> {
  const round = (await f.market.getCurrentRound(projectId)).round;
  const commitments: bigint[] = [];
  for (const [i, t] of trainers.entries()) {
    const c = commitmentOf(`p${projectId}-r${round}-t${i}-${t.address}`);
    commitments.push(c);
    await f.market.connect(t).submitUpdate(projectId, round, c, cid(`u${round}x${i}`));
  }
  return commitments;
}

/**
 * Builds a mock-proven finalization of the open round (chunk chain 1, 2, ... then decision).
 * The next round keeps the open round's hyper-parameters unless `nextHyperParams` is given.
 */
export async function buildFinalization(
  f: MarketFixture,
  projectId: bigint,
  outcomes: readonly SlotOutcome[],
  newModel: bigint = commitmentOf(`model-${projectId}-${Date.now()}`),
  nextHyperParams?: HyperParams,
): Promise<{ chunkProofs: ChunkProof[]; result: RoundResult; inputs: bigint[] }> {
  const project = await f.market.getProject(projectId);
  const chunkProofs: ChunkProof[] = [];
  let acc = 0n;
  for (let i = 0; i < Number(project.numChunks); i++) {
    const next = commitmentOf(`acc-${projectId}-${i}-${newModel}`);
    chunkProofs.push(mockChunkProof(acc, next));
    acc = next;
  }
  const words = packOutcomes(outcomes);
  // The view reads the stored accumulator, so compute inputs as the contract will after the chunks.
  const ctx = await f.market.roundContext(projectId, project.currentRound);
  const round = await f.market.getCurrentRound(projectId);
  const commitments: bigint[] = [];
  for (let slot = 0; slot < K_MAX; slot++) {
    commitments.push(slot < Number(round.submissions) ? (await f.market.getSubmission(projectId, round.round, slot))[1] : 0n);
  }
  const inputs = [ctx, project.modelCommitment, newModel, acc, ...commitments, ...words];
  const current = round.hyperParams;
  return {
    chunkProofs,
    result: {
      newModelCommitment: newModel,
      outcomes: words,
      proof: mockDecisionProof(inputs),
      newModelCid: cid("next"),
      nextHyperParams: nextHyperParams ?? {
        learningRateMicros: current.learningRateMicros,
        localEpochs: current.localEpochs,
        batchSize: current.batchSize,
      },
    },
    inputs,
  };
}
