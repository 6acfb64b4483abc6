/**
 * The facts several checks share, each derived from the context on first use (context.ts caches
 * them). A fact records what was found, problems included, and never judges: the check that owns
 * a subject turns its fact into findings (a spec that cannot be read is the spec check's failure;
 * the models, proofs and openings checks see the same fact and skip what needs the spec), so every
 * problem is reported once, by one check, whichever checks run.
 */
import { replaysGlobalDelta, type CircuitConfig } from "@fedmarket/core";
import {
  checkSpecAgainstChain,
  decodeWeights,
  fetchAndOpenUpdate,
  globalModelCommitment,
  lastGlobalDelta,
  quantizeModel,
  validateModelSpec,
  type CancellationRecord,
  type ModelSpec,
  type ProjectHistory,
  type UpdateExclusionReason,
} from "@fedmarket/protocol";
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
  | { readonly ok: true; readonly spec: ModelSpec; readonly parameters: number; readonly circuit: CircuitConfig }
  | { readonly ok: false; readonly problem: BlobProblem };

export type VerificationKeysFact = { readonly ok: true; readonly keys: VerificationKeys } | { readonly ok: false; readonly detail: string };

/**
 * A pinned model: its weights and the commitment they make with the spec (`read`), or what stood in
 * the way. `unchecked`: it downloaded, but without a usable spec it cannot be decoded or committed.
 */
export type ModelFact =
  | { readonly kind: "unfetchable" | "invalid"; readonly detail: string }
  | { readonly kind: "unchecked" }
  | {
      readonly kind: "read";
      readonly weights: Float32Array;
      readonly commitment: bigint;
      /** The weights in the units of updates (the chain's scale, `BG` bits): what the free-rider rule compares. */
      readonly quantized: bigint[];
    };

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
  /** Usable: it passes every check of the update codec, the aggregator's own (`openUpdate`). */
  readonly opens: boolean;
  /** It replays the last global delta (the free-rider rule; only for an update that opens). */
  readonly replay: boolean;
  /** Why it is not usable, exactly as the aggregator would name it. */
  readonly unusable?: { readonly reason: UpdateExclusionReason; readonly detail: string };
}

/** Slot -> what its update's opening says. */
export type RoundOpenings = ReadonlyMap<number, OpeningCheck>;

export interface MarketHoldings {
  readonly balance: bigint;
  readonly liabilities: bigint;
}

/** Downloads a blob with the audit's fetch settings (the store re-derives its CID). */
async function fetchBlob(ctx: AuditContext, cid: string): Promise<{ bytes: Uint8Array } | { problem: BlobProblem }> {
  try {
    return { bytes: await ctx.store.get(cid, ctx.fetchOptions) };
  } catch (err) {
    return { problem: { kind: "unfetchable", detail: errorMessage(err) } };
  }
}

export async function deriveSpec(ctx: AuditContext): Promise<SpecFact> {
  const fetched = await fetchBlob(ctx, ctx.project.specCid);
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
    return { ok: true, spec, parameters: summary.parameters, circuit };
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
  const fetched = await fetchBlob(ctx, cid);
  if ("problem" in fetched) return fetched.problem;
  const spec = await ctx.spec();
  if (!spec.ok) return { kind: "unchecked" };
  try {
    const weights = decodeWeights(fetched.bytes, spec.parameters);
    const commitment = globalModelCommitment(weights, spec.spec.quantization.scale, spec.circuit);
    const quantized = quantizeModel(weights, Number(ctx.project.params.quantizationScale), spec.circuit.modelBits);
    return { kind: "read", weights, commitment, quantized };
  } catch (err) {
    return { kind: "invalid", detail: errorMessage(err) };
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
      if (validation === undefined || !spec.ok) return undefined;
      const { evaluateAccuracy, selectBackend } = await import("@fedmarket/ml");
      const backend = await selectBackend({ log: () => {} });
      return (weights: Float32Array) => evaluateAccuracy(backend.tf, spec.spec, weights, validation);
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
        numChunks: history.created.numChunks,
        kMax: ctx.verifierConfig.maxTrainers,
        verifier: project.verifier,
        ...(usableKeys === undefined ? {} : { keys: usableKeys }),
      },
      r,
    );
    return { ok: true, check, verified: check.failures.length === 0 && usableKeys !== undefined };
  } catch (err) {
    return { ok: false, detail: errorMessage(err) };
  }
}

/**
 * The models the chain recorded before round `round` (the initial one and each earlier round's
 * finalized one), by CID: the only ones the free-rider rule's last global delta may be made of.
 */
function recordedModelsBefore(history: ProjectHistory, round: number): Set<string> {
  const cids = new Set<string>();
  if (history.created !== undefined) cids.add(history.created.initialModelCid);
  for (const r of history.rounds.slice(0, round)) if (r.end?.kind === "finalized") cids.add(r.end.newModelCid);
  return cids;
}

/**
 * With the owner's key: slot -> is the update usable, and is it a replay? Applies exactly the
 * aggregator's checks (@fedmarket/protocol's update codec: envelope bound to the submission, a
 * payload made for this project, round, circuit and model size, the commitment on chain), so an
 * exclusion the aggregator had to make is never reported as suspect. The last global delta is
 * derived from the recorded models as the aggregator derives it (@fedmarket/protocol
 * `lastGlobalDelta`); a model that could not be read leaves it unknown (and no update a replay).
 */
export async function deriveOpenings(ctx: AuditContext, round: number): Promise<RoundOpenings | undefined> {
  const secretKey = ctx.ownerSecretKey;
  const r = ctx.history.rounds[round];
  const spec = await ctx.spec();
  if (secretKey === undefined || r === undefined || !spec.ok) return undefined;
  const recorded = recordedModelsBefore(ctx.history, round);
  const delta = await lastGlobalDelta(ctx.history, round, async (opened) => {
    if (!recorded.has(opened.modelCid)) return undefined;
    const model = await ctx.model(opened.modelCid);
    return model.kind === "read" ? model.quantized : undefined;
  });
  const out = new Map<number, OpeningCheck>();
  for (const s of r.submissions) {
    const opening = await fetchAndOpenUpdate(
      ctx.store,
      s.cid,
      secretKey,
      {
        chainId: ctx.chain.chainId,
        market: ctx.chain.market,
        projectId: ctx.history.projectId,
        round,
        trainer: s.trainer,
        config: spec.circuit,
        modelSize: ctx.project.params.modelSize,
        commitment: s.commitment,
      },
      ctx.fetchOptions,
    );
    if (!opening.ok) {
      out.set(s.slot, { opens: false, replay: false, unusable: { reason: opening.reason, detail: opening.detail } });
      continue;
    }
    out.set(s.slot, { opens: true, replay: delta !== undefined && replaysGlobalDelta(opening.values, delta) });
  }
  return out;
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
