/**
 * Hand-built audit contexts: a project as the market would report it, a history as
 * @fedmarket/protocol's reader would replay it, a fake chain and an in-memory blob store, so each
 * check can be tested on exactly the events it judges, without a node.
 */
import { createHash } from "node:crypto";
import type { Provider } from "ethers";
import { globalDelta, publicKeyOf, type SlotOutcome } from "@fedmarket/core";
import {
  computeCid,
  encodeWeights,
  globalModelCommitment,
  PROJECT_STATUS_NAMES,
  ProjectStatus,
  quantizeModel,
  type AcceptanceRecord,
  type BlobStore,
  type ContributionRecord,
  type ProjectHistory,
  type ProjectInfo,
  type RoundEndRecord,
  type RoundHistory,
  type RoundOpenedRecord,
  type SealKey,
  type SubmissionRecord,
  type CommitRecord,
} from "@fedmarket/protocol";
import { K4_TEST_SPEC } from "@fedmarket/protocol/test-specs";
import {
  createAuditContext,
  noLogger,
  type AuditContext,
  type AuditInputs,
  type FactDerivations,
  type RoundProofsFact,
} from "../src/index.ts";

export const PROJECT_ID = 1n;
export const MARKET = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
export const OWNER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
export const AGGREGATOR = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
export const TRAINERS = [
  "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
  "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
  "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
  "0x976EA74026E726554dB657fA54763abd0C3a0aa9",
] as const;
export const trainer = (k: number): string => TRAINERS[k] as string;

/** The aggregator's seal secret `a` and the seal key `A = a * Base8` it registered (the project's view). */
export const AGGREGATOR_SEAL_SECRET = 1_234_567_891n;
export const SEAL_KEY: SealKey = publicKeyOf(AGGREGATOR_SEAL_SECRET);

/** A logistic regression, 12 features -> 4 labels: D = 52, in 4 chunks of 16 (the K4/C16 dev circuit). */
export const CIRCUIT = K4_TEST_SPEC.circuit;
/** The K4 test spec with 2 local epochs: the hyper-parameters of the project and rounds below. */
export const SPEC = { ...K4_TEST_SPEC, training: { ...K4_TEST_SPEC.training, epochs: 2 } };
export const D = 52;

/** Pins the spec (JSON) and returns its CID. */
export function pinSpec(store: BlobStore, spec: unknown = SPEC): Promise<string> {
  return store.put(new TextEncoder().encode(JSON.stringify(spec)));
}

/**
 * Pins a model whose weights are `seed / 1000 + k / 10000`, and returns its CID and true commitment:
 * with its step from the model it `replaced` (omitted: an initial model, step zero).
 */
export async function pinModel(
  store: BlobStore,
  seed: number,
  replaced?: { readonly weights: Float32Array },
): Promise<{ cid: string; commitment: bigint; weights: Float32Array }> {
  const weights = Float32Array.from({ length: D }, (_, k) => seed / 1000 + k / 10_000);
  const cid = await store.put(encodeWeights(weights));
  const { scale } = SPEC.quantization;
  const quantized = (w: Float32Array): bigint[] => quantizeModel(w, scale, CIRCUIT.modelBits);
  const step = replaced === undefined ? undefined : globalDelta(quantized(weights), quantized(replaced.weights));
  return { cid, commitment: globalModelCommitment(weights, step, scale, CIRCUIT), weights };
}

/**
 * SPEC behind a frozen backbone: a dense 12 -> 12 relu layer with `trainable: false` (156 frozen
 * values) before SPEC's output layer, so the trainable head keeps D = 52 (the project above).
 */
export const FROZEN_PARAMETERS = 12 * 12 + 12;
export function frozenSpec(frozenWeights: string): unknown {
  return {
    ...SPEC,
    layers: [{ type: "dense", units: 12, activation: "relu", trainable: false }, ...SPEC.layers],
    frozenWeights,
  };
}

/** Fixed backbone weights (`length` values, FROZEN_PARAMETERS by default). */
export const frozenBackbone = (length = FROZEN_PARAMETERS): Float32Array =>
  Float32Array.from({ length }, (_, k) => ((k % 7) - 3) / 10 + k / 100_000);

/**
 * The real CID of `weights` as a weights file (a spec's `frozenWeights` must be a CID, which
 * MemoryStore's names are not); with `store`, the file is kept there under that CID.
 */
