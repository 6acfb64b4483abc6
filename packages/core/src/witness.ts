/**
 * Input objects for the circuits' witness generators (`snarkjs.wtns.calculate`).
 * Signal names and shapes match `circuits/chunk.circom` and `circuits/decision.circom`.
 */
import { gramSize, outcomeWords, packedLength, validateConfig, type CircuitConfig } from "./config.ts";
import { accumulatorValue, chunkStep, hashState, type AccumulatorState } from "./accumulator.ts";
import { toField } from "./field.ts";
import type { KrumResult } from "./krum.ts";
import { pack } from "./pack.ts";

/** A signal value: a field element or a (nested) array of them. */
export type SignalValue = bigint | readonly SignalValue[];

/** A witness-generator input: signal name -> value. */
export type CircuitInput = Record<string, SignalValue>;

/** The accumulator state as named circuit inputs (shared by both circuits). */
function stateSignals(state: AccumulatorState): CircuitInput {
  return {
    counter: state.counter,
    mask: state.mask,
    prevModelChain: state.prevModelChain,
    newModelChain: state.newModelChain,
    trainerChains: [...state.trainerChains],
    gram: state.gram.map(toField),
  };
}

/** Chunk-proof input plus the state it produces. */
export interface ChunkWitness {
  /** Public inputs `[accIn, accOut]`. */
  readonly publicSignals: readonly [bigint, bigint];
  readonly input: CircuitInput;
  readonly next: AccumulatorState;
  readonly newModelChunk: bigint[];
}

/**
 * Input of the chunk circuit for one step.
 * `updateChunks[k]`: slot `k`'s chunk (`CHUNK` signed values); `prevModelChunk`: the model's.
 */
export function buildChunkInput(
  config: CircuitConfig,
  state: AccumulatorState,
  updateChunks: readonly (readonly bigint[])[],
  prevModelChunk: readonly bigint[],
): ChunkWitness {
  validateConfig(config);
  const { next, newModelChunk } = chunkStep(config, state, updateChunks, prevModelChunk);
  const accIn = accumulatorValue(state);
  const accOut = hashState(next);
  const updates = updateChunks.map((u) => pack(u, config.updateBits));
  const prevModel = pack(prevModelChunk, config.modelBits);
  if (
    updates.some((u) => u.length !== packedLength(config.chunk, config.updateBits)) ||
    prevModel.length !== packedLength(config.chunk, config.modelBits)
  ) {
    throw new RangeError("packing produced the wrong number of elements");
  }
  return {
    publicSignals: [accIn, accOut],
    input: { accIn, accOut, ...stateSignals(state), updates, prevModel },
    next,
    newModelChunk,
  };
}

/** Everything the decision input needs besides the final state and the Krum result. */
export interface DecisionPublic {
  readonly ctx: bigint;
  readonly prevModel: bigint;
  readonly newModel: bigint;
  readonly commitments: readonly bigint[];
  readonly outcome: readonly bigint[];
}

/** Decision-proof input: public signals in the interface order plus the private witness. */
export interface DecisionWitness {
  /** `[ctx, prevModel, newModel, accFinal, c[0..K_MAX), outcome[0..W)]`. */
  readonly publicSignals: readonly bigint[];
  readonly input: CircuitInput;
}

/** Input of the decision circuit. `salts[k]` may be anything for empty/excluded slots. */
export function buildDecisionInput(
  config: CircuitConfig,
  pub: DecisionPublic,
  finalState: AccumulatorState,
  salts: readonly bigint[],
  krum: KrumResult,
): DecisionWitness {
  validateConfig(config);
  const k = config.kMax;
  if (pub.commitments.length !== k || salts.length !== k) throw new RangeError("slot count mismatch");
  if (pub.outcome.length !== outcomeWords(k)) throw new RangeError("wrong number of outcome words");
  if (finalState.gram.length !== gramSize(k)) throw new RangeError("state has the wrong K_MAX");
  const accFinal = hashState(finalState);
  const bit = (b: boolean): bigint => (b ? 1n : 0n);
  const input: CircuitInput = {
    ctx: pub.ctx,
    prevModel: pub.prevModel,
    newModel: pub.newModel,
    accFinal,
    commitments: [...pub.commitments],
    outcome: [...pub.outcome],
    ...stateSignals(finalState),
    salt: [...salts],
    excluded: krum.excluded.map(bit),
    selected: krum.selected.map((row) => row.map(bit)),
    tau: [...krum.tau],
    keyThreshold: krum.keyThreshold,
  };
  return {
    publicSignals: [pub.ctx, pub.prevModel, pub.newModel, accFinal, ...pub.commitments, ...pub.outcome],
    input,
  };
}
