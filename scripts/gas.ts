/**
 * Gas benchmark: writes bench/gas.json with the gas used by each marketplace call.
 *
 *   npm run gas
 *
 * Proof verification is measured with real snarkjs Groth16 verifiers (see `scripts/gas-verifiers.ts`):
 * the gas of a Groth16 verification depends only on the number of public inputs, so verifiers of
 * tiny circuits with the same public-input counts as the round circuits (2 for a chunk proof,
 * `7 + K + ceil(K/3)` for the decision proof, the aggregator's seal key and the owner's reference
 * included) give the exact on-chain cost, and the marketplace calls around them (finalizeRound at K
 * trainers) are measured end to end with those real proofs. The market checks a submission's chunk
 * proofs with one batch verification (`verifyChunks`), over the batch verifier of the 2-input
 * circuit's key.
 *
 * flagUnavailable / publishUpdate: in round 1 one slot's commitment is that of a real sealed update
 * (core's `sealedCommitment(cipherChain(chunks), E)`), so the aggregator flags it and another account
 * publishes it, checked on chain by the adapter's Poseidon libraries (NP = packedLength(CHUNK, B)).
 * `answerPerChunk` prices the part of an answer that grows with the model at the test, demo and
 * production chunk widths: `sealedCommitment` over two chunks minus over one (hashing plus the
 * extra chunk's calldata), checked against core's value.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { network } from "hardhat";
import type { ContractTransactionResponse } from "ethers";

import {
  cipherChain,
  FIELD_MODULUS,
  packedLength,
  publicKeyOf,
  quantizeReference,
  referenceChunks,
  referenceCommitment,
  sealedCommitment,
  type CurvePoint,
} from "@fedmarket/core";
import { ChunkAccumulatorTree, DEFAULT_ANSWER_CHUNKS_PER_TX } from "@fedmarket/protocol";

import type { FedMarket, IFedMarketOptimistic } from "../types/ethers-contracts/index.js";
import { deployRealVerifier, type RealVerifier } from "./gas-verifiers.js";
import { deployGroth16RoundVerifier } from "../test/helpers/round-verifier.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { ethers, networkHelpers } = await network.create();
const signers = await ethers.getSigners();
const [owner, aggregator] = signers;
if (owner === undefined || aggregator === undefined) throw new Error("need signers");

const ETH = ethers.ZeroAddress;
const REWARD = 10n ** 18n;
const CHUNK = 64;
const MODEL_SIZE = 3 * CHUNK; // three chunk proofs per round
/** Chunks of the optimistic round: ceil(1,000,000 / 512), a 1M-parameter model at the production chunk. */
const OPTIMISTIC_CHUNKS = Math.ceil(1_000_000 / 512);
/** Bits of an update value (`B`): the published ciphertext has packedLength(CHUNK, B) elements per chunk. */
const UPDATE_BITS = 8;
/** `BG` of the round verifier (its `maxRounds()` only; the rounds here are far below it). */
const MODEL_BITS = 24;
const SUBMISSION_WINDOW = 3600n;
const REVEAL_WINDOW = 1800n;
/** The aggregator's seal key: BabyJubJub's Base8 (any curve point costs the same). */
const SEAL_KEY: [bigint, bigint] = [
  5299619240641551281634865583518297030282874472190772894086521144482721001553n,
  16950150798460657717958625567821834550301663161624707787222815936182638968203n,
];

async function gasOf(tx: Promise<ContractTransactionResponse>): Promise<number> {
  const receipt = await (await tx).wait();
  if (receipt === null) throw new Error("no receipt");
  return Number(receipt.gasUsed);
}

function cid(i: number): string {
  return `bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyk${String(i).padStart(2, "0")}`.slice(0, 59);
}

interface Measurement {
  k: number;
  decisionPublicInputs: number;
  createProject: number;
  acceptAggregator: number;
  registerTrainer: number;
  registerTrainerWithStake: number;
  drawSeed: number;
  commitUpdateFirstRound: { min: number; max: number; mean: number };
  commitUpdateLaterRound: { min: number; max: number; mean: number };
  commitUpdateDrawn: { candidates: number; min: number; max: number; mean: number };
  revealUpdateFirstRound: { min: number; max: number; mean: number };
  revealUpdateLaterRound: { min: number; max: number; mean: number };
  flagUnavailable: number;
  commitReference: number;
  publishReference: number;
  flagReference: number;
  answerReference: { packedElements: number; gas: number };
  publishUpdate: { cipherElements: number; gas: number };
  /** The same answer in two transactions: chunk 0 as a part (by the slot's trainer), then the rest. */
  publishUpdateInParts: { partCipherElements: number; part: number; rest: number };
  verifyChunkProof: number;
  verifyDecisionProof: number;
  submitChunkProofsPerProof: number;
  batchedPerExtraChunkProof: number;
  /** submitChunkProofs with a single proof. */
  submitOneChunkProof: number;
  finalizeRoundWhole: number;
  finalizeRoundChunks: number;
  skipRound: number;
  failRound: number;
  withdrawEth: number;
  /** K = 8 only. */
  optimistic?: OptimisticGas;
}

