/**
 * The facts several checks share, each derived from the context on first use (context.ts caches
 * them). A fact records what was found, problems included, and never judges: the check that owns
 * a subject turns its fact into findings (a spec that cannot be read is the spec check's failure;
 * the models, proofs and openings checks see the same fact and skip what needs the spec), so every
 * problem is reported once, by one check, whichever checks run.
 */
import { clearCofactor, globalDelta, isOnCurve, modelCommitment, type CircuitConfig } from "@fedmarket/core";
import {
  checkSpecAgainstChain,
  decodeWeights,
  encodeSealedUpdate,
  fetchAndOpenUpdate,
  openUpdate,
  publishedSealedUpdate,
  unansweredSlots,
  loadFrozenWeights,
  quantizeModel,
  validateModelSpec,
  type CancellationRecord,
  type ModelSpec,
  type ModelSummary,
  type ProjectHistory,
  type ProjectInfo,
  type BlobStore,
  type SealKey,
  type UpdateExclusionReason,
  type UpdateOpening,
} from "@fedmarket/protocol";
import { chainCannotRun, ipfsCannotRun } from "./cannot-run.ts";
import type { AuditContext } from "./context.ts";
import { checkRoundProofs, loadVerificationKeys, type RoundProofCheck, type VerificationKeys } from "./proofs.ts";

const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** A blob that could not be used: not downloaded (or its bytes did not match its CID), or not what it should be. */
export interface BlobProblem {
  readonly kind: "unfetchable" | "invalid";
  readonly detail: string;
}

/** The spec: usable (valid, and it describes the project on chain) or why not. */
export type SpecFact =
  | {
      readonly ok: true;
      readonly spec: ModelSpec;
      readonly parameters: number;
      /** Parameters of the spec's frozen layers (0 when nothing is frozen). */
      readonly frozenParameters: number;
      readonly circuit: CircuitConfig;
      /**
       * The weights of the spec's frozen layers (`spec.frozenWeights`; `weights` undefined when nothing is
       * frozen), or why they cannot be used. Updates, commitments and proofs cover the trainable
       * parameters only, so every check but the accuracy still runs without them.
       */
      readonly frozen: { readonly ok: true; readonly weights?: Float32Array } | { readonly ok: false; readonly problem: BlobProblem };
    }
  | { readonly ok: false; readonly problem: BlobProblem };

export type VerificationKeysFact = { readonly ok: true; readonly keys: VerificationKeys } | { readonly ok: false; readonly detail: string };

/**
 * A pinned model: its weights, and those quantized with the spec (`read`), or what stood in the way.
 * `unchecked`: it downloaded, but without a usable spec it cannot be decoded. What it commits to is
 * not a fact of the model alone (`ModelCommitmentFact`).
 */
export type ModelFact =
  | { readonly kind: "unfetchable" | "invalid"; readonly detail: string }
  | { readonly kind: "unchecked" }
  | { readonly kind: "read"; readonly weights: Float32Array; readonly quantized: readonly bigint[] };

/**
 * The commitment a recorded model makes (core `modelCommitment`): its weights with the step that
 * produced them, the model minus the one it replaced, or why that step cannot be made (the replaced
 * model is not read, or the difference is no `B`-bit step, which no round proof makes).
 */
export type ModelCommitmentFact = { readonly ok: true; readonly commitment: bigint } | { readonly ok: false; readonly detail: string };

export type AccuracyFact = { readonly ok: true; readonly accuracy: number } | { readonly ok: false; readonly detail: string };

/** A finalized round's proofs, re-verified (proofs.ts), or why they could not be. */
export type RoundProofsFact =
  | {
      readonly ok: true;
      readonly check: RoundProofCheck;
      /** Every proof verified, with snarkjs and on chain, and the published keys were there to do it. */
      readonly verified: boolean;
    }
  | { readonly ok: false; readonly detail: string };

