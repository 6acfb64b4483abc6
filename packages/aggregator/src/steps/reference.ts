/**
 * Step 3c, **reference** (`reference.json`), next to the flags: the owner's reference `v` the round
 * proofs absorb (core `simulateRound`'s `reference`), or none. The contract passes the reference
 * commitment to the decision proof exactly when the reference counts (committed, published, not
 * left flagged: IFedMarket "The owner's reference"), so this step must end where the chain ends:
 *
 * | on chain | this step |
 * | --- | --- |
 * | not committed | no reference |
 * | committed, not published | waits for the end of the publication window (chain time); still unpublished: no reference (chunk proofs cannot start earlier, `ReferencePublicationOpen`) |
 * | published | fetches the `fedmarket-reference/1` blob and opens it (protocol `openReference`); it opens: the reference |
 * | published, the blob missing or not opening | flags it (`flagReference`, first half of the aggregation window, like flag.ts); too late to flag: the round is unprovable, as for a slot |
 * | flagged | waits for the answer deadline; answered on chain: the answered values (protocol `answeredReference`); unanswered: no reference |
 *
 * Resumable like flag.ts: the flag's transaction hash is saved before its receipt is awaited, and
 * the settled reference (values and salt) is saved before the compute step reads it, so a restart
 * recomputes the same round.
 */
import type { CircuitConfig, RoundReference } from "@fedmarket/core";
import {
  MarketRevertError,
  ReferenceBlobError,
  answeredReference,
  blobFetchOptions,
  openReference,
  referencePublicationEnd,
  waitForPending,
  type ProjectInfo,
  type ReferenceExpectation,
  type RoundInfo,
} from "@fedmarket/protocol";
import type { StepContext } from "./context.ts";
import { flagCutoff } from "./flag.ts";
import { cutOff } from "./open.ts";

/** `reference.json`: where the round's reference stands for this node. */
export interface ReferenceFile {
  /** The flag transaction, once sent (absent: nothing flagged, or adopted from the chain after a crash). */
  readonly flagTx?: string;
  /** Why the published blob was flagged. */
  readonly flagReason?: string;
  /** Set once the reference is settled. */
  readonly settled?: boolean;
  /** The settled reference (absent: the round has none), values comma-joined and the salt, decimal. */
  readonly values?: string;
  readonly salt?: string;
  /** How it was settled, for the log and the operator. */
  readonly how?: string;
  /** The round cannot be proven: the blob could not be flagged in time. */
  readonly unprovable?: string;
}

/** Where the round's reference stands. */
export type ReferenceSettlement =
  | { readonly kind: "settled"; readonly reference?: RoundReference; readonly how: string }
  | { readonly kind: "waiting"; readonly reason: string; readonly untilChainTime: number; readonly chainTime: number }
  | { readonly kind: "unprovable"; readonly reason: string };

/**
 * Settles the round's reference (see the module comment): `waiting` while the owner may still
 * publish or answer, `unprovable` when a bad blob could not be flagged in time, else the
 * reference the round proofs absorb (none when it does not count on chain).
 */
export async function settleReference(
  ctx: StepContext,
  project: ProjectInfo,
  round: RoundInfo,
  config: CircuitConfig,
  fetchDeadline: number,
): Promise<ReferenceSettlement> {
  const { files, chain, projectId, round: r } = ctx;
  const file = await files.read<ReferenceFile>("reference.json");
  if (file?.settled === true) return settledOf(file);
  if (file?.unprovable !== undefined) return { kind: "unprovable", reason: file.unprovable };
  const events = await chain.roundReference(projectId, r);
  const chainTime = await chain.client.chainTime();
  if (events.referenceCommitted === undefined) return settle(ctx, undefined, "the owner committed no reference");
  const expected: ReferenceExpectation = {
    projectId,
    round: r,
    commitment: events.referenceCommitted.commitment,
    modelSize: project.params.modelSize,
    circuit: config,
  };
  if (events.referencePublished === undefined) {
    const end = referencePublicationEnd(project, round);
    if (chainTime < end) {
      return {
        kind: "waiting",
        reason: `round ${r}: the owner committed a reference and may publish it until chain time ${end} (${end - chainTime} s more)`,
        untilChainTime: end,
        chainTime,
      };
    }
    return settle(ctx, undefined, "the owner committed a reference and did not publish it: the round is proven without one");
  }
  if (events.referenceFlagged !== undefined) {
    const deadline = events.referenceFlagged.answerDeadline;
    if (chainTime < deadline) {
      return {
        kind: "waiting",
        reason: `round ${r}: the owner's reference is flagged; it may be answered on chain until chain time ${deadline} (${deadline - chainTime} s more)`,
        untilChainTime: deadline,
        chainTime,
      };
    }
    if (events.referenceAnswered === undefined)
      return settle(ctx, undefined, "the flagged reference was not answered: the round is proven without one");
    // The contract checked the answer; a mismatch here means the events are not the chain's.
    const opened = answeredReference(events.referenceAnswerParts ?? [], events.referenceAnswered, expected);
    return settle(ctx, opened, "the flagged reference was answered on chain");
  }
  if (file?.flagTx !== undefined) {
    // Flagged before a crash, the event not read yet: let the transaction land and look again.
    await waitForPending(chain.client, ctx.config.address);
    return {
      kind: "waiting",
      reason: `round ${r}: the reference flag (tx ${file.flagTx}) is not on chain yet`,
      untilChainTime: chainTime + 1,
      chainTime,
    };
  }
  const fetched = await fetchReference(ctx, events.referencePublished.cid, expected, fetchDeadline);
  if (fetched.ok) return settle(ctx, fetched.reference, `the owner's reference blob ${events.referencePublished.cid} opens its commitment`);
  return flagReference(ctx, project, round, fetched.reason);
}

