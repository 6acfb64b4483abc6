/**
 * Fixtures and builders for the marketplace's unit tests (mock verifier; the real Groth16
 * verifier is exercised by the circuit end-to-end tests).
 *
 * A round runs in three windows: commit (`[open, open + SUBMISSION_WINDOW)`), reveal (then
 * `REVEAL_WINDOW`) and aggregation (then `AGGREGATION_WINDOW`). Its slots are drawn among the
 * trainers registered when it opened, so fixtures register trainers before the aggregator
 * accepts. `submitAll` = `commitAll` (draws the seed, drawn trainers commit sealed commitments) +
 * `revealAll` (moves into the reveal window, everyone reveals).
 */
import type { HardhatEthers, HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { NetworkHelpers, Time } from "@nomicfoundation/hardhat-network-helpers/types";
import { AbiCoder, keccak256, toUtf8Bytes } from "ethers";

import type { FedMarket, MockRoundVerifier } from "../../types/ethers-contracts/index.js";
import type { IFedMarket } from "../../types/ethers-contracts/contracts/FedMarket.js";

export const FIELD_MODULUS = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
export const ETH = "0x0000000000000000000000000000000000000000";
export const K_MAX = 4;
export const CHUNK_SIZE = 100;
export const SUBMISSION_WINDOW = 3600n;
export const REVEAL_WINDOW = 600n;
export const AGGREGATION_WINDOW = 1800n;
export const REWARD = 1_000_000n;
export const BOND = 500_000n;
export const SLASH = 200_000n;

/** An aggregator seal key `[x, y]`: a BabyJubJub point (docs/PROOF-INTERFACE.md, Sealed updates). */
export type SealKey = [bigint, bigint];
/** BabyJubJub's subgroup generator `Base8` (EIP-2494): the seal key of the secret scalar 1. */
export const BASE8: SealKey = [
  5299619240641551281634865583518297030282874472190772894086521144482721001553n,
  16950150798460657717958625567821834550301663161624707787222815936182638968203n,
];
/** The seal key the fixtures' aggregator registers. */
export const SEAL_KEY: SealKey = BASE8;

/**
 * The decision proof's public inputs are `[ctx, prevModel, newModel, accFinal, sealKey.x, sealKey.y,
 * reference, c[0..K_MAX), outcome words]` (IFedMarket `decisionPublicInputs`): the owner's reference
 * is input `REFERENCE_INPUT`, the slot commitments start at `DECISION_HEAD`.
 */
export const REFERENCE_INPUT = 6;
export const DECISION_HEAD = 7;

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

/** Circuit parameters with Byzantine tolerance `f` (the base config uses `f = 0`: quorum 3). */
export function circuitParams(f: number): ProjectConfig["params"] {
  return { modelSize: 250, byzantineTolerance: f, quantizationScale: 1n << 16n, clipBound: 127n };
}

export function baseConfig(overrides: ConfigOverrides & { verifier: string; aggregator: string }): ProjectConfig {
  return {
    token: ETH,
    budget: REWARD * 3n,
    rewardPerRound: REWARD,
    rewardDecayPpm: 1_000_000,
    numRounds: 3,
    maxTrainersPerRound: K_MAX,
    submissionWindow: SUBMISSION_WINDOW,
    revealWindow: REVEAL_WINDOW,
    aggregationWindow: AGGREGATION_WINDOW,
    challengeWindow: 0n,
    aggregatorBond: BOND,
    slashAmount: SLASH,
    challengeDeposit: 0n,
    trainerStake: 0n,
    allowlistRoot: "0x" + "00".repeat(32),
    ownerEncryptionKey: "0x" + "11".repeat(32),
    initialModelCommitment: commitmentOf("model-0"),
    params: circuitParams(0),
    initialHyperParams: { ...HYPER_INITIAL },
    minHyperParams: { ...HYPER_MIN },
    maxHyperParams: { ...HYPER_MAX },
    specCid: cid("spec"),
    initialModelCid: cid("model0"),
    ...overrides,
  };
}

/** What the round helpers need: the market and the clock of its network. */
export interface Chain {
  market: FedMarket;
  time: Time;
}

export interface MarketFixture extends Chain {
  ethers: HardhatEthers;
  verifier: MockRoundVerifier;
  owner: HardhatEthersSigner;
  aggregator: HardhatEthersSigner;
  trainers: HardhatEthersSigner[];
  stranger: HardhatEthersSigner;
}

/** A network connection as `network.create()` returns it. */
export interface Connection {
  ethers: HardhatEthers;
  networkHelpers: NetworkHelpers;
}

/**
 * Deploys a market and a `kMax`-slot mock verifier. Signers: owner, aggregator, stranger, then
 * `trainerCount` trainers (Hardhat's default network has 20 accounts: at most 17 trainers).
 */
export async function deployMarket(
  { ethers, networkHelpers }: Connection,
  { kMax = K_MAX, trainerCount = 8 }: { kMax?: number; trainerCount?: number } = {},
): Promise<MarketFixture> {
  const [owner, aggregator, stranger, ...trainers] = await ethers.getSigners();
  if (owner === undefined || aggregator === undefined || stranger === undefined) throw new Error("need signers");
  if (trainers.length < trainerCount) throw new Error(`need ${trainerCount} trainers, have ${trainers.length}`);
  const market = (await ethers.deployContract("FedMarket")) as unknown as FedMarket;
  const verifier = (await ethers.deployContract("MockRoundVerifier", [kMax, CHUNK_SIZE])) as unknown as MockRoundVerifier;
  return { ethers, market, verifier, owner, aggregator, trainers: trainers.slice(0, trainerCount), stranger, time: networkHelpers.time };
}

/** Creates an ETH (or `overrides.token`) project for the fixture's aggregator; returns its id. */
export async function createProject(f: MarketFixture, overrides: ConfigOverrides = {}): Promise<bigint> {
  const config = baseConfig({ verifier: await f.verifier.getAddress(), aggregator: f.aggregator.address, ...overrides });
  await f.market.connect(f.owner).createProject(config, { value: config.token === ETH ? config.budget : 0n });
  return f.market.projectCount();
}

/** Registers each trainer, paying the project's stake (in ETH for ETH projects). */
export async function registerTrainers(market: FedMarket, projectId: bigint, trainers: readonly HardhatEthersSigner[]): Promise<void> {
  const p = await market.getProject(projectId);
  for (const t of trainers) {
    await market.connect(t).registerTrainer(projectId, [], { value: p.token === ETH ? p.trainerStake : 0n });
  }
}

/**
 * Creates a project, registers the first `trainerCount` trainers and has the aggregator accept:
 * round 0 opens with those trainers as its candidates.
 */
export async function createActiveProject(f: MarketFixture, overrides: ConfigOverrides = {}, trainerCount = 4): Promise<bigint> {
  const projectId = await createProject(f, overrides);
  await registerTrainers(f.market, projectId, f.trainers.slice(0, trainerCount));
  await acceptTerms(f.market, f.aggregator, projectId, (overrides.token ?? ETH) === ETH);
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
  sealKey: SealKey = SEAL_KEY,
) {
  const p = await market.getProject(projectId);
  return market
    .connect(aggregator)
    .acceptAggregator(projectId, sealKey, p.aggregatorBond, p.slashAmount, { value: inEth ? p.aggregatorBond : 0n });
}

// -------------------------------------------------------------------------------------------------
// Rounds: seed, commit, reveal, windows
// -------------------------------------------------------------------------------------------------

/** One trainer's update: the slot it was drawn for, its commitment and CID. */
export interface Update {
  trainer: HardhatEthersSigner;
  slot: number;
  commitment: bigint;
  cid: string;
}

/** The update a trainer sends by default: distinct per project, round and trainer. */
export type UpdateFor = (trainer: HardhatEthersSigner, index: number, round: bigint) => { commitment: bigint; cid: string };

function defaultUpdate(projectId: bigint): UpdateFor {
  return (t, _i, round) => ({
    commitment: commitmentOf(`p${projectId}-r${round}-${t.address}`),
    cid: cid(`u${round}x${t.address.slice(2, 12)}`),
  });
}

/** What `trainer` seals in `commitUpdate`, computed off chain (IFedMarket.commitUpdate). */
export async function sealedCommitment(
  market: FedMarket,
  projectId: bigint,
  round: bigint,
  trainer: string,
  commitment: bigint,
  updateCid: string,
): Promise<string> {
  const provider = market.runner?.provider;
  if (provider === null || provider === undefined) throw new Error("the market has no provider");
  const { chainId } = await provider.getNetwork();
  return keccak256(
    coder.encode(
      ["uint256", "address", "uint256", "uint256", "address", "uint256", "bytes32"],
      [chainId, await market.getAddress(), projectId, round, trainer, commitment, keccak256(toUtf8Bytes(updateCid))],
    ),
  );
}

/**
 * Fixes the open round's seed (sending `drawSeed`, from the market's signer or `by`, if it is not
 * fixed yet; again after a re-anchoring) and returns it.
 */
export async function drawSeed(market: FedMarket, projectId: bigint, by?: HardhatEthersSigner): Promise<bigint> {
  const caller = by === undefined ? market : market.connect(by);
  for (let attempt = 0; attempt < 3; attempt++) {
    const round = await market.getCurrentRound(projectId);
    if (round.seed !== 0n) return round.seed;
    await caller.drawSeed(projectId);
  }
  throw new Error("the seed was not drawn");
}

/**
 * The given trainers commit in the open round (after the seed is drawn), each into the slot it was
 * drawn for; trainers that were not drawn are left out. Returns the updates in slot order.
 */
export async function commitAll(
  { market }: Chain,
  projectId: bigint,
  trainers: readonly HardhatEthersSigner[],
  updateFor: UpdateFor = defaultUpdate(projectId),
): Promise<Update[]> {
  const round = (await market.getCurrentRound(projectId)).round;
  await drawSeed(market, projectId);
  const updates: Update[] = [];
  for (const [i, trainer] of trainers.entries()) {
    const [, selected, slot] = await market.slotOf(projectId, trainer.address);
    if (!selected) continue;
    const { commitment, cid: updateCid } = updateFor(trainer, i, round);
    const sealed = await sealedCommitment(market, projectId, round, trainer.address, commitment, updateCid);
    await market.connect(trainer).commitUpdate(projectId, round, sealed);
    updates.push({ trainer, slot: Number(slot), commitment, cid: updateCid });
  }
  return updates.sort((a, b) => a.slot - b.slot);
}

/** Moves the clock to `timestamp` unless it is already there or later. */
async function advanceTo({ time }: Chain, timestamp: bigint): Promise<void> {
  if (BigInt(await time.latest()) < timestamp) await time.increaseTo(timestamp);
}

/** Into the open round's reveal window (its commit window closed; no-op if already later). */
export async function toRevealWindow(c: Chain, projectId: bigint): Promise<void> {
  await advanceTo(c, (await c.market.getCurrentRound(projectId)).submissionDeadline);
}

/** Into the open round's aggregation window = open + submissionWindow + revealWindow (its reveal window closed). */
export async function toAggregationWindow(c: Chain, projectId: bigint): Promise<void> {
  await advanceTo(c, (await c.market.getCurrentRound(projectId)).revealDeadline);
}

/** Past the open round's aggregation window (`failRound` becomes possible). */
export async function pastAggregationWindow(c: Chain, projectId: bigint): Promise<void> {
  await advanceTo(c, (await c.market.getCurrentRound(projectId)).aggregationDeadline);
}

/** Moves into the reveal window and reveals each update. */
export async function revealAll(c: Chain, projectId: bigint, updates: readonly Update[]): Promise<void> {
  await toRevealWindow(c, projectId);
  const round = (await c.market.getCurrentRound(projectId)).round;
  for (const u of updates) await c.market.connect(u.trainer).revealUpdate(projectId, round, u.commitment, u.cid);
}

/**
 * `commitAll` then `revealAll`: the drawn trainers among `trainers` submit to the open round; the
 * clock ends in its reveal window. Returns the revealed commitments by slot (`0n` for the others),
 * one entry per slot of the project.
 */
export async function submitAll(
  c: Chain,
  projectId: bigint,
  trainers: readonly HardhatEthersSigner[],
  updateFor?: UpdateFor,
): Promise<bigint[]> {
  const updates = await commitAll(c, projectId, trainers, updateFor);
  await revealAll(c, projectId, updates);
  const slots = Number((await c.market.getProject(projectId)).maxTrainersPerRound);
  const bySlot = new Array<bigint>(slots).fill(0n);
  for (const u of updates) bySlot[u.slot] = u.commitment;
  return bySlot;
}

/** The revealed commitment of every one of the verifier's `kMax` slots in the open round (0 if empty or unrevealed). */
export async function slotCommitments(market: FedMarket, projectId: bigint, kMax: number): Promise<bigint[]> {
  const round = (await market.getCurrentRound(projectId)).round;
  const commitments: bigint[] = [];
  for (let slot = 0; slot < kMax; slot++) commitments.push((await market.getSubmission(projectId, round, slot))[1]);
  return commitments;
}

/**
 * The commitments the decision proof of the open round takes: `slotCommitments`, with 0 for every
 * slot flagged not available and not answered (`unavailableFlags().pendingMask`).
 */
export async function decisionCommitments(market: FedMarket, projectId: bigint, kMax: number): Promise<bigint[]> {
  const { pendingMask } = await market.unavailableFlags(projectId);
  const commitments = await slotCommitments(market, projectId, kMax);
  return commitments.map((c, slot) => (((pendingMask >> BigInt(slot)) & 1n) === 1n ? 0n : c));
}

/**
 * The owner's reference the decision proof of the open round takes (`REFERENCE_INPUT`), from the
 * round's reference events rather than the contract's view: its commitment once published, unless
 * it was flagged and nobody answered; 0 when it was never committed or never published.
 */
export async function decisionReference(market: FedMarket, projectId: bigint): Promise<bigint> {
  const round = (await market.getCurrentRound(projectId)).round;
  const [published] = await market.queryFilter(market.filters.ReferencePublished(projectId, round));
  if (published === undefined) return 0n;
  const flagged = await market.queryFilter(market.filters.ReferenceFlagged(projectId, round));
  const answered = await market.queryFilter(market.filters.ReferenceAnswered(projectId, round));
  return flagged.length !== 0 && answered.length === 0 ? 0n : published.args.commitment;
}

/**
 * Builds a mock-proven finalization of the open round (chunk chain 1, 2, ... then decision),
 * moving the clock into its aggregation window first if needed. The decision inputs read the
 * registered seal key, the owner's reference (`decisionReference`: 0 unless it counts) and the
 * commitments of all the verifier's slots (`decisionCommitments`: 0 for empty, unrevealed or flagged
 * and unanswered ones). The next round keeps the open round's hyper-parameters unless
 * `nextHyperParams` is given.
 */
export async function buildFinalization(
  f: MarketFixture,
  projectId: bigint,
  outcomes: readonly SlotOutcome[],
  newModel: bigint = commitmentOf(`model-${projectId}-${Date.now()}`),
  nextHyperParams?: HyperParams,
): Promise<{ chunkProofs: ChunkProof[]; result: RoundResult; inputs: bigint[] }> {
  await toAggregationWindow(f, projectId);
  const project = await f.market.getProject(projectId);
  const kMax = Number(await (f.verifier.attach(project.verifier) as MockRoundVerifier).maxTrainers());
  const chunkProofs: ChunkProof[] = [];
  let acc = 0n;
  for (let i = 0; i < Number(project.numChunks); i++) {
    const next = commitmentOf(`acc-${projectId}-${i}-${newModel}`);
    chunkProofs.push(mockChunkProof(acc, next));
    acc = next;
  }
  const words = packOutcomes(outcomes, kMax);
  // The view reads the stored accumulator, so compute inputs as the contract will after the chunks.
  const ctx = await f.market.roundContext(projectId, project.currentRound);
  const round = await f.market.getCurrentRound(projectId);
  const commitments = await decisionCommitments(f.market, projectId, kMax);
  const [keyX, keyY] = project.aggregatorSealKey;
  const reference = await decisionReference(f.market, projectId);
  const inputs = [ctx, project.modelCommitment, newModel, acc, keyX, keyY, reference, ...commitments, ...words];
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