/** What the owner's key says about one slot's update. */
export interface OpeningCheck {
  /**
   * Usable: it passes every check of the update codec (`openUpdate` with the owner's key), so the
   * aggregator's seal secret decodes it too (both derive the same shared key).
   */
  readonly opens: boolean;
  /** Why it is not usable, named as the codec names it (`undecryptable`: the owner's wrap alone). */
  readonly unusable?: { readonly reason: UpdateExclusionReason; readonly detail: string };
  /**
   * Where the update was read: `chain` for a slot whose "not available" flag was answered (the
   * sealed update published in `UpdatePublished`, what the aggregator had to use), else `ipfs`.
   */
  readonly source: "ipfs" | "chain";
  /** The aggregator flagged the slot as not available: `answered` on chain, or not (an empty slot). */
  readonly flag?: "answered" | "unanswered";
}

/** Slot -> what its update's opening says. */
export type RoundOpenings = ReadonlyMap<number, OpeningCheck>;

export interface MarketHoldings {
  readonly balance: bigint;
  readonly liabilities: bigint;
}

/**
 * Downloads a blob with the audit's fetch settings (the store re-derives its CID). A blob the store
 * answers about (not found, bytes that do not match the CID) is a problem of the blob; a store that
 * cannot be reached or does not answer in time stops the audit (`AuditCannotRunError`, cannot-run.ts).
 */
export async function fetchBlob(ctx: AuditContext, cid: string, what: string): Promise<{ bytes: Uint8Array } | { problem: BlobProblem }> {
  try {
    return { bytes: await ctx.store.get(cid, ctx.fetchOptions) };
  } catch (err) {
    const outage = ipfsCannotRun(err, { store: ctx.store, what, cid, fetchOptions: ctx.fetchOptions });
    if (outage !== undefined) throw outage;
    return { problem: { kind: "unfetchable", detail: errorMessage(err) } };
  }
}

/**
 * The audit's store for a reader that turns every fetch error into a verdict of its own (the update
 * codec's `missing`): the same store, but the first outage it meets is kept in `outage` so that the
 * caller stops the audit instead.
 */
function watchedStore(ctx: AuditContext, what: (cid: string) => string): { store: BlobStore; outage: () => Error | undefined } {
  let outage: Error | undefined;
  const store: BlobStore = {
    put: (bytes) => ctx.store.put(bytes),
    close: async () => {},
    get: async (cid, options) => {
      try {
        return await ctx.store.get(cid, options);
      } catch (err) {
        outage ??= ipfsCannotRun(err, { store: ctx.store, what: what(cid), cid, fetchOptions: options ?? ctx.fetchOptions });
        throw err;
      }
    },
  };
  return { store, outage: () => outage };
}

export async function deriveSpec(ctx: AuditContext): Promise<SpecFact> {
  const fetched = await fetchBlob(ctx, ctx.project.specCid, "the model spec");
  if ("problem" in fetched) return { ok: false, problem: fetched.problem };
  try {
    const { spec, summary } = validateModelSpec(JSON.parse(new TextDecoder().decode(fetched.bytes)));
    const p = ctx.project.params;
    const circuit = checkSpecAgainstChain(spec, summary.parameters, {
      modelSize: p.modelSize,
      quantizationScale: p.quantizationScale,
      clipBound: p.clipBound,
      verifierMaxTrainers: ctx.verifierConfig.maxTrainers,
      verifierChunkSize: ctx.verifierConfig.chunkSize,
    });
    const frozen = await deriveFrozenWeights(ctx, spec, summary);
    return { ok: true, spec, parameters: summary.parameters, frozenParameters: summary.frozenParameters, circuit, frozen };
  } catch (err) {
    return { ok: false, problem: { kind: "invalid", detail: errorMessage(err) } };
  }
}

