/**
 * A complete round as the aggregator computes it: commitments checked, the consensus rule decided,
 * every chunk step and the decision input built. The single source of truth for tests.
 */
import { initialState, keysHash, noReferenceChunk, type AccumulatorState, type SlotChunk } from "./accumulator.ts";
import {
  cipherChain,
  decryptChunk,
  publicKeyOf,
  randomScalar,
  sealChunks,
  sealedCommitment,
  sharedKey,
  type CurvePoint,
  type SealedUpdate,
} from "./cipher.ts";
import { modelCommitment, padToChunks, splitChunks } from "./commit.ts";
import { packedLength, validateConfig, type CircuitConfig } from "./config.ts";
import { computeCtx } from "./ctx.ts";
import { gramMatrix, gramToUpper, innerProduct } from "./gram.ts";
import { consensusDecision, type ConsensusResult } from "./consensus.ts";
import { maskOf } from "./screen.ts";
import { packOutcome } from "./outcome.ts";
import { pack, unpack } from "./pack.ts";
import { checkReference, referenceChunks, referenceCommitment } from "./reference.ts";
import { buildChunkInput, buildDecisionInput, type ChunkWitness, type DecisionWitness } from "./witness.ts";

/** One trainer slot of a round. */
export interface RoundSlot {
  /** The commitment revealed on chain (`0n`: empty slot). */
  readonly commitment: bigint;
  /** The sealed update the aggregator fetched or read from its publication (required unless the slot is empty or unavailable). */
  readonly sealed?: SealedUpdate;
  /**
   * Flagged on chain and not answered in time (`FedMarket.flagUnavailable`): the decision proof
   * receives commitment 0 for it. The slot is treated exactly as an empty one (`commitment: 0n`):
   * status Empty, no key, zero ciphertext, not counted, not paid; `commitment` and `sealed` are ignored.
   */
  readonly unavailable?: boolean;
}

/** The zero point: the key of slots that have none (empty, off-curve ephemeral key). */
const NO_KEY: CurvePoint = [0n, 0n];

/** Seals `update` (D signed values) for the aggregator's key and commits to it (what a trainer submits). */
export function sealedSlot(
  config: CircuitConfig,
  update: readonly bigint[],
  aggregatorKey: CurvePoint,
  ephemeralSecret: bigint = randomScalar(),
): RoundSlot {
  const packed = splitChunks(padToChunks(update, config.chunk), config.chunk).map((c) => pack(c, config.updateBits));
  const { sealed } = sealChunks(packed, aggregatorKey, ephemeralSecret);
  return { commitment: sealedCommitment(cipherChain(sealed.chunks), sealed.ephemeral), sealed };
}

/** How the reference reads one slot. */
interface OpenedSlot {
  /** The key the chunk proofs decrypt with. */
  readonly key: CurvePoint;
  /** The committed ephemeral key (the decision proof's opening). */
  readonly ephemeral: CurvePoint;
  /** The decoded update, zero-padded to whole chunks (undefined: not decoded). */
  readonly update?: bigint[];
}

/**
 * Opens one slot: checks the commitment, derives the key, decrypts and unpacks every chunk; the
 * values past the model size `size` (padding) are used as zeros, as the chunk proofs use them.
 */
function openSlot(config: CircuitConfig, slot: RoundSlot, k: number, chunks: number, size: number, secret: bigint): OpenedSlot {
  if (slot.commitment === 0n) return { key: NO_KEY, ephemeral: NO_KEY };
  const sealed = slot.sealed;
  if (sealed === undefined) throw new RangeError(`slot ${k} is neither empty nor unavailable but has no sealed update`);
  const np = packedLength(config.chunk, config.updateBits);
  if (sealed.chunks.length !== chunks || sealed.chunks.some((c) => c.length !== np)) {
    throw new RangeError(`slot ${k}: the sealed update needs ${chunks} chunks of ${np} elements (not the committed data)`);
  }
  if (sealedCommitment(cipherChain(sealed.chunks), sealed.ephemeral) !== slot.commitment) {
    throw new RangeError(`slot ${k}: the sealed update does not open the commitment (not the committed data)`);
  }
  const shared = sharedKey(secret, sealed.ephemeral);
  if (!shared.valid) return { key: NO_KEY, ephemeral: sealed.ephemeral };
  try {
    const update = sealed.chunks
      .flatMap((c, j) => unpack(decryptChunk(c, shared.key, j), config.updateBits, config.chunk))
      .map((v, x) => (x < size ? v : 0n));
    return { key: shared.key, ephemeral: sealed.ephemeral, update };
  } catch {
    return { key: shared.key, ephemeral: sealed.ephemeral };
  }
}

