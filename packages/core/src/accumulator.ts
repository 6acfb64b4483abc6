/**
 * The chunk accumulator: the state a chunk proof advances by one chunk, and its hash.
 *
 * State field order (this order is hashed, and the circuits use it; `L = 12 + 3K + K(K+1)/2`):
 *
 * | index | field | meaning |
 * | --- | --- | --- |
 * | 0 | `counter` | chunks absorbed so far |
 * | 1 | `mask` | aggregation mask `sum_k inlier_k * 2^k` (fixed for the round) |
 * | 2 | `decoded` | decoded mask `sum_k decoded_k * 2^k`: slots whose plaintext is used (fixed for the round) |
 * | 3 | `keysHash` | `hashMany(S[0].x, S[0].y, ..)` of the slots' shared keys (fixed for the round; cipher.ts) |
 * | 4 | `size` | the model size `D` (parameters before padding; fixed for the round, checked against `ctx`) |
 * | 5 | `malformed` | proven-malformed mask: bit `k` set once a chunk proof showed a plaintext element of slot `k` out of range (malformed.ts) |
 * | 6 | `prevModelChain` | chain `m` of the previous model `g` and its step `Delta` over the absorbed chunks (commit.ts `modelCommitment`) |
 * | 7 | `newModelChain` | chain `m'` of the new model `g'` and its step `q` over the absorbed chunks |
 * | 8 | `referenceChain` | chain `x` of the owner's reference `v` over the absorbed chunks (reference.ts) |
 * | 9 | `referenceNorm` | running `|v|^2` over the model's parameters (the padding excluded) |
 * | 10 | `deltaNorm` | running `|Delta|^2` over the model's parameters: `Delta` is the last global delta, the step committed with `g` |
 * | 11 | `deltaReference` | running `<Delta, v>` over the model's parameters |
 * | 12 .. 12+K | `trainerChains[k]` | trainer chains `x[k]` over the slots' *ciphertext* chunks |
 * | 12+K .. L-2K | `gram[idx(i,j)]` | running Gram matrix, `i <= j`, row-major; signed integers mapped into the field |
 * | L-2K .. L-K | `alignment[k]` | running `<u_k, v>`: slot `k`'s alignment with the reference; signed, mapped into the field |
 * | L-K .. L | `deltaAlignment[k]` | running `<u_k, Delta>`: how much slot `k` follows the last global delta; signed, mapped into the field |
 *
 * `hashState(s) = hashMany(fields(s))` (see poseidon.ts). The accumulator value a proof exposes
 * is `0` for the canonical initial state (counter 0, all zero but the four round constants
 * `mask`, `decoded`, `keysHash`, `size`) and `hashState(s)` otherwise.
 *
 * Why `size`: a chunk uses only its first `min(CHUNK, D - counter * CHUNK)` values; the rest is
 * the zero padding of the last chunk, and whatever a trainer put there counts as zero (in the Gram
 * matrix and the sum), so padding cannot raise a score.
 *
 * Why `referenceChain`, `referenceNorm` and `alignment`: the owner's reference `v` (reference.ts) is
 * unpacked chunk by chunk next to the updates, so the proof gets every `<u_k, v>` for one product per
 * slot and parameter, and `|v|^2` (the owner's margin test compares `cos(u_k, v)` squared) for two
 * per parameter. The decision proof opens the chain against the reference commitment the contract
 * passes; when the contract passes 0 (no reference, or one withheld or left flagged) the chain and
 * the alignments are whatever the aggregator used (zeros, by convention) and the rule ignores them.
 *
 * Why `deltaNorm`, `deltaReference` and `deltaAlignment`: a replay of the last global delta `Delta`
 * (plus noise) lowers the owner's validation loss about as much as an honest update does, so a pay
 * aligned with `v` pays it (issue 12, docs/SCORING.md "Third round": the delta cap). `Delta` is the
 * step the previous round proved, committed with the model it produced (commit.ts), so each chunk
 * unpacks it next to the model at `B` bits and the proof gets every `<u_k, Delta>`, `|Delta|^2` and
 * `<Delta, v>` for one product per slot and parameter and three per parameter.
 *
 * Why `malformed`: a slot with a shared key may be left undecoded only if some chunk proof shows
 * one of its plaintext elements out of range (the decision proof checks `decoded_k = keyed_k and
 * not malformed_k`), so "not decoded" is no longer the aggregator's word.
 */