/** The spec's frozen layers' weights, fetched by the CID the spec names (an outage stops the audit as elsewhere). */
async function deriveFrozenWeights(
  ctx: AuditContext,
  spec: ModelSpec,
  summary: ModelSummary,
): Promise<Extract<SpecFact, { ok: true }>["frozen"]> {
  if (spec.frozenWeights === undefined) return { ok: true };
  const fetched = await fetchBlob(ctx, spec.frozenWeights, "the frozen layers' weights");
  if ("problem" in fetched) return { ok: false, problem: fetched.problem };
  try {
    const weights = await loadFrozenWeights(spec, summary, async () => fetched.bytes);
    return { ok: true, ...(weights === undefined ? {} : { weights }) };
  } catch (err) {
    return { ok: false, problem: { kind: "invalid", detail: errorMessage(err) } };
  }
}

export async function deriveVerificationKeys(ctx: AuditContext): Promise<VerificationKeysFact | undefined> {
  const spec = await ctx.spec();
  if (!spec.ok) return undefined;
  try {
    return { ok: true, keys: loadVerificationKeys(ctx.vkeyDir, spec.circuit) };
  } catch (err) {
    return { ok: false, detail: errorMessage(err) };
  }
}

export async function deriveModel(ctx: AuditContext, cid: string): Promise<ModelFact> {
  const fetched = await fetchBlob(ctx, cid, "the model");
  if ("problem" in fetched) return fetched.problem;
  const spec = await ctx.spec();
  if (!spec.ok) return { kind: "unchecked" };
  try {
    const weights = decodeWeights(fetched.bytes, spec.parameters);
    return { kind: "read", weights, quantized: quantizeModel(weights, spec.spec.quantization.scale, spec.circuit.modelBits) };
  } catch (err) {
    return { kind: "invalid", detail: errorMessage(err) };
  }
}

/**
 * What the model at `cid` commits to as the model that replaced the one at `replaced` (its step is
 * their difference; `null`: the initial model, whose step is zero). Not the history's derivation
 * (protocol `committedModelStep`, which names the replaced model by the next round's opening): a
 * round's result is checked against the model its own round opened on, the last round's included.
 * `undefined` while the model itself is not read (its `ModelFact` says why).
 */
export async function deriveModelCommitment(
  ctx: AuditContext,
  cid: string,
  replaced: string | null,
): Promise<ModelCommitmentFact | undefined> {
  const [spec, model] = await Promise.all([ctx.spec(), ctx.model(cid)]);
  if (!spec.ok || model.kind !== "read") return undefined;
  let step: bigint[] | undefined;
  if (replaced !== null) {
    const before = await ctx.model(replaced);
    if (before.kind !== "read") return { ok: false, detail: `the model it replaced (${replaced}) cannot be read, so neither can its step` };
    step = globalDelta(model.quantized, before.quantized);
  }
  try {
    return { ok: true, commitment: modelCommitment(model.quantized, step, spec.circuit) };
  } catch (err) {
    return { ok: false, detail: `its step from the model it replaced (${replaced}) is no round's step: ${errorMessage(err)}` };
  }
}

/** The validation set's evaluator, made once per context (TF.js is loaded only when a set is given). */
const evaluators = new WeakMap<AuditContext, Promise<((weights: Float32Array) => number) | undefined>>();

function evaluatorOf(ctx: AuditContext): Promise<((weights: Float32Array) => number) | undefined> {
  let e = evaluators.get(ctx);
  if (e === undefined) {
    e = (async () => {
      const validation = ctx.validation;
      const spec = await ctx.spec();
      if (validation === undefined || !spec.ok || !spec.frozen.ok) return undefined;
      const frozenWeights = spec.frozen.weights;
      const { evaluateAccuracy, selectBackend } = await import("@fedmarket/ml");
      const backend = await selectBackend({ log: () => {} });
      return (weights: Float32Array) =>
        evaluateAccuracy(backend.tf, spec.spec, weights, validation, frozenWeights === undefined ? {} : { frozenWeights });
    })();
    evaluators.set(ctx, e);
  }
  return e;
}

