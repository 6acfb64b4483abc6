/**
 * A complete round as the aggregator computes it: commitments checked, Multi-Krum decided,
 * every chunk step and the decision input built. The single source of truth for tests.
 */
import { initialState, type AccumulatorState } from "./accumulator.ts";
import { commitUpdate, modelCommitment, padToChunks, splitChunks } from "./commit.ts";
import { validateConfig, type CircuitConfig } from "./config.ts";
import { computeCtx } from "./ctx.ts";
import { gramMatrix, gramToUpper } from "./gram.ts";
import { maskOf, multiKrum, type KrumResult } from "./krum.ts";
import { packOutcome } from "./outcome.ts";
import { buildChunkInput, buildDecisionInput, type ChunkWitness, type DecisionWitness } from "./witness.ts";

/** One trainer slot of a round. */
export interface RoundSlot {
  /** The commitment submitted on chain (`0n`: empty slot). */
  readonly commitment: bigint;
  /** The opened quantized update (required unless the slot is empty or excluded). */
  readonly update?: readonly bigint[];
  /** Its salt (required with `update`). */
  readonly salt?: bigint;
  /** The aggregator excludes the slot (missing, undecryptable, not opening). */
  readonly excluded?: boolean;
}

/** Builds a slot whose commitment opens to `update` under `salt`. */
export function committedSlot(config: CircuitConfig, update: readonly bigint[], salt: bigint): RoundSlot {
  return { commitment: commitUpdate(update, salt, config.chunk, config.updateBits), update, salt };
}

/** Everything a round needs. */
export interface RoundInput {
  readonly config: CircuitConfig;
  /** The current global model (`D` quantized values). */
  readonly prevModel: readonly bigint[];
  /** Up to `K_MAX` slots; missing trailing slots are empty. */
  readonly slots: readonly RoundSlot[];
  /** Tolerated Byzantine trainers. */
  readonly f: number;
  /** `uint256(keccak256(abi.encode(chainId, marketplace, projectId, round, paramsHash)))`. */
  readonly keccak: bigint;
}

/** Everything a round produces. */
export interface RoundResult {
  readonly ctx: bigint;
  readonly chunks: number;
  readonly prevModelCommitment: bigint;
  readonly newModelCommitment: bigint;
  /** The new global model (`D` values). */
  readonly newModel: bigint[];
  readonly commitments: bigint[];
  readonly krum: KrumResult;
  readonly outcome: bigint[];
  readonly chunkWitnesses: ChunkWitness[];
  readonly finalState: AccumulatorState;
  readonly decision: DecisionWitness;
}

/** Runs the reference computation of a round. */
export function simulateRound(input: RoundInput): RoundResult {
  const { config, prevModel, f } = input;
  validateConfig(config);
  const { kMax, chunk } = config;
  if (input.slots.length > kMax) throw new RangeError(`more than ${kMax} slots`);
  const slots: RoundSlot[] = [...input.slots];
  while (slots.length < kMax) slots.push({ commitment: 0n });

  const d = prevModel.length;
  const paddedModel = padToChunks(prevModel, chunk);
  const zeros = new Array<bigint>(paddedModel.length).fill(0n);
  const commitments = slots.map((s) => s.commitment);
  const salts = slots.map((s) => s.salt ?? 0n);
  const vectors = slots.map((s, k) => {
    if (s.commitment === 0n || s.excluded === true) return zeros;
    if (s.update === undefined || s.salt === undefined) {
      throw new RangeError(`slot ${k} is neither empty nor excluded but has no opening`);
    }
    if (s.update.length !== d) throw new RangeError(`update of slot ${k} has length ${s.update.length} != ${d}`);
    if (commitUpdate(s.update, s.salt, chunk, config.updateBits) !== s.commitment) {
      throw new RangeError(`slot ${k} does not open its commitment`);
    }
    return padToChunks(s.update, chunk);
  });

  const gram = gramMatrix(vectors);
  const krum = multiKrum({ commitments, excluded: slots.map((s) => s.excluded === true), gram, f });

  const modelChunks = splitChunks(paddedModel, chunk);
  const updateChunks = vectors.map((v) => splitChunks(v, chunk));
  let state = initialState(kMax, maskOf(krum.inliers));
  const chunkWitnesses: ChunkWitness[] = [];
  const newModel: bigint[] = [];
  modelChunks.forEach((modelChunk, j) => {
    const w = buildChunkInput(
      config,
      state,
      updateChunks.map((u) => u[j] as bigint[]),
      modelChunk,
    );
    chunkWitnesses.push(w);
    newModel.push(...w.newModelChunk);
    state = w.next;
  });
  const upper = gramToUpper(gram);
  if (state.gram.some((g, i) => g !== upper[i])) throw new Error("internal: Gram mismatch");

  const ctx = computeCtx(input.keccak, f);
  const prevModelCommitment = modelCommitment(paddedModel, chunk, config.modelBits);
  const newModelCommitment = modelCommitment(newModel, chunk, config.modelBits);
  if (prevModelCommitment !== state.prevModelChain || newModelCommitment !== state.newModelChain) {
    throw new Error("internal: model chain mismatch");
  }
  const outcome = packOutcome(krum.status, krum.scores, kMax);
  const decision = buildDecisionInput(
    config,
    { ctx, prevModel: prevModelCommitment, newModel: newModelCommitment, commitments, outcome },
    state,
    salts,
    krum,
  );
  return {
    ctx,
    chunks: modelChunks.length,
    prevModelCommitment,
    newModelCommitment,
    newModel: newModel.slice(0, d),
    commitments,
    krum,
    outcome,
    chunkWitnesses,
    finalState: state,
    decision,
  };
}