import { gramIndex, gramSize, packedLength, stateLength, type CircuitConfig } from "./config.ts";
import { chainStep, modelChunkHash } from "./commit.ts";
import { decryptChunk, type CurvePoint } from "./cipher.ts";
import { floorDiv, fromFieldSigned, toField, assertSignedBits } from "./field.ts";
import { innerProduct } from "./gram.ts";
import { flagsOf, popcount } from "./screen.ts";
import { pack, unpack, unpackLow } from "./pack.ts";
import { findMalformed } from "./malformed.ts";
import { hashMany, hashNarrow } from "./poseidon.ts";

/** One accumulator state (Gram entries as signed integers). */
export interface AccumulatorState {
  readonly counter: bigint;
  readonly mask: bigint;
  readonly decoded: bigint;
  readonly keysHash: bigint;
  readonly size: bigint;
  readonly malformed: bigint;
  readonly prevModelChain: bigint;
  readonly newModelChain: bigint;
  readonly referenceChain: bigint;
  /** `|v|^2` over the absorbed chunks' model parameters. */
  readonly referenceNorm: bigint;
  readonly trainerChains: readonly bigint[];
  readonly gram: readonly bigint[];
  /** `<u_k, v>` over the absorbed chunks, per slot (signed). */
  readonly alignment: readonly bigint[];
  /** `|Delta|^2` over the absorbed chunks' model parameters (`Delta`: the step committed with the previous model). */
  readonly deltaNorm: bigint;
  /** `<Delta, v>` over the absorbed chunks' model parameters (signed). */
  readonly deltaReference: bigint;
  /** `<u_k, Delta>` over the absorbed chunks, per slot (signed). */
  readonly deltaAlignment: readonly bigint[];
}

/** The round constants of the accumulator: fixed by the aggregator before the first chunk, checked by the decision proof. */
export interface RoundConstants {
  /** Aggregation mask (the kept clusters' representatives). */
  readonly mask: bigint;
  /** Decoded mask (slots whose plaintext is used; a superset of the mask). */
  readonly decoded: bigint;
  /** `keysHash(keys)` of the slots' shared keys. */
  readonly keysHash: bigint;
  /** The model size `D` (parameters before padding). */
  readonly size: bigint;
}

/** `hashMany` of the shared keys' coordinates in slot order (the zero point for slots without a key). */
export function keysHash(keys: readonly CurvePoint[]): bigint {
  return hashMany(keys.flatMap((k) => [k[0], k[1]]));
}

/** The canonical initial state for `kMax` slots and the round's constants. */
export function initialState(kMax: number, constants: RoundConstants): AccumulatorState {
  const { mask, decoded, keysHash: kh, size } = constants;
  if (size < 1n || size >= 1n << 32n) throw new RangeError(`model size ${size} must be in [1, 2^32)`);
  for (const [name, m] of [
    ["mask", mask],
    ["decoded mask", decoded],
  ] as const)
    if (m < 0n || m >= 1n << BigInt(kMax)) throw new RangeError(`${name} ${m} has bits above K_MAX`);
  if ((mask & ~decoded) !== 0n) throw new RangeError("an aggregated slot is not decoded");
  return {
    counter: 0n,
    mask,
    decoded,
    keysHash: kh,
    size,
    malformed: 0n,
    prevModelChain: 0n,
    newModelChain: 0n,
    referenceChain: 0n,
    referenceNorm: 0n,
    trainerChains: new Array<bigint>(kMax).fill(0n),
    gram: new Array<bigint>(gramSize(kMax)).fill(0n),
    alignment: new Array<bigint>(kMax).fill(0n),
    deltaNorm: 0n,
    deltaReference: 0n,
    deltaAlignment: new Array<bigint>(kMax).fill(0n),
  };
}