export async function deriveAccuracy(ctx: AuditContext, cid: string): Promise<AccuracyFact | undefined> {
  if (ctx.validation === undefined) return undefined;
  const model = await ctx.model(cid);
  if (model.kind !== "read") return undefined;
  const evaluate = await evaluatorOf(ctx);
  if (evaluate === undefined) return undefined;
  try {
    return { ok: true, accuracy: evaluate(model.weights) };
  } catch (err) {
    return { ok: false, detail: errorMessage(err) };
  }
}

export async function deriveRoundProofs(ctx: AuditContext, round: number): Promise<RoundProofsFact | undefined> {
  const { history, project } = ctx;
  const r = history.rounds[round];
  if (r?.end?.kind !== "finalized" || history.created === undefined) return undefined;
  const keys = await ctx.verificationKeys();
  const usableKeys = keys?.ok === true ? keys.keys : undefined;
  try {
    const check = await checkRoundProofs(
      {
        provider: ctx.chain.provider,
        market: ctx.chain.market,
        chainId: ctx.chain.chainId,
        projectId: history.projectId,
        paramsHash: history.created.paramsHash,
        byzantineTolerance: project.params.byzantineTolerance,
        modelSize: project.params.modelSize,
        numChunks: history.created.numChunks,
        kMax: ctx.verifierConfig.maxTrainers,
        verifier: project.verifier,
        sealKey: roundSealKey(history, project, round),
        ...(usableKeys === undefined ? {} : { keys: usableKeys }),
        fetchBundle: (cid) => ctx.store.get(cid, ctx.fetchOptions),
      },
      r,
    );
    return { ok: true, check, verified: check.failures.length === 0 && usableKeys !== undefined };
  } catch (err) {
    // The proofs are read from the chain: an endpoint that went away is no finding about them.
    const outage = chainCannotRun(err, `reading round ${round}'s proofs`);
    if (outage !== undefined) throw outage;
    return { ok: false, detail: errorMessage(err) };
  }
}

/** Where an event is in the chain (block, then log index). */
interface ChainPosition {
  readonly blockNumber: number;
  readonly logIndex: number;
}

const isBefore = (a: ChainPosition, b: ChainPosition): boolean =>
  a.blockNumber < b.blockNumber || (a.blockNumber === b.blockNumber && a.logIndex < b.logIndex);

/**
 * The seal key round `round` was sealed and proven for: the one its aggregator registered with the
 * last `AggregatorAccepted` before the round opened (an acceptance opens the next round; after a
 * failed round the next aggregator registers its own key). Without one in the history read, the
 * project's current key, unless an acceptance in the history may have replaced it; `undefined`
 * when the history cannot say (scan from an earlier block).
 */
export function roundSealKey(history: ProjectHistory, project: Pick<ProjectInfo, "aggregatorSealKey">, round: number): SealKey | undefined {
  const r = history.rounds[round];
  const at = r?.opened ?? r?.end;
  if (at !== undefined) {
    let last: (typeof history.accepted)[number] | undefined;
    for (const a of history.accepted) if (isBefore(a, at) && (last === undefined || isBefore(last, a))) last = a;
    if (last !== undefined) return last.sealKey;
  }
  const [x, y] = project.aggregatorSealKey;
  return history.accepted.length === 0 && (x !== 0n || y !== 0n) ? project.aggregatorSealKey : undefined;
}

/**
 * Why the owner cannot open round `round`'s updates with the update codec, if it cannot: the round's
 * seal key is unknown, or it is a point no update can be sealed for (off the curve or of low order:
 * the contract refuses only the identity and points off the curve).
 */