export async function pinFrozenWeights(weights: Float32Array, store?: MemoryStore): Promise<string> {
  const bytes = encodeWeights(weights);
  const cid = await computeCid(bytes);
  store?.blobs.set(cid, bytes);
  return cid;
}

/** A transaction hash made of one repeated byte: readable in failures. */
export const tx = (n: number): string => `0x${n.toString(16).padStart(2, "0").repeat(32)}`;

let logIndex = 0;
/** Where a hand-made event is: block `n`, transaction `tx(n)` unless given. */
export function at(block: number, txHash = tx(block)): { blockNumber: number; transactionHash: string; logIndex: number } {
  return { blockNumber: block, transactionHash: txHash, logIndex: logIndex++ };
}

export function projectInfo(overrides: Partial<ProjectInfo> = {}): ProjectInfo {
  const hp = { learningRateMicros: 500_000, localEpochs: 2, batchSize: 16 };
  return {
    id: PROJECT_ID,
    owner: OWNER,
    token: "0x0000000000000000000000000000000000000000",
    aggregator: AGGREGATOR,
    verifier: "0x0000000000000000000000000000000000000abc",
    status: ProjectStatus.Active,
    statusName: PROJECT_STATUS_NAMES[ProjectStatus.Active],
    cancelRequested: false,
    numRounds: 3,
    currentRound: 0,
    maxTrainersPerRound: 4,
    numChunks: 4,
    roundOpenedAt: 0,
    submissionWindow: 3600,
    revealWindow: 600,
    aggregationWindow: 14_400,
    budget: 0n,
    roundReward: 0n,
    referenceDeposit: 0n,
    rewardPerRound: 1000n,
    rewardDecayPpm: 1_000_000,
    aggregatorBond: 100n,
    bondPosted: 0n,
    slashAmount: 10n,
    trainerStake: 0n,
    registeredTrainers: 4,
    allowlistRoot: `0x${"00".repeat(32)}`,
    paramsHash: `0x${"11".repeat(32)}`,
    ownerEncryptionKey: `0x${"22".repeat(32)}`,
    aggregatorSealKey: SEAL_KEY,
    modelCommitment: 0n,
    modelCid: "",
    specCid: "spec",
    params: { modelSize: 52, byzantineTolerance: 1, quantizationScale: 4096n, clipBound: 4096n },
    hyperParams: hp,
    minHyperParams: hp,
    maxHyperParams: hp,
    acceptanceDeadline: 0,
    refundPool: 0n,
    ...overrides,
  };
}

/** A history with the given parts; `created` defaults to a project created at block 1 with `budget`. */
export function projectHistory(parts: Partial<ProjectHistory> & { budget?: bigint } = {}): ProjectHistory {
  const { budget = 3000n, ...rest } = parts;
  return {
    projectId: PROJECT_ID,
    fromBlock: 0,
    toBlock: 1000,
    created: {
      ...at(1),
      projectId: PROJECT_ID,
      owner: OWNER,
      token: "0x0000000000000000000000000000000000000000",
      budget,
      rewardPerRound: 1000n,
      rewardDecayPpm: 1_000_000,
      numRounds: 5,
      paramsHash: `0x${"11".repeat(32)}`,
      numChunks: 4,
      initialModelCommitment: 7n,
      initialModelCid: "model-0",
      specCid: "spec",
    },
    funded: [],
    appointed: [],
    accepted: [],
    registered: [],
    stakesReleased: [],
    refundClaims: [],
    bondsReleased: [],
    rounds: [],
    ...rest,
  };
}

export function opened(
  round: number,
  block: number,
  reward: bigint,
  model: { commitment: bigint; cid: string } = { commitment: 7n, cid: "model-0" },
): RoundOpenedRecord {
  const hyperParams = { learningRateMicros: 500_000, localEpochs: 2, batchSize: 16 };
  return {
    ...at(block),
    projectId: PROJECT_ID,
    round,
    candidates: 4,
    submissionDeadline: 0,
    revealDeadline: 0,
    aggregationDeadline: 0,
    reward,
    modelCommitment: model.commitment,
    modelCid: model.cid,
    hyperParams,
  };
}

export function submission(
  round: number,
  slot: number,
  block: number,
  commitment = BigInt(100 + slot),
  cid = `update-${round}-${slot}`,
): SubmissionRecord {
  return { ...at(block), projectId: PROJECT_ID, round, trainer: trainer(slot), slot, commitment, cid };
}