/** The state as field elements in the documented order. */
export function stateFields(state: AccumulatorState): bigint[] {
  const fields = [
    state.counter,
    state.mask,
    state.decoded,
    state.keysHash,
    state.size,
    state.malformed,
    state.prevModelChain,
    state.newModelChain,
    state.referenceChain,
    state.referenceNorm,
    state.deltaNorm,
    toField(state.deltaReference),
    ...state.trainerChains,
    ...state.gram.map(toField),
    ...state.alignment.map(toField),
    ...state.deltaAlignment.map(toField),
  ];
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
    decoded: f(2),
    keysHash: f(3),
    size: f(4),
    malformed: f(5),
    prevModelChain: f(6),
    newModelChain: f(7),
    referenceChain: f(8),
    referenceNorm: f(9),
    deltaNorm: f(10),
    deltaReference: fromFieldSigned(f(11)),
    trainerChains: fields.slice(12, 12 + kMax),
    gram: fields.slice(12 + kMax, 12 + kMax + gramSize(kMax)).map(fromFieldSigned),
    alignment: fields.slice(12 + kMax + gramSize(kMax), 12 + 2 * kMax + gramSize(kMax)).map(fromFieldSigned),
    deltaAlignment: fields.slice(12 + 2 * kMax + gramSize(kMax)).map(fromFieldSigned),
  };
}

/** Poseidon hash of the state. */
export function hashState(state: AccumulatorState): bigint {
  return hashMany(stateFields(state));
}