/** Gas of an optimistic round's calls (IFedMarketOptimistic) over `chunks` chunk accumulators. */
interface OptimisticGas {
  chunks: number;
  merkleProofLength: number;
  /** The aggregator's whole round: the decision proof, the chunk root, K payouts held. */
  finalizeRoundOptimistic: number;
  /** After the window: K held payouts credited (anyone may send it; the aggregator node does). */
  settleRound: number;
  /** A challenge of one chunk, with its deposit and the bond stake it holds. */
  challengeRound: number;
  /** Its answer: two Merkle proofs and one chunk proof, batch-verified. */
  answerChallengeOneChunk: number;
  /** An unanswered challenge: model restored, K trainers and the challenger credited. */
  voidRound: number;
}

/** A sealed update of `chunks` chunks of `width` ciphertext elements (arbitrary field elements) and its commitment. */
function sampleSealedUpdate(chunks: number, width: number): { ephemeral: CurvePoint; cipher: bigint[]; commitment: bigint } {
  const element = (i: number): bigint => BigInt(ethers.keccak256(ethers.toUtf8Bytes(`cipher-${i}`))) % FIELD_MODULUS;
  const cipherChunks = Array.from({ length: chunks }, (_, j) => Array.from({ length: width }, (_, i) => element(j * width + i)));
  const ephemeral = publicKeyOf(0x5eed5n);
  return { ephemeral, cipher: cipherChunks.flat(), commitment: sealedCommitment(cipherChain(cipherChunks), ephemeral) };
}

function stats(values: number[]): { min: number; max: number; mean: number } {
  return {
    min: Math.min(...values),
    max: Math.max(...values),
    mean: Math.round(values.reduce((a, b) => a + b, 0) / values.length),
  };
}