/** Everything a round needs. */
export interface RoundInput {
  readonly config: CircuitConfig;
  /** The current global model (`D` quantized values). */
  readonly prevModel: readonly bigint[];
  /**
   * The step committed with the current model (commit.ts `modelCommitment`): the last global delta,
   * `D` values at `B` bits. Omitted: zeros (an initial model, or a round that aggregated nobody).
   */
  readonly prevStep?: readonly bigint[];
  /** Up to `K_MAX` slots; missing trailing slots are empty, and so are `unavailable` ones. */
  readonly slots: readonly RoundSlot[];
  /** Tolerated Byzantine trainers. */
  readonly f: number;
  /** The aggregator's secret scalar (its registered seal key is `publicKeyOf(secret)`). */
  readonly secret: bigint;
  /** `uint256(keccak256(abi.encode(chainId, marketplace, projectId, round, paramsHash)))`. */
  readonly keccak: bigint;
  /**
   * The owner's reference when it counts on chain (committed, published, not left flagged: the
   * contract then passes its commitment to the decision proof). Omitted: the contract passes 0 and
   * the chunk proofs absorb `noReferenceChunk`.
   */
  readonly reference?: RoundReference;
}

/** An opened reference (reference.ts): `D` values at `B` bits and the salt of its commitment. */
export interface RoundReference {
  readonly values: readonly bigint[];
  readonly salt: bigint;
}

/** Everything a round produces. */
export interface RoundResult {
  readonly ctx: bigint;
  readonly chunks: number;
  readonly prevModelCommitment: bigint;
  readonly newModelCommitment: bigint;
  /** The new global model (`D` values). */
  readonly newModel: bigint[];
  /** The round's step `q = newModel - prevModel` (`D` values), committed with the new model. */
  readonly step: bigint[];
  /** The public commitments of the decision proof (0 for empty and unavailable slots, as the contract passes them). */
  readonly commitments: bigint[];
  /** Slots whose plaintext is used: non-empty, a valid key, every chunk unpacks. */
  readonly decoded: boolean[];
  /** The decoded updates (D values; undefined where not decoded). */
  readonly updates: (bigint[] | undefined)[];
  /** The consensus rule's decision (statuses, the aggregation mask, scores) and its hints. */
  readonly rule: ConsensusResult;
  /** The reference commitment the decision proof received (0 without a reference). */
  readonly reference: bigint;
  /** `<u_k, v>` of every slot with the reference (zeros without one; zero for slots not decoded). */
  readonly alignment: bigint[];
  /** `|v|^2` over the model's parameters (0 without a reference). */
  readonly referenceNorm: bigint;
  /** `<u_k, Delta>` of every slot, `Delta` the last global delta (`prevStep`; zero for slots not decoded). */
  readonly deltaAlignment: bigint[];
  /** `|Delta|^2`. */
  readonly deltaNorm: bigint;
  /** `<Delta, v>` (0 without a reference). */
  readonly deltaReference: bigint;
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
  // An unavailable slot (flagged on chain, not answered in time) is an empty slot: commitment 0.
  const slots: RoundSlot[] = input.slots.map((s) => (s.unavailable === true ? { commitment: 0n } : s));
  while (slots.length < kMax) slots.push({ commitment: 0n });

  const d = prevModel.length;
  const paddedModel = padToChunks(prevModel, chunk);
  const chunks = paddedModel.length / chunk;
  const zeros = new Array<bigint>(paddedModel.length).fill(0n);
  const commitments = slots.map((s) => s.commitment);
  const opened = slots.map((s, k) => openSlot(config, s, k, chunks, d, input.secret));
  const decoded = opened.map((o) => o.update !== undefined);
  const vectors = opened.map((o) => o.update ?? zeros);