/** True for the canonical initial state (any round constants). */
export function isInitialState(state: AccumulatorState): boolean {
  return (
    state.counter === 0n &&
    state.malformed === 0n &&
    state.prevModelChain === 0n &&
    state.newModelChain === 0n &&
    state.referenceChain === 0n &&
    state.referenceNorm === 0n &&
    state.deltaNorm === 0n &&
    state.deltaReference === 0n &&
    state.trainerChains.every((t) => t === 0n) &&
    state.gram.every((g) => g === 0n) &&
    state.alignment.every((a) => a === 0n) &&
    state.deltaAlignment.every((a) => a === 0n)
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
  /** The chunk of the round's step `q = g' - g` (`floor(S / n)`; zeros when nobody is aggregated), committed with `g'`. */
  readonly stepChunk: bigint[];
  /**
   * Each slot's malformation claim in this chunk: the index of a plaintext element out of range
   * (the first one), or `null`. Made for every keyed slot that is not decoded and has one here.
   */
  readonly claims: (number | null)[];
}

/** One slot's chunk as a chunk proof sees it. */
export interface SlotChunk {
  /** The committed ciphertext elements (`packedLength(CHUNK, B)`; zeros for empty slots, unavailable ones included). */
  readonly cipher: readonly bigint[];
  /** The shared key the chunk decrypts with (the zero point for slots without one). */
  readonly key: CurvePoint;
}

/**
 * The reference chunk the chunk proofs use when no reference counts: the packed zero vector. Any
 * packed chunk would do (the decision proof ignores the chain and the alignments then); zeros make
 * the alignments zero, so a reader of the state sees nothing that looks like a reference.
 */
export function noReferenceChunk(config: CircuitConfig): bigint[] {
  return pack(new Array<bigint>(config.chunk).fill(0n), config.updateBits);
}

/**
 * Absorbs one chunk: hashes every slot's ciphertext chunk into its chain, decrypts and unpacks the
 * decoded slots (zeros for the others), claims the keyed slots that are not decoded malformed
 * where one of their plaintext elements here is out of range, grows the Gram matrix and the
 * alignments with the reference chunk (`referenceChunk`: `v`'s packed chunk, reference.ts
 * `referenceChunks`, or `noReferenceChunk`), aggregates the chunk of the model and extends the
 * model and reference chains. `prevStepChunk` is the chunk of the step committed with the previous
 * model (the last global delta `Delta`; omitted: zeros, an initial model's); the chunk grows
 * `<u_k, Delta>`, `|Delta|^2` and `<Delta, v>` with it. Throws when a decoded slot's plaintext does
 * not unpack.
 */
export function chunkStep(
  config: CircuitConfig,
  state: AccumulatorState,
  slots: readonly SlotChunk[],
  prevModelChunk: readonly bigint[],
  referenceChunk: readonly bigint[],
  prevStepChunk: readonly bigint[] = new Array<bigint>(config.chunk).fill(0n),
): ChunkStepResult & { readonly updateChunks: bigint[][] } {
  const { kMax, chunk, updateBits, modelBits } = config;
  if (slots.length !== kMax) throw new RangeError(`need ${kMax} slot chunks`);
  if (prevModelChunk.length !== chunk) throw new RangeError("model chunk has the wrong length");
  if (prevStepChunk.length !== chunk) throw new RangeError("step chunk has the wrong length");
  prevStepChunk.forEach((v) => assertSignedBits(v, updateBits, "step value"));
  if (referenceChunk.length !== packedLength(chunk, updateBits)) throw new RangeError("reference chunk has the wrong length");
  prevModelChunk.forEach((v) => assertSignedBits(v, modelBits, "model value"));
  if (state.counter >= 1n << 32n) throw new RangeError("chunk counter out of range");
  const used = state.size - state.counter * BigInt(chunk);
  if (used < 1n) throw new RangeError(`chunk ${state.counter} is beyond the model size ${state.size}`);
  const valid = used < BigInt(chunk) ? Number(used) : chunk;
  const decoded = flagsOf(state.decoded, kMax);
  // Values past the model size (the last chunk's padding) are unpacked and range-checked like the
  // others but used as zeros.
  const updateChunks = slots.map((s, k) => {
    if (!decoded[k]) return new Array<bigint>(chunk).fill(0n);
    return unpack(decryptChunk(s.cipher, s.key, Number(state.counter)), updateBits, chunk).map((v, x) => (x < valid ? v : 0n));
  });
  // A slot without a key (the zero point) cannot be decoded anyway; a claim would mean nothing.
  const claims = slots.map((s, k): number | null =>
    decoded[k] || (s.key[0] === 0n && s.key[1] === 0n)
      ? null
      : findMalformed(decryptChunk(s.cipher, s.key, Number(state.counter)), chunk, updateBits),
  );
  const malformed = claims.reduce((m, c, k) => (c === null ? m : m | (1n << BigInt(k))), state.malformed);

  const flags = flagsOf(state.mask, kMax);
  const n = BigInt(popcount(state.mask));
  const stepChunk = prevModelChunk.map((_, x) => {
    let s = 0n;
    updateChunks.forEach((u, k) => {
      if (flags[k]) s += u[x] as bigint;
    });
    return n === 0n ? 0n : floorDiv(s, n);
  });
  const newModelChunk = prevModelChunk.map((g, x) => {
    const next = g + (stepChunk[x] as bigint);
    assertSignedBits(next, modelBits, `new model value`);
    return next;
  });

  // v's padding values (past the model size) meet zeros in every update, as the Gram matrix's do.
  // The low bits of each element, whatever it holds (pack.ts `unpackLow`: an answered reference
  // only has to open its commitment, and must not make the round unprovable).
  const reference = unpackLow(referenceChunk, updateBits, chunk);
  const alignment = state.alignment.map((a, k) => a + innerProduct(updateChunks[k] as readonly bigint[], reference));
  // Only the model's parameters: the padding of v is the owner's to fill and must not move |v|^2.
  const inModel = reference.map((v, x) => (x < valid ? v : 0n));
  const referenceNorm = state.referenceNorm + innerProduct(inModel, inModel);
  // Delta's padding is whatever the previous model's commitment holds (zeros from every proof, but an
  // owner's initial commitment is the owner's to fill): only the model's parameters count.
  const delta = prevStepChunk.map((d, x) => (x < valid ? d : 0n));
  const deltaAlignment = state.deltaAlignment.map((a, k) => a + innerProduct(updateChunks[k] as readonly bigint[], delta));
  const gram = [...state.gram];
  for (let i = 0; i < kMax; i++) {
    for (let j = i; j < kMax; j++) {
      const idx = gramIndex(i, j, kMax);
      gram[idx] = (gram[idx] as bigint) + innerProduct(updateChunks[i] as readonly bigint[], updateChunks[j] as readonly bigint[]);
    }
  }
  const next: AccumulatorState = {
    ...state,
    counter: state.counter + 1n,
    malformed,
    prevModelChain: chainStep(state.prevModelChain, modelChunkHash(prevModelChunk, prevStepChunk, config)),
    newModelChain: chainStep(state.newModelChain, modelChunkHash(newModelChunk, stepChunk, config)),
    referenceChain: chainStep(state.referenceChain, hashNarrow(referenceChunk)),
    referenceNorm,
    trainerChains: state.trainerChains.map((t, k) => chainStep(t, hashNarrow(slots[k]!.cipher))),
    gram,
    alignment,
    deltaNorm: state.deltaNorm + innerProduct(delta, delta),
    deltaReference: state.deltaReference + innerProduct(delta, inModel),
    deltaAlignment,
  };
  return { next, newModelChunk, stepChunk, updateChunks, claims };
}