async function measure(k: number): Promise<Measurement> {
  const trainers = signers.slice(2, 2 + k);
  if (trainers.length < k) throw new Error(`need ${k} trainer accounts`);
  // More candidates than slots for the draw measurement: up to 2K (hardhat's 20 default accounts).
  const extra = signers.slice(2 + k, 2 + 2 * k);
  if (extra.length === 0) throw new Error(`need more than ${k} trainer accounts`);
  const market = (await ethers.deployContract("FedMarket")) as unknown as FedMarket;
  const verifier: RealVerifier = await deployRealVerifier(ethers, k, CHUNK, UPDATE_BITS, MODEL_BITS);
  // a project needs 2f + 3 slots (the consensus quorum): K = 4 tolerates none.
  const f = k >= 5 ? 1 : 0;

  const config = {
    token: ETH,
    aggregator: aggregator!.address,
    verifier: await verifier.adapter.getAddress(),
    budget: REWARD * 4n,
    rewardPerRound: REWARD,
    rewardDecayPpm: 1_000_000,
    numRounds: 4,
    maxTrainersPerRound: k,
    submissionWindow: SUBMISSION_WINDOW,
    revealWindow: REVEAL_WINDOW,
    aggregationWindow: 3600n,
    challengeWindow: 0n,
    aggregatorBond: REWARD,
    slashAmount: REWARD / 2n,
    challengeDeposit: 0n,
    trainerStake: 0n,
    allowlistRoot: ethers.ZeroHash,
    ownerEncryptionKey: ethers.ZeroHash,
    initialModelCommitment: 12345n,
    params: { modelSize: MODEL_SIZE, byzantineTolerance: f, quantizationScale: 1n << 16n, clipBound: 127n },
    initialHyperParams: { learningRateMicros: 10_000n, localEpochs: 1n, batchSize: 32n },
    minHyperParams: { learningRateMicros: 1_000n, localEpochs: 1n, batchSize: 32n },
    maxHyperParams: { learningRateMicros: 10_000n, localEpochs: 1n, batchSize: 32n },
    specCid: cid(0),
    initialModelCid: cid(1),
  };
  const createProject = await gasOf(market.connect(owner).createProject(config, { value: config.budget }));
  // Trainers register before the acceptance opens round 0: its candidates are fixed then.
  const registerTrainer = await gasOf(market.connect(trainers[0]!).registerTrainer(1n, []));
  for (const t of trainers.slice(1)) await market.connect(t).registerTrainer(1n, []);
  const acceptAggregator = await gasOf(
    market.connect(aggregator).acceptAggregator(1n, SEAL_KEY, config.aggregatorBond, config.slashAmount, { value: REWARD }),
  );

  const staked = { ...config, trainerStake: 10n ** 16n };
  await market.connect(owner).createProject(staked, { value: staked.budget });
  const registerTrainerWithStake = await gasOf(market.connect(trainers[0]!).registerTrainer(2n, [], { value: staked.trainerStake }));

  /**
   * Commit window: every trainer seals; then the reveal window: every trainer reveals. `commitments`
   * overrides the commitment of the trainers at those indices of `who`.
   */
  async function submitRound(
    pid: bigint,
    round: number,
    who: typeof trainers = trainers,
    commitments: ReadonlyMap<number, bigint> = new Map(),
  ): Promise<{ commit: number[]; reveal: number[] }> {
    const commit: number[] = [];
    const reveal: number[] = [];
    // The round opened in the latest block: its seed (that block's hash) is readable from the next one.
    if ((await market.getCurrentRound(pid)).seed === 0n) await market.connect(who[0]!).drawSeed(pid);
    const openings: { t: (typeof trainers)[number]; c: bigint; cid: string }[] = [];
    for (const [i, t] of who.entries()) {
      const [, selected] = await market.slotOf(pid, t.address);
      if (!selected) continue;
      const c = commitments.get(i) ?? BigInt(ethers.keccak256(ethers.toUtf8Bytes(`p${pid}r${round}t${i}`))) >> 8n;
      const sealed = await market.sealedCommitment(pid, round, t.address, c, cid(i));
      commit.push(await gasOf(market.connect(t).commitUpdate(pid, round, sealed)));
      openings.push({ t, c, cid: cid(i) });
    }
    await networkHelpers.time.increase(SUBMISSION_WINDOW);
    for (const o of openings) reveal.push(await gasOf(market.connect(o.t).revealUpdate(pid, round, o.c, o.cid)));
    await networkHelpers.time.increase(REVEAL_WINDOW);
    return { commit, reveal };
  }

  async function finalize(round: number): Promise<{ whole: number; chunks: number; perChunk: number; perExtra: number; one: number }> {
    const project = await market.getProject(1n);
    const chunkProofs = [];
    let acc = 0n;
    for (let i = 0; i < Number(project.numChunks); i++) {
      const next = BigInt(ethers.keccak256(ethers.toUtf8Bytes(`acc${round}-${i}`))) >> 8n;
      chunkProofs.push({ proof: await verifier.proveChunk(acc, next), accOut: next });
      acc = next;
    }
    const agg = market.connect(aggregator!);
    // The same submission without its last proof, undone: what one more proof in a batch costs.
    const snapshot = await networkHelpers.takeSnapshot();
    const fewer = await gasOf(agg.submitChunkProofs(1n, round, 0n, chunkProofs.slice(0, -1)));
    await snapshot.restore();
    // A submission of one proof, undone: the price of a proof sent on its own ("single" rounds).
    const one = await gasOf(agg.submitChunkProofs(1n, round, 0n, chunkProofs.slice(0, 1)));
    await snapshot.restore();
    const chunks = await gasOf(agg.submitChunkProofs(1n, round, 0n, chunkProofs));
    const outcomes = packAllInliers(k);
    const newModel = 777n + BigInt(round);
    const inputs = await market.decisionPublicInputs(1n, newModel, outcomes);
    const proof = await verifier.proveDecision(inputs);
    // A learning-rate decay, as `--lr-decay 0.9` publishes it: the hyper-parameter word changes every round.
    const nextHyperParams = { learningRateMicros: 9_000n - BigInt(round) * 900n, localEpochs: 1n, batchSize: 32n };
    const whole = await gasOf(
      agg.finalizeRound(1n, round, 0n, [], { newModelCommitment: newModel, outcomes, proof, newModelCid: cid(9), nextHyperParams }),
    );
    return { whole, chunks, perChunk: Math.round(chunks / chunkProofs.length), perExtra: chunks - fewer, one };
  }

  // The owner's reference of round 0: committed before the trainers commit, published after the
  // reveals; then (undone) flagged by the aggregator and answered in one transaction.
  const reference = quantizeReference(
    Array.from({ length: MODEL_SIZE }, (_, i) => Math.sin(i + 1)),
    UPDATE_BITS,
  );
  const referenceCircuit = { kMax: k, chunk: CHUNK, updateBits: UPDATE_BITS, modelBits: MODEL_BITS };
  const referenceSalt = 987654321n;
  const commitReference = await gasOf(
    market.connect(owner).commitReference(1n, 0, referenceCommitment(reference, referenceSalt, referenceCircuit)),
  );
  const first = await submitRound(1n, 0);
  const publishReference = await gasOf(market.connect(owner).publishReference(1n, 0, cid(8)));
  const beforeReferenceFlag = await networkHelpers.takeSnapshot();
  const flagReference = await gasOf(market.connect(aggregator!).flagReference(1n, 0));
  const answerReference = await gasOf(
    market.connect(trainers[0]!).answerReference(1n, 0, referenceSalt, referenceChunks(reference, referenceCircuit).flat()),
  );
  await beforeReferenceFlag.restore();
  const round0 = await finalize(0);
  // The seed of round 1 (opened by the finalization) read by anyone before the first commit.
  const drawSeed = await gasOf(market.connect(trainers[0]!).drawSeed(1n));
  // Round 1: trainer 0's update is a real sealed one; the aggregator flags its slot, another account
  // publishes it, and the chunk proofs wait for the answer deadline.
  const sealed = sampleSealedUpdate(MODEL_SIZE / CHUNK, packedLength(CHUNK, UPDATE_BITS));
  const later = await submitRound(1n, 1, trainers, new Map([[0, sealed.commitment]]));
  const [, , flaggedSlot] = await market.slotOf(1n, trainers[0]!.address);
  const flagUnavailable = await gasOf(market.connect(aggregator).flagUnavailable(1n, 1, 1n << flaggedSlot));
  const ownerWrap = "0x" + "ab".repeat(32);
  const np = packedLength(CHUNK, UPDATE_BITS);
  const beforeAnswer = await networkHelpers.takeSnapshot();
  const part = await gasOf(market.connect(trainers[0]!).publishUpdatePart(1n, 1, flaggedSlot, sealed.cipher.slice(0, np)));
  const rest = await gasOf(
    market.connect(trainers[1]!).publishUpdate(1n, 1, flaggedSlot, [...sealed.ephemeral], sealed.cipher.slice(np), ownerWrap),
  );
  await beforeAnswer.restore();
  const publishUpdate = await gasOf(
    market.connect(trainers[1]!).publishUpdate(1n, 1, flaggedSlot, [...sealed.ephemeral], sealed.cipher, ownerWrap),
  );
  await networkHelpers.time.increaseTo((await market.unavailableFlags(1n)).answerDeadline);
  await finalize(1);

  // Round 2: below quorum, skipped. Round 3: quorum but the aggregator stays silent, failed.
  await networkHelpers.time.increase(SUBMISSION_WINDOW + REVEAL_WINDOW);
  const skipRound = await gasOf(market.skipRound(1n));
  await submitRound(1n, 3);
  await networkHelpers.time.increase(3600n);
  const failRound = await gasOf(market.failRound(1n));
  const withdrawEth = await gasOf(market.connect(trainers[0]!).withdraw(ETH));

  // Slots drawn among more candidates than slots: each commit runs the draw (Floyd) to find its slot.
  await market.connect(owner).createProject(config, { value: config.budget });
  for (const t of [...trainers, ...extra]) await market.connect(t).registerTrainer(3n, []);
  await market.connect(aggregator).acceptAggregator(3n, SEAL_KEY, config.aggregatorBond, config.slashAmount, { value: REWARD });
  const drawn = await submitRound(3n, 0, [...trainers, ...extra]);

  /**
   * An optimistic round (IFedMarketOptimistic) over OPTIMISTIC_CHUNKS chunks, the production chunk
   * count of a 1,000,000-parameter model (so the Merkle proofs have their production depth): the
   * aggregator's finalization, the settlement after the window, and, each from the same state,
   * a challenge of one chunk answered with its real proof, and one left unanswered and voided.
   */
  async function optimisticRound(): Promise<OptimisticGas> {
    const opt = (await ethers.getContractAt("IFedMarketOptimistic", await market.getAddress())) as unknown as IFedMarketOptimistic;
    const window = SUBMISSION_WINDOW;
    const deposit = REWARD / 10n;
    await market.connect(owner).createProject(
      {
        ...config,
        challengeWindow: window,
        challengeDeposit: deposit,
        params: { ...config.params, modelSize: OPTIMISTIC_CHUNKS * CHUNK },
      },
      { value: config.budget },
    );
    const pid = await market.projectCount();
    for (const t of trainers) await market.connect(t).registerTrainer(pid, []);
    await market.connect(aggregator).acceptAggregator(pid, SEAL_KEY, config.aggregatorBond, config.slashAmount, { value: REWARD });
    const before = await market.getProject(pid);
    await submitRound(pid, 0);
    const accs = [
      0n,
      ...Array.from({ length: OPTIMISTIC_CHUNKS }, (_, i) => BigInt(ethers.keccak256(ethers.toUtf8Bytes(`oacc-${i}`))) >> 8n),
    ];
    const tree = new ChunkAccumulatorTree(accs);
    const accFinal = accs[OPTIMISTIC_CHUNKS]!;
    const outcomes = packAllInliers(k);
    const newModel = 4242n;
    // The view reads the stored accumulator (0 here); the optimistic finalization stores accFinal first.
    const inputs = [...(await market.decisionPublicInputs(pid, newModel, outcomes))];
    inputs[3] = accFinal;
    const proof = await verifier.proveDecision(inputs);
    const result = { newModelCommitment: newModel, outcomes, proof, newModelCid: cid(8), nextHyperParams: config.initialHyperParams };
    const agg = opt.connect(aggregator!);
    const finalizeTx = agg.finalizeRoundOptimistic(pid, 0, accFinal, tree.root, cid(7), result);
    const receipt = await (await finalizeTx).wait();
    if (receipt === null) throw new Error("no receipt");
    const payouts = receipt.logs
      .map((log) => market.interface.parseLog(log))
      .filter((e) => e?.name === "ContributionRecorded")
      .map((e) => ({ trainer: e!.args.trainer as string, share: e!.args.reward as bigint }));
    const { windowEnd } = await opt.getOptimisticRound(pid, 0);
    const chunk = Math.floor(OPTIMISTIC_CHUNKS / 2);
    const challenger = extra[0]!;
    const beforeChallenge = await networkHelpers.takeSnapshot();
    const challengeRound = await gasOf(opt.connect(challenger).challengeRound(pid, 0, chunk, 1, { value: deposit }));
    const chunkProof = { proof: await verifier.proveChunk(accs[chunk]!, accs[chunk + 1]!), accOut: accs[chunk + 1]! };
    const answerOneChunk = await gasOf(agg.answerChallenge(pid, 0, accs[chunk]!, tree.proof(chunk), [chunkProof], tree.proof(chunk + 1)));
    await beforeChallenge.restore();
    await opt.connect(challenger).challengeRound(pid, 0, chunk, 1, { value: deposit });
    await networkHelpers.time.increaseTo((await opt.getOptimisticRound(pid, 0)).answerDeadline);
    const voidRound = await gasOf(opt.connect(challenger).voidRound(pid, 0, payouts, before.modelCid));
    await beforeChallenge.restore();
    await networkHelpers.time.increaseTo(windowEnd);
    const settleRound = await gasOf(opt.connect(aggregator!).settleRound(pid, 0, payouts));
    return {
      chunks: OPTIMISTIC_CHUNKS,
      merkleProofLength: tree.proof(chunk).length,
      finalizeRoundOptimistic: Number(receipt.gasUsed),
      settleRound,
      challengeRound,
      answerChallengeOneChunk: answerOneChunk,
      voidRound,
    };
  }
  const optimistic = k === 8 ? await optimisticRound() : undefined;

  return {
    k,
    decisionPublicInputs: 7 + k + Math.ceil(k / 3),
    createProject,
    acceptAggregator,
    registerTrainer,
    registerTrainerWithStake,
    drawSeed,
    commitUpdateFirstRound: stats(first.commit),
    commitUpdateLaterRound: stats(later.commit),
    commitUpdateDrawn: { candidates: k + extra.length, ...stats(drawn.commit) },
    revealUpdateFirstRound: stats(first.reveal),
    revealUpdateLaterRound: stats(later.reveal),
    flagUnavailable,
    commitReference,
    publishReference,
    flagReference,
    answerReference: { packedElements: referenceChunks(reference, referenceCircuit).flat().length, gas: answerReference },
    publishUpdate: { cipherElements: sealed.cipher.length, gas: publishUpdate },
    publishUpdateInParts: { partCipherElements: np, part, rest },
    verifyChunkProof: await verifier.verifyChunkGas(),
    verifyDecisionProof: await verifier.verifyDecisionGas(),
    submitChunkProofsPerProof: round0.perChunk,
    batchedPerExtraChunkProof: round0.perExtra,
    submitOneChunkProof: round0.one,
    finalizeRoundWhole: round0.whole,
    finalizeRoundChunks: round0.chunks,
    skipRound,
    failRound,
    withdrawEth,
    ...(optimistic === undefined ? {} : { optimistic }),
  };
}