export function sealKeyProblem(key: SealKey | undefined, round: number): string | undefined {
  if (key === undefined) {
    return `round ${round}: the seal key its updates were sealed for is unknown (no AggregatorAccepted before the round in the history read: pass an earlier --from-block)`;
  }
  const eight = isOnCurve(key) ? clearCofactor(key) : undefined;
  if (eight === undefined || (eight[0] === 0n && eight[1] === 1n)) {
    return `round ${round}: the registered seal key (${key[0]}, ${key[1]}) is no key an update can be sealed for (off the curve or of low order)`;
  }
  return undefined;
}

/**
 * With the owner's key: slot -> is the update usable, and if not why. Opens each revealed update
 * with @fedmarket/protocol's update codec (`{ kind: "owner" }`: the wrap gives `e`, `S = e * 8A`),
 * from the chain when its "not available" flag was answered (`UpdatePublished`), else from IPFS,
 * the checks the aggregator applies with its seal secret, for the round's seal key
 * (`roundSealKey`); `undefined` when there is no owner key, no usable spec or no usable seal key.
 */
export async function deriveOpenings(ctx: AuditContext, round: number): Promise<RoundOpenings | undefined> {
  const secretKey = ctx.ownerSecretKey;
  const r = ctx.history.rounds[round];
  const spec = await ctx.spec();
  if (secretKey === undefined || r === undefined || !spec.ok) return undefined;
  const sealKey = roundSealKey(ctx.history, ctx.project, round);
  if (sealKey === undefined || sealKeyProblem(sealKey, round) !== undefined) return undefined;
  const out = new Map<number, OpeningCheck>();
  const flagged = new Set(r.flags.map((f) => f.slot));
  const unanswered = new Set(unansweredSlots(r));
  for (const s of r.submissions) {
    const context = {
      chainId: ctx.chain.chainId,
      market: ctx.chain.market,
      projectId: ctx.history.projectId,
      round,
      trainer: s.trainer,
      config: spec.circuit,
      modelSize: ctx.project.params.modelSize,
      commitment: s.commitment,
      sealKey,
    };
    const flag = !flagged.has(s.slot) ? {} : { flag: unanswered.has(s.slot) ? ("unanswered" as const) : ("answered" as const) };
    const published = r.publications.find((p) => p.slot === s.slot);
    if (published !== undefined) {
      // The answer to a flag: the data on chain is what the aggregator had to decode.
      let opening: UpdateOpening;
      try {
        const bytes = encodeSealedUpdate(publishedSealedUpdate(published, spec.circuit, ctx.project.params.modelSize));
        opening = openUpdate(bytes, { kind: "owner", secretKey }, context);
      } catch (err) {
        opening = {
          ok: false,
          reason: "not-opening",
          detail: `the published sealed update is not one for this project: ${errorMessage(err)}`,
        };
      }
      out.set(s.slot, { ...checkOf(opening), source: "chain", ...flag });
      continue;
    }
    const watched = watchedStore(ctx, () => `the update of round ${round} slot ${s.slot}`);
    const opening = await fetchAndOpenUpdate(watched.store, s.cid, { kind: "owner", secretKey }, context, ctx.fetchOptions);
    const outage = watched.outage();
    if (outage !== undefined) throw outage;
    out.set(s.slot, { ...checkOf(opening), source: "ipfs", ...flag });
  }
  return out;
}

function checkOf(opening: UpdateOpening): Pick<OpeningCheck, "opens" | "unusable"> {
  return opening.ok ? { opens: true } : { opens: false, unusable: { reason: opening.reason, detail: opening.detail } };
}

export function deriveMarketHoldings(ctx: AuditContext): Promise<MarketHoldings> {
  return ctx.chain.holdings(ctx.project.token);
}

/**
 * The cancellation that ended round `round` below quorum (its reward split among its submitters,
 * the project closed at once), if one did; a cancellation with a quorum lets the round run on.
 */
export function cancellationOf(history: ProjectHistory, round: number): CancellationRecord | undefined {
  const c = history.cancelled;
  return c?.roundStillOpen === false && c.round === round && history.rounds[round]?.end === undefined ? c : undefined;
}