  const gram = gramMatrix(vectors);
  const ref = input.reference;
  if (ref !== undefined) checkReference(ref.values, d, config);
  const refValues = ref === undefined ? [] : ref.values;
  const alignment = vectors.map((u) => innerProduct(u.slice(0, refValues.length), refValues));
  const referenceNorm = innerProduct(refValues, refValues);
  if (input.prevStep !== undefined && input.prevStep.length !== d)
    throw new RangeError(`prevStep has ${input.prevStep.length} values, the model ${d}`);
  const delta = input.prevStep ?? new Array<bigint>(d).fill(0n);
  const deltaAlignment = vectors.map((u) => innerProduct(u.slice(0, d), delta));
  const deltaNorm = innerProduct(delta, delta);
  const deltaReference = innerProduct(delta.slice(0, refValues.length), refValues);
  // The rule judges by the reference whenever it counts on chain (the decision proof's reference
  // input is then non-zero), by consensus otherwise.
  const rule = consensusDecision({
    commitments,
    excluded: decoded.map((x) => !x),
    gram,
    f,
    ...(ref === undefined
      ? {}
      : {
          reference: { alignment, norm2: referenceNorm, size: d },
        }),
    delta: { alignment: deltaAlignment, norm2: deltaNorm, reference: deltaReference },
  });

  const modelChunks = splitChunks(paddedModel, chunk);
  const stepChunks = splitChunks(padToChunks(delta, chunk), chunk);
  const refChunks = ref === undefined ? undefined : referenceChunks(ref.values, config);
  const noReference = noReferenceChunk(config);
  const noCipher = new Array<bigint>(packedLength(chunk, config.updateBits)).fill(0n);
  let state = initialState(kMax, {
    mask: maskOf(rule.aggregated),
    decoded: maskOf(decoded),
    keysHash: keysHash(opened.map((o) => o.key)),
    size: BigInt(d),
  });
  const chunkWitnesses: ChunkWitness[] = [];
  const newModel: bigint[] = [];
  const step: bigint[] = [];
  modelChunks.forEach((modelChunk, j) => {
    const slotChunks: SlotChunk[] = slots.map((s, k) => ({
      cipher: s.commitment === 0n ? noCipher : (s.sealed?.chunks[j] ?? noCipher),
      key: opened[k]!.key,
    }));
    const w = buildChunkInput(config, state, slotChunks, modelChunk, refChunks?.[j] ?? noReference, stepChunks[j]);
    chunkWitnesses.push(w);
    newModel.push(...w.newModelChunk);
    step.push(...w.stepChunk);
    state = w.next;
  });
  const upper = gramToUpper(gram);
  if (state.gram.some((g, i) => g !== upper[i])) throw new Error("internal: Gram mismatch");
  if (state.alignment.some((a, k) => a !== alignment[k])) throw new Error("internal: alignment mismatch");
  if (state.referenceNorm !== referenceNorm) throw new Error("internal: reference norm mismatch");
  if (
    state.deltaAlignment.some((a, k) => a !== deltaAlignment[k]) ||
    state.deltaNorm !== deltaNorm ||
    state.deltaReference !== deltaReference
  ) {
    throw new Error("internal: last-delta statistics mismatch");
  }
  const reference = ref === undefined ? 0n : referenceCommitment(ref.values, ref.salt, config);

  const ctx = computeCtx(input.keccak, f, d);
  const prevModelCommitment = modelCommitment(paddedModel, padToChunks(delta, chunk), config);
  const newModelCommitment = modelCommitment(newModel, step, config);
  if (prevModelCommitment !== state.prevModelChain || newModelCommitment !== state.newModelChain) {
    throw new Error("internal: model chain mismatch");
  }
  const outcome = packOutcome(rule.status, rule.scores, kMax);
  const decision = buildDecisionInput(
    config,
    {
      ctx,
      prevModel: prevModelCommitment,
      newModel: newModelCommitment,
      sealKey: publicKeyOf(input.secret),
      reference,
      commitments,
      outcome,
    },
    state,
    { secret: input.secret, ephemerals: opened.map((o) => o.ephemeral), referenceSalt: ref?.salt ?? 0n },
    rule,
  );
  return {
    ctx,
    chunks: modelChunks.length,
    prevModelCommitment,
    newModelCommitment,
    newModel: newModel.slice(0, d),
    step: step.slice(0, d),
    commitments,
    decoded,
    updates: opened.map((o) => o.update?.slice(0, d)),
    rule,
    reference,
    alignment,
    referenceNorm,
    deltaAlignment,
    deltaNorm,
    deltaReference,
    outcome,
    chunkWitnesses,
    finalState: state,
    decision,
  };
}