function packAllInliers(k: number): bigint[] {
  const words = new Array<bigint>(Math.ceil(k / 3)).fill(0n);
  for (let slot = 0; slot < k; slot++) {
    const value = 1n | (BigInt(1000 + slot) << 2n);
    words[Math.floor(slot / 3)]! |= value << (66n * BigInt(slot % 3));
  }
  return words;
}

const results: Measurement[] = [];
for (const k of [4, 8, 16]) {
  console.log(`measuring K = ${k} ...`);
  results.push(await measure(k));
}

/** Gas of one more chunk in `sealedCommitment` at the chunk widths of the three configurations. */
async function answerPerChunk(): Promise<{ configuration: string; chunk: number; updateBits: number; np: number; perChunk: number }[]> {
  const widths = [
    { configuration: "test (K 4, CHUNK 16, B 16)", chunk: 16, updateBits: 16, modelBits: 32 },
    { configuration: "demo (K 8, CHUNK 128, B 8)", chunk: 128, updateBits: 8, modelBits: 24 },
    { configuration: "production (K 8, CHUNK 512, B 8)", chunk: 512, updateBits: 8, modelBits: 24 },
  ];
  const rows = [];
  for (const w of widths) {
    const adapter = await deployGroth16RoundVerifier(ethers, {
      chunkVerifier: ethers.ZeroAddress,
      batchChunkVerifier: ethers.ZeroAddress,
      decisionVerifier: ethers.ZeroAddress,
      circuit: { kMax: 8, chunk: w.chunk, updateBits: w.updateBits, modelBits: w.modelBits },
    });
    const np = packedLength(w.chunk, w.updateBits);
    const ephemeral = publicKeyOf(7n);
    const chunks = [0, 1].map((j) => Array.from({ length: np }, (_, i) => (BigInt(j * np + i + 1) << 200n) % FIELD_MODULUS));
    const gas = async (n: number): Promise<number> => {
      const cipher = chunks.slice(0, n).flat();
      const onChain = await adapter.sealedCommitment([...ephemeral], cipher);
      if (onChain !== sealedCommitment(cipherChain(chunks.slice(0, n)), ephemeral))
        throw new Error(`sealedCommitment differs from core at NP ${np}`);
      return Number(await adapter.sealedCommitment.estimateGas([...ephemeral], cipher));
    };
    rows.push({ ...w, np, perChunk: (await gas(2)) - (await gas(1)) });
  }
  return rows;
}
const answer = await answerPerChunk();

