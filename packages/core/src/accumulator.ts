/**
 * The chunk accumulator: the state a chunk proof advances by one chunk, and its hash.
 *
 * State field order (this order is hashed, and the circuits use it; `L = 4 + K + K(K+1)/2`):
 *
 * | index | field | meaning |
 * | --- | --- | --- |
 * | 0 | `counter` | chunks absorbed so far |
 * | 1 | `mask` | aggregation mask `sum_k inlier_k * 2^k` (fixed for the round) |
 * | 2 | `prevModelChain` | chain `m` of the previous model `g` over the absorbed chunks |
 * | 3 | `newModelChain` | chain `m'` of the new model `g'` over the absorbed chunks |
 * | 4 .. 4+K | `trainerChains[k]` | trainer chains `t[k]` |
 * | 4+K .. L | `gram[idx(i,j)]` | running Gram matrix, `i <= j`, row-major; signed integers mapped into the field |
 *
 * `hashState(s) = hashMany(fields(s))` (see poseidon.ts). The accumulator value a proof exposes
 * is `0` for the canonical initial state (counter 0, all zero but the mask) and
 * `hashState(s)` otherwise.
 */
import { gramIndex, gramSize, stateLength, type CircuitConfig } from "./config.ts";
import { chainStep, chunkHash } from "./commit.ts";
import { floorDiv, fromFieldSigned, toField, assertSignedBits } from "./field.ts";
import { innerProduct } from "./gram.ts";
import { flagsOf, popcount } from "./krum.ts";
import { hashMany } from "./poseidon.ts";

/** One accumulator state (Gram entries as signed integers). */
export interface AccumulatorState {
  readonly counter: bigint;
  readonly mask: bigint;
  readonly prevModelChain: bigint;
  readonly newModelChain: bigint;
  readonly trainerChains: readonly bigint[];
  readonly gram: readonly bigint[];
}

/** The canonical initial state for `kMax` slots and an aggregation mask. */
export function initialState(kMax: number, mask: bigint): AccumulatorState {
  if (mask < 0n || mask >= 1n << BigInt(kMax)) throw new RangeError(`mask ${mask} has bits above K_MAX`);
  return {
    counter: 0n,
    mask,
    prevModelChain: 0n,
    newModelChain: 0n,
    trainerChains: new Array<bigint>(kMax).fill(0n),
    gram: new Array<bigint>(gramSize(kMax)).fill(0n),
  };
}

/** The state as field elements in the documented order. */
export function stateFields(state: AccumulatorState): bigint[] {
  const fields = [state.counter, state.mask, state.prevModelChain, state.newModelChain, ...state.trainerChains, ...state.gram.map(toField)];
  if (fields.length !== stateLength(state.trainerChains.length)) {
    throw new RangeError("malformed accumulator state");
  }
  return fields;
}

/** Inverse of `stateFields`. */
export function stateFromFields(fields: readonly bigint[], kMax: number): AccumulatorState {
  if (fields.length !== stateLength(kMax)) throw new RangeError("wrong accumulator state length");
  const f = (i: number): bigint => fields[i] as bigint;
  return {
    counter: f(0),
    mask: f(1),
    prevModelChain: f(2),
    newModelChain: f(3),
    trainerChains: fields.slice(4, 4 + kMax),
    gram: fields.slice(4 + kMax).map(fromFieldSigned),
  };
}

/** Poseidon hash of the state. */
export function hashState(state: AccumulatorState): bigint {
  return hashMany(stateFields(state));
}

/** True for the canonical initial state (any mask). */
export function isInitialState(state: AccumulatorState): boolean {
  return (
    state.counter === 0n &&
    state.prevModelChain === 0n &&
    state.newModelChain === 0n &&
    state.trainerChains.every((t) => t === 0n) &&
    state.gram.every((g) => g === 0n)
  );
}

/** The public accumulator value of a state: `0` for the initial state, else its hash. */
export function accumulatorValue(state: AccumulatorState): bigint {
  return isInitialState(state) ? 0n : hashState(state);
}

/** Result of absorbing one chunk. */
export interface ChunkStepResult {
  readonly next: AccumulatorState;
  /** The chunk of the new model `g'`. */
  readonly newModelChunk: bigint[];
}

/**
 * Absorbs one chunk: hashes every slot's update chunk into its chain, grows the Gram matrix,
 * aggregates the chunk of the model and extends both model chains.
 * `updateChunks[k]` is slot `k`'s chunk (zeros for slots whose update is not used).
 */
export function chunkStep(
  config: CircuitConfig,
  state: AccumulatorState,
  updateChunks: readonly (readonly bigint[])[],
  prevModelChunk: readonly bigint[],
): ChunkStepResult {
  const { kMax, chunk, updateBits, modelBits } = config;
  if (updateChunks.length !== kMax) throw new RangeError(`need ${kMax} update chunks`);
  for (const u of updateChunks) {
    if (u.length !== chunk) throw new RangeError(`update chunk length ${u.length} != ${chunk}`);
    u.forEach((v) => assertSignedBits(v, updateBits, "update value"));
  }
  if (prevModelChunk.length !== chunk) throw new RangeError("model chunk has the wrong length");
  prevModelChunk.forEach((v) => assertSignedBits(v, modelBits, "model value"));

  const flags = flagsOf(state.mask, kMax);
  const n = BigInt(popcount(state.mask));
  const newModelChunk = prevModelChunk.map((g, x) => {
    let s = 0n;
    updateChunks.forEach((u, k) => {
      if (flags[k]) s += u[x] as bigint;
    });
    const next = n === 0n ? g : g + floorDiv(s, n);
    assertSignedBits(next, modelBits, `new model value`);
    return next;
  });

  const gram = [...state.gram];
  for (let i = 0; i < kMax; i++) {
    for (let j = i; j < kMax; j++) {
      const idx = gramIndex(i, j, kMax);
      gram[idx] = (gram[idx] as bigint) + innerProduct(updateChunks[i] as readonly bigint[], updateChunks[j] as readonly bigint[]);
    }
  }
  const next: AccumulatorState = {
    counter: state.counter + 1n,
    mask: state.mask,
    prevModelChain: chainStep(state.prevModelChain, chunkHash(prevModelChunk, modelBits)),
    newModelChain: chainStep(state.newModelChain, chunkHash(newModelChunk, modelBits)),
    trainerChains: state.trainerChains.map((t, k) => chainStep(t, chunkHash(updateChunks[k] as readonly bigint[], updateBits))),
    gram,
  };
  return { next, newModelChunk };
}