/** `AggregatorAccepted` in block `block`: the aggregator posted `amount` of bond and registered `sealKey`. */
export function acceptance(block: number, sealKey: SealKey = SEAL_KEY, amount = 100n): AcceptanceRecord {
  return { ...at(block), projectId: PROJECT_ID, aggregator: AGGREGATOR, amount, bondPosted: amount, sealKey };
}

/** A sealed commitment of `trainer(slot)` in `slot` (UpdateCommitted). */
export function commit(round: number, slot: number, block: number): CommitRecord {
  return {
    ...at(block),
    projectId: PROJECT_ID,
    round,
    trainer: trainer(slot),
    slot,
    sealed: `0x${(slot + 1).toString(16).padStart(64, "0")}`,
  };
}

export function contribution(
  round: number,
  slot: number,
  txHash: string,
  o: { status: number; score: bigint; reward: bigint },
): ContributionRecord {
  return { ...at(50, txHash), projectId: PROJECT_ID, round, trainer: trainer(slot), slot, ...o };
}

export function roundHistory(r: Partial<RoundHistory> & { round: number }): RoundHistory {
  return { commits: [], submissions: [], chunkBatches: [], contributions: [], flags: [], publications: [], publicationParts: [], ...r };
}

export function finalized(
  round: number,
  txHash: string,
  o: { totalScore: bigint; paid: bigint; commitment?: bigint; cid?: string },
): RoundEndRecord {
  return {
    ...at(60, txHash),
    projectId: PROJECT_ID,
    round,
    kind: "finalized",
    newModelCommitment: o.commitment ?? 8n,
    newModelCid: o.cid ?? `model-${round + 1}`,
    totalScore: o.totalScore,
    paid: o.paid,
    nextHyperParams: { learningRateMicros: 500_000, localEpochs: 2, batchSize: 16 },
  };
}

/** Proven outcomes as the proofs fact would give them, the proofs themselves taken as verified. */
export function proven(outcomes: readonly SlotOutcome[]): RoundProofsFact {
  return { ok: true, verified: true, check: { chunkProofs: 4, outcomes: [...outcomes], decisionInputs: [], failures: [] } };
}

/** A blob store in memory; its "CIDs" are content hashes, so a changed blob is another CID. */
export class MemoryStore implements BlobStore {
  readonly blobs = new Map<string, Uint8Array>();
  async put(bytes: Uint8Array): Promise<string> {
    const cid = `mem-${createHash("sha256").update(bytes).digest("hex").slice(0, 16)}`;
    this.blobs.set(cid, bytes);
    return cid;
  }
  async get(cid: string): Promise<Uint8Array> {
    const bytes = this.blobs.get(cid);
    if (bytes === undefined) throw new Error(`no block for ${cid}`);
    return bytes;
  }
  async close(): Promise<void> {}
}

export interface FakeChainState {
  /** `Credited` by transaction hash, then account (any case). */
  credits?: Record<string, Record<string, bigint>>;
  balance?: bigint;
  liabilities?: bigint;
}

/** A context over hand-built inputs and a fake chain; `derive` replaces any derivation (e.g. the proven outcomes). */
export function auditContext(
  inputs: Partial<AuditInputs> & { history: ProjectHistory },
  chain: FakeChainState = {},
  derive: Partial<FactDerivations> = {},
): AuditContext {
  return createAuditContext(
    {
      projectId: PROJECT_ID,
      project: projectInfo(),
      verifierConfig: { maxTrainers: 4, chunkSize: 16 },
      store: new MemoryStore(),
      fetchOptions: { timeoutMs: 1000, retries: 0 },
      vkeyDir: "/nonexistent",
      logger: noLogger,
      chain: {
        chainId: 31337n,
        market: MARKET,
        provider: {} as Provider,
        credited: async (txHash) => new Map(Object.entries(chain.credits?.[txHash] ?? {}).map(([a, v]) => [a.toLowerCase(), v])),
        holdings: async () => ({ balance: chain.balance ?? 0n, liabilities: chain.liabilities ?? 0n }),
        optimisticParams: async () => ({ challengeWindow: 0, challengeDeposit: 0n, lastOptimisticRound: -1 }),
      },
      ...inputs,
    },
    derive,
  );
}