/**
 * The aggregator's gas per round at K = 8 for models of D parameters at the production chunk
 * (CHUNK 512: ceil(D / 512) chunk proofs), from the K = 8 measurements above: "single" sends each
 * proof in its own submission; "batched" sends up to the node's 128 proofs per submission (the first
 * proof of a submission at the one-proof price, every further one at `batchedPerExtraChunkProof`);
 * both then pay finalizeRound (decision proof, K payouts). Chunk proofs' gas does not depend on the
 * chunk size (two public inputs), so these are measured prices times counts, not a run at each D.
 * "optimistic" is finalizeRoundOptimistic plus settleRound, measured once at the chunk count of
 * D = 1,000,000: neither call reads a chunk, so the same gas holds for every D.
 */
function roundsAtK8(k8: Measurement): { d: number; chunks: number; mode: string; aggregatorGasPerRound: number }[] {
  const o = k8.optimistic;
  if (o === undefined) throw new Error("no optimistic measurement at K = 8");
  const PROD_CHUNK = 512;
  const PER_TX = 128;
  const rows = [];
  for (const d of [1_010, 25_450, 1_000_000]) {
    const n = Math.ceil(d / PROD_CHUNK);
    const submissions = Math.ceil(n / PER_TX);
    rows.push({ d, chunks: n, mode: "single", aggregatorGasPerRound: n * k8.submitOneChunkProof + k8.finalizeRoundWhole });
    rows.push({
      d,
      chunks: n,
      mode: "batched",
      aggregatorGasPerRound:
        submissions * k8.submitOneChunkProof + (n - submissions) * k8.batchedPerExtraChunkProof + k8.finalizeRoundWhole,
    });
    rows.push({ d, chunks: n, mode: "optimistic", aggregatorGasPerRound: o.finalizeRoundOptimistic + o.settleRound });
  }
  return rows;
}
const k8 = results.find((r) => r.k === 8);
if (k8 === undefined) throw new Error("no K = 8 measurement");