/** Fetches and opens the published blob; never throws for the blob's own faults. */
async function fetchReference(
  ctx: StepContext,
  cid: string,
  expected: ReferenceExpectation,
  fetchDeadline: number,
): Promise<{ readonly ok: true; readonly reference: RoundReference } | { readonly ok: false; readonly reason: string }> {
  let bytes: Uint8Array;
  try {
    bytes = await ctx.store.get(cid, cutOff(blobFetchOptions(ctx.config), fetchDeadline));
  } catch (err) {
    return { ok: false, reason: `cannot fetch ${cid}: ${(err as Error).message}` };
  }
  try {
    const blob = openReference(bytes, expected);
    return { ok: true, reference: { values: blob.values, salt: blob.salt } };
  } catch (err) {
    if (err instanceof ReferenceBlobError) return { ok: false, reason: err.message };
    throw err;
  }
}

/** Flags the published reference; `unprovable` when the flagging window has closed. */
async function flagReference(ctx: StepContext, project: ProjectInfo, round: RoundInfo, why: string): Promise<ReferenceSettlement> {
  const { files, chain, log, projectId, round: r } = ctx;
  const cutoff = flagCutoff(project, round);
  const chainTime = await chain.client.chainTime();
  // The flag lands in a later block than the latest one.
  if (chainTime + 1 >= cutoff) return unprovable(ctx, why, `the flagging window closed at chain time ${cutoff}`);
  let tx;
  try {
    tx = await chain.flagReference(projectId, r);
  } catch (err) {
    if (!(err instanceof MarketRevertError)) throw err;
    if (err.errorName === "ReferenceAlreadyFlagged") {
      return { kind: "waiting", reason: `round ${r}: the reference is already flagged`, untilChainTime: chainTime + 1, chainTime };
    }
    // Only a closed flagging window makes the round unprovable for good (as in flag.ts); any other
    // revert is not this round's fate and must not be recorded as such: the node reports it and retries.
    if (err.errorName === "FlaggingClosed" || err.errorName === "ChunkProofsStarted") return unprovable(ctx, why, err.message);
    throw err;
  }
  await files.write("reference.json", { flagTx: tx.hash, flagReason: why } satisfies ReferenceFile);
  log.log("info", "round.reference.flagged", `round ${r}: flagged the owner's reference (${why}); tx ${tx.hash}`, {
    round: r,
    txHash: tx.hash,
  });
  await chain.wait(tx, ctx.config.confirmations ?? 1);
  const now = await chain.client.chainTime();
  return {
    kind: "waiting",
    reason: `round ${r}: the owner's reference is flagged; waiting for its answer`,
    untilChainTime: now + 1,
    chainTime: now,
  };
}

/** Records that the round cannot be proven: a bad reference that could not be flagged (`flagged`: why not). */
async function unprovable(ctx: StepContext, why: string, flagged: string): Promise<ReferenceSettlement> {
  const reason =
    `round ${ctx.round} cannot be proven: the owner's reference could not be opened (${why}) and could not be flagged (${flagged}); ` +
    "the contract passes its commitment to the decision proof, which this node cannot open. Nothing is submitted: the round fails at the end of its aggregation window";
  await ctx.files.write("reference.json", { unprovable: reason } satisfies ReferenceFile);
  ctx.log.log("error", "round.unprovable", reason, { round: ctx.round });
  return { kind: "unprovable", reason };
}

async function settle(ctx: StepContext, reference: RoundReference | undefined, how: string): Promise<ReferenceSettlement> {
  const previous = (await ctx.files.read<ReferenceFile>("reference.json")) ?? {};
  const file: ReferenceFile = {
    ...previous,
    settled: true,
    how,
    ...(reference === undefined ? {} : { values: reference.values.join(","), salt: reference.salt.toString() }),
  };
  await ctx.files.write("reference.json", file);
  ctx.log.log("info", "round.reference.settled", `round ${ctx.round}: ${how}`, { round: ctx.round, reference: reference !== undefined });
  return settledOf(file);
}

/** The reference a run settled (`reference.json`), if any; prove-only uses it and sends nothing. */
export async function settledReference(ctx: StepContext): Promise<RoundReference | undefined> {
  const file = await ctx.files.read<ReferenceFile>("reference.json");
  if (file?.settled !== true) return undefined;
  const settled = settledOf(file);
  return settled.kind === "settled" ? settled.reference : undefined;
}

function settledOf(file: ReferenceFile): ReferenceSettlement {
  const how = file.how ?? "";
  if (file.values === undefined || file.salt === undefined) return { kind: "settled", how };
  const values = file.values === "" ? [] : file.values.split(",").map((x) => BigInt(x));
  return { kind: "settled", reference: { values, salt: BigInt(file.salt) }, how };
}
