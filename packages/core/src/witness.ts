/**
 * Input objects for the circuits' witness generators (`snarkjs.wtns.calculate`).
 * Signal names and shapes match `circuits/chunk.circom` and `circuits/decision.circom`.
 */
import { gramSize, outcomeWords, packedLength, validateConfig, type CircuitConfig } from "./config.ts";
import { accumulatorValue, chunkStep, hashState, type AccumulatorState, type SlotChunk } from "./accumulator.ts";
import { sealedCommitment, type CurvePoint } from "./cipher.ts";
import { toField } from "./field.ts";
import { CONSENSUS_PARAMS, consensusHints, type ConsensusResult } from "./consensus.ts";
import { malformedSelector } from "./malformed.ts";
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
    decoded: state.decoded,
    keysHash: state.keysHash,
    size: state.size,
    malformed: state.malformed,
    prevModelChain: state.prevModelChain,
    newModelChain: state.newModelChain,
    referenceChain: state.referenceChain,
    referenceNorm: state.referenceNorm,
    deltaNorm: state.deltaNorm,
    deltaReference: toField(state.deltaReference),
    trainerChains: [...state.trainerChains],
    gram: state.gram.map(toField),
    alignment: state.alignment.map(toField),
    deltaAlignment: state.deltaAlignment.map(toField),
  };
}

/** Chunk-proof input plus the state it produces. */
export interface ChunkWitness {
  /** Public inputs `[accIn, accOut]`. */
  readonly publicSignals: readonly [bigint, bigint];
  readonly input: CircuitInput;
  readonly next: AccumulatorState;
  readonly newModelChunk: bigint[];
  /** The chunk of the round's step `q`, committed with the new model. */
  readonly stepChunk: bigint[];
  /** The decoded update chunks (zeros for slots that are not decoded). */
  readonly updateChunks: bigint[][];
}

/**
 * Input of the chunk circuit for one step.
 * `slots[k]`: slot `k`'s ciphertext chunk and shared key; `prevModelChunk`: the model's chunk;
 * `referenceChunk`: the reference's packed chunk; `prevStepChunk`: the chunk of the step committed
 * with the model, the last global delta (omitted: zeros; accumulator.ts `chunkStep`).
 */
export function buildChunkInput(
  config: CircuitConfig,
  state: AccumulatorState,
  slots: readonly SlotChunk[],
  prevModelChunk: readonly bigint[],
  referenceChunk: readonly bigint[],
  prevStepChunk: readonly bigint[] = new Array<bigint>(config.chunk).fill(0n),
): ChunkWitness {
  validateConfig(config);
  const np = packedLength(config.chunk, config.updateBits);
  if (slots.some((s) => s.cipher.length !== np)) throw new RangeError(`every ciphertext chunk has ${np} elements`);
  const { next, newModelChunk, stepChunk, updateChunks, claims } = chunkStep(
    config,
    state,
    slots,
    prevModelChunk,
    referenceChunk,
    prevStepChunk,
  );
  const accIn = accumulatorValue(state);
  const accOut = hashState(next);
  const prevModel = pack(prevModelChunk, config.modelBits);
  if (prevModel.length !== packedLength(config.chunk, config.modelBits)) {
    throw new RangeError("packing produced the wrong number of elements");
  }
  return {
    publicSignals: [accIn, accOut],
    input: {
      accIn,
      accOut,
      ...stateSignals(state),
      ciphers: slots.map((s) => [...s.cipher]),
      keys: slots.map((s) => [s.key[0], s.key[1]]),
      prevModel,
      prevStep: pack(prevStepChunk, config.updateBits),
      reference: [...referenceChunk],
      malformedSelect: claims.map((c) => malformedSelector(c, np)),
    },
    next,
    newModelChunk,
    stepChunk,
    updateChunks,
  };
}

/** Everything the decision input needs besides the final state and the rule's decision. */
export interface DecisionPublic {
  readonly ctx: bigint;
  readonly prevModel: bigint;
  readonly newModel: bigint;
  /** The aggregator's registered seal key `A` (cipher.ts). */
  readonly sealKey: CurvePoint;
  /** The owner's reference commitment when the reference counts (reference.ts), else `0n`: what the contract passes. */
  readonly reference: bigint;
  readonly commitments: readonly bigint[];
  readonly outcome: readonly bigint[];
}

/** Decision-proof input: public signals in the interface order plus the private witness. */
export interface DecisionWitness {
  /** `[ctx, prevModel, newModel, accFinal, A.x, A.y, reference, c[0..K_MAX), outcome[0..W)]`. */
  readonly publicSignals: readonly bigint[];
  readonly input: CircuitInput;
}

/** The aggregator's private openings of a round. */
export interface DecisionOpenings {
  /** The aggregator's secret scalar `a` (`A = a * Base8`). */
  readonly secret: bigint;
  /**
   * Every slot's committed ephemeral key `E[k]` (anything for empty slots). There is no "not
   * available" opening: a slot flagged on chain and not answered in time has public commitment 0.
   */
  readonly ephemerals: readonly CurvePoint[];
  /** The reference's salt (anything when `reference` is 0): `reference = Poseidon(referenceChain, salt, 0)`. */
  readonly referenceSalt: bigint;
}

/** Input of the decision circuit. */
export function buildDecisionInput(
  config: CircuitConfig,
  pub: DecisionPublic,
  finalState: AccumulatorState,
  openings: DecisionOpenings,
  rule: ConsensusResult,
): DecisionWitness {
  validateConfig(config);
  const k = config.kMax;
  if (pub.commitments.length !== k || openings.ephemerals.length !== k) throw new RangeError("slot count mismatch");
  if (pub.outcome.length !== outcomeWords(k)) throw new RangeError("wrong number of outcome words");
  if (finalState.gram.length !== gramSize(k)) throw new RangeError("state has the wrong K_MAX");
  if (pub.reference !== 0n && sealedCommitment(finalState.referenceChain, [openings.referenceSalt, 0n]) !== pub.reference) {
    throw new RangeError("the chunk proofs' reference chain and the salt do not open the reference commitment");
  }
  const accFinal = hashState(finalState);
  const input: CircuitInput = {
    ctx: pub.ctx,
    prevModel: pub.prevModel,
    newModel: pub.newModel,
    accFinal,
    sealKey: [pub.sealKey[0], pub.sealKey[1]],
    reference: pub.reference,
    commitments: [...pub.commitments],
    outcome: [...pub.outcome],
    ...stateSignals(finalState),
    secret: openings.secret,
    ephemeral: openings.ephemerals.map((e) => [e[0], e[1]]),
    referenceSalt: openings.referenceSalt,
    ...consensusHints(rule, CONSENSUS_PARAMS.clipBits),
  };
  return {
    publicSignals: [
      pub.ctx,
      pub.prevModel,
      pub.newModel,
      accFinal,
      pub.sealKey[0],
      pub.sealKey[1],
      pub.reference,
      ...pub.commitments,
      ...pub.outcome,
    ],
    input,
  };
}