/**
 * An answer too large for one transaction, in parts of the trainer node's default chunk count
 * (protocol's DEFAULT_ANSWER_CHUNKS_PER_TX, 16) at the production width: each part costs the market's fixed part
 * overhead (a one-chunk part minus that chunk's share of the whole answer, measured above) plus 16
 * chunks at the production `answerPerChunk`. Computed from measured prices, for the 25,450-parameter
 * MLP (50 chunks) and a 1,000,000-parameter model (1,954 chunks).
 */
function answerInParts(m: Measurement): {
  chunksPerTx: number;
  partOverhead: number;
  productionPartGas: number;
  models: { d: number; chunks: number; transactions: number; gasPerTransactionMax: number; totalGas: number }[];
} {
  const PER_TX = DEFAULT_ANSWER_CHUNKS_PER_TX;
  const production = answer[answer.length - 1]!.perChunk;
  // One chunk's share of the whole answer (its hashing and calldata, at this script's width) is the
  // whole answer minus its completion without that chunk; the rest of the part is the market's.
  const chunkInAnswer = m.publishUpdate.gas - m.publishUpdateInParts.rest;
  const partOverhead = m.publishUpdateInParts.part - chunkInAnswer;
  const productionPartGas = partOverhead + PER_TX * production;
  const models = [25_450, 1_000_000].map((d) => {
    const chunks = Math.ceil(d / 512);
    const transactions = Math.ceil(chunks / PER_TX);
    // The last transaction (publishUpdate) carries the remaining chunks plus the key, the wrap and the commitment check.
    const lastChunks = chunks - (transactions - 1) * PER_TX;
    const last = m.publishUpdate.gas - (m.publishUpdate.cipherElements / answer[0]!.np - lastChunks) * 0 + lastChunks * production;
    return {
      d,
      chunks,
      transactions,
      gasPerTransactionMax: Math.max(productionPartGas, Math.round(last)),
      totalGas: Math.round((transactions - 1) * productionPartGas + last),
    };
  });
  return { chunksPerTx: PER_TX, partOverhead, productionPartGas, models };
}
const parts = answerInParts(k8);
const rounds = roundsAtK8(k8);

const out = {
  generatedBy: "npm run gas (scripts/gas.ts)",
  solc: "0.8.30, optimizer 100 runs, viaIR, evm cancun",
  notes: [
    "Gas per transaction (including the 21000 base and calldata).",
    "verifyChunkProof / verifyDecisionProof: gas of the IRoundVerifier call alone (real snarkjs Groth16 verifiers).",
    "Chunk proofs: the market verifies each submission's proofs with one IRoundVerifier.verifyChunks call (the batch verifier of the chunk key, " +
      "scripts/circuits/batch-verifier.ts). finalizeRoundChunks: submitChunkProofs with all of a round's proofs; submitChunkProofsPerProof: " +
      "that divided by the proofs; batchedPerExtraChunkProof: that submission minus the same one without its last proof (sent first, then undone).",
    "finalizeRoundWhole: finalizeRound of round 0 with the decision proof (chunk proofs sent before, in submitChunkProofs) and K inliers paid; " +
      "the round's reference is published (at the start of the aggregation window, so the chunk proofs do not wait for its publication end), " +
      "so its commitment is decision input 6.",
    "acceptAggregator: the first acceptance (bond in ETH, seal key checked on the curve and stored), which opens round 0.",
    "commitUpdate / revealUpdate: the two phases of a submission. The first commit of a round also fixes the round's seed unless drawSeed did; slots are pre-initialised at createProject, so commits rewrite non-zero storage; a reveal writes one fresh word (the duplicate-commitment guard, keyed by the commitment alone: market-wide).",
    "commitUpdateDrawn: more registered trainers (`candidates`) than K slots, so each commit runs the uniform draw (Floyd, up to K keccak draws) to find its slot.",
    `Model of ${MODEL_SIZE} parameters in ${MODEL_SIZE / CHUNK} chunks; f = 0 at K = 4 (2f + 3 <= K), else 1.`,
    "flagUnavailable: the aggregator flags one revealed slot (round 1). publishUpdate: another account publishes that slot's sealed update " +
      `(${MODEL_SIZE / CHUNK} chunks of packedLength(${CHUNK}, ${UPDATE_BITS}) ciphertext elements, a 32-byte owner wrap), checked by the ` +
      "adapter's poseidon-solidity libraries (core's hashNarrow per chunk with PoseidonT(min(NP, 5) + 1), PoseidonT3 per chain step, PoseidonT4 for the commitment).",
    "commitReference / publishReference: the owner's reference of round 0 (docs/PROOF-INTERFACE.md, \"The owner's reference\"): the commitment stored in the commit window, the opening's CID published (logged only) after the reveals. flagReference / answerReference: the aggregator flags it, another account answers with the salt and the 3 chunks of packed values in one transaction (checked by the adapter's sealedCommitmentFrom, as an update's answer is; undone afterwards).",
    "answerPerChunk: what one more chunk adds to the adapter's sealedCommitment (hashing and that chunk's calldata) at each configuration's " +
      "chunk width; publishUpdate adds the canonical-element checks and the UpdatePublished log of the elements on top.",
    "publishUpdateInParts: the same answer as publishUpdate in two transactions: the slot's trainer publishes chunk 0 (publishUpdatePart), " +
      "another account completes it (publishUpdate with the other chunks). answerInParts: an answer at the production width in parts of 16 " +
      "chunks (the trainer node's default), computed from measured prices: partOverhead = the one-chunk part minus that chunk's share of " +
      "the whole answer (publishUpdate minus the completing rest); productionPartGas = partOverhead + 16 production chunks; each model's last transaction is bounded by the K = 8 " +
      "publishUpdate plus its chunks at the production price.",
    "rounds (issue 14): the aggregator's gas per round at K = 8 for D parameters in ceil(D / 512) chunk proofs, computed from the K = 8 " +
      "measurements (submitOneChunkProof, batchedPerExtraChunkProof, finalizeRoundWhole): single = one proof per submission; batched = up to " +
      "128 proofs per submission (the aggregator node's default); D = 1,000,000 is computed like the others, not run. optimistic = " +
      "finalizeRoundOptimistic + settleRound (measurements[K = 8].optimistic), measured once over the 1,954 chunk accumulators of " +
      "D = 1,000,000: neither call reads a chunk, so the row is the same at every D.",
    "challengeGas: the transaction that checks one challenged chunk of that round on chain, its answer (answerChallenge: the chunk's real " +
      "proof, batch-verified, and two Merkle proofs of the production depth). challenge: the challenger's challengeRound, that answer, " +
      "and, from the same state, the void of an unanswered challenge (voidRound).",
  ],
  measurements: results,
  answerPerChunk: answer,
  answerInParts: parts,
  batchedPerExtraChunkProof: k8.batchedPerExtraChunkProof,
  rounds,
  // The transaction that checks a challenged chunk on chain: its answer (the goal: one transaction, < 1M gas).
  challengeGas: k8.optimistic!.answerChallengeOneChunk,
  challenge: {
    challengeRound: k8.optimistic!.challengeRound,
    answerChallengeOneChunk: k8.optimistic!.answerChallengeOneChunk,
    voidRound: k8.optimistic!.voidRound,
    merkleProofLength: k8.optimistic!.merkleProofLength,
  },
};
mkdirSync(join(root, "bench"), { recursive: true });
writeFileSync(join(root, "bench", "gas.json"), JSON.stringify(out, null, 2) + "\n");
console.table(
  results.map((r) => ({
    K: r.k,
    createProject: r.createProject,
    registerTrainer: r.registerTrainer,
    commitUpdate: r.commitUpdateLaterRound.max,
    commitDrawn: r.commitUpdateDrawn.max,
    revealUpdate: r.revealUpdateLaterRound.max,
    flagUnavailable: r.flagUnavailable,
    publishUpdate: r.publishUpdate.gas,
    verifyChunk: r.verifyChunkProof,
    perExtraChunkProof: r.batchedPerExtraChunkProof,
    verifyDecision: r.verifyDecisionProof,
    finalizeRound: r.finalizeRoundWhole,
    withdraw: r.withdrawEth,
  })),
);
console.table(answer);
console.table(parts.models);
console.table(rounds);
console.log("wrote bench/gas.json");
// snarkjs keeps worker threads alive; the benchmark is done.
process.exit(0);
