/**
 * The owner's reference, one step at a time (`fedmarket project reference`; IFedMarket
 * `commitReference` / `publishReference`; docs/PROOF-INTERFACE.md, "The owner's reference").
 *
 * Each call looks at the open round and does what is due:
 * - in the commit window, with nothing committed: compute `v` (minus the gradient of the owner's
 *   validation loss at the round's model, @fedmarket/ml `referenceDirection`), quantize it at `B`
 *   bits, draw a salt, save the opening, then commit;
 * - from the end of the reveal window to a quarter into the aggregation window, committed and not
 *   published: pin the saved opening and publish its CID;
 * - published and flagged by the aggregator (it could not fetch or open the blob), before the answer
 *   deadline: put the values and the salt on chain (`answerReferencePart`, then `answerReference`);
 * - otherwise: say what comes next and when.
 *
 * The opening is written to disk before the commitment is sent. A crash between the two leaves a
 * saved opening that the next call commits (or finds already committed); a crash after the commit
 * loses nothing, because the opening is never recomputed (a new salt would not open the old
 * commitment).
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import {
  modelCommitment,
  quantizeReference,
  randomFieldElement,
  referenceChunks,
  referenceCommitment,
  type CircuitConfig,
} from "@fedmarket/core";
import type { Dataset } from "@fedmarket/ml";
import {
  checkSpecAgainstProject,
  committedModelStep,
  decodeReference,
  decodeWeights,
  encodeReference,
  loadFrozenWeights,
  loadProjectHistory,
  loadRoundHistory,
  quantizeModel,
  referencePublicationEnd,
  referenceState,
  ProjectStatus,
  validateModelSpec,
  writeFileAtomic,
  type BlobStore,
  type FedMarketClient,
  type ModelSpec,
  type ProjectInfo,
  type ReferenceAnswerPartRecord,
  type ReferenceBlob,
} from "@fedmarket/protocol";
import { UsageError } from "./connect.ts";

export interface ReferenceStepOptions {
  readonly client: FedMarketClient;
  readonly store: BlobStore;
  readonly projectId: bigint;
  /** Where openings are kept between commit and publish (one file per project and round). */
  readonly stateDir: string;
  /** The owner's validation data, in the shape the spec says (loaded only when a commit is due). */
  readonly validation: (spec: ModelSpec) => Promise<Dataset>;
  /** Progress lines for a person (stderr). */
  readonly log: (line: string) => void;
  /** Chunks per transaction when a flagged reference is answered (default `REFERENCE_PART_CHUNKS`). */
  readonly partChunks?: number;
  /**
   * First block of the project's history (its creation block, `project.json`'s `createdBlock`; default
   * 0): the step committed with the round's model is read from every round's opening since.
   */
  readonly fromBlock?: number;
}

export type ReferenceStep =
  /** `loss`: the validation loss at the round's model, absent when a saved opening was committed. */
  | { readonly action: "committed"; readonly round: number; readonly commitment: bigint; readonly loss?: number; readonly txHash: string }
  | { readonly action: "published"; readonly round: number; readonly cid: string; readonly txHash: string }
  /** The aggregator flagged the published reference; the values went on chain in `transactions` transactions. */
  | { readonly action: "answered"; readonly round: number; readonly transactions: number; readonly txHash: string }
  /** Nothing due now; `until` (chain time, seconds) is when the next step can be due, `undefined` once the project ended. */
  | { readonly action: "waiting"; readonly round: number; readonly reason: string; readonly until: number | undefined };

/** The file holding the opening of `round`'s reference. */
export function openingFile(stateDir: string, projectId: bigint, round: number): string {
  return path.join(stateDir, `project-${projectId}`, `round-${round}.reference.json`);
}

async function savedOpening(file: string): Promise<ReferenceBlob | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  return decodeReference(bytes);
}

/** Does what is due for the project's open round (see the module comment). */
export async function referenceStep(o: ReferenceStepOptions): Promise<ReferenceStep> {
  const p = await o.client.getProject(o.projectId);
  const round = p.currentRound;
  if (p.status !== ProjectStatus.Active) {
    // Awaiting an aggregator (before the first acceptance, or after a failed round) is not the end:
    // the next round opens when one accepts, so a watch keeps polling.
    const ended = p.status === ProjectStatus.Completed || p.status === ProjectStatus.Cancelled;
    return ended
      ? { action: "waiting", round, reason: `project ${o.projectId} is ${p.statusName}: no round is open`, until: undefined }
      : {
          action: "waiting",
          round,
          reason: `project ${o.projectId} is ${p.statusName}: its next round opens when the aggregator accepts`,
          until: (await o.client.chainTime()) + 60,
        };
  }
  const r = await o.client.getCurrentRound(o.projectId);
  const now = await o.client.chainTime();
  const history = await loadRoundHistory(o.client, o.projectId, round);
  const committed = history.referenceCommitted?.commitment;
  const file = openingFile(o.stateDir, o.projectId, round);
  const publishEnd = referencePublicationEnd(p, r);

  if (now < r.submissionDeadline) {
    if (committed !== undefined) {
      return {
        action: "waiting",
        round,
        reason: `round ${round}'s reference is committed; it is published after the reveal window`,
        until: r.revealDeadline,
      };
    }
    // The deposit (the round's reward) comes from the budget: with less there, the contract refuses
    // the commitment, and the round is judged without a reference.
    if (p.budget < p.roundReward) {
      return {
        action: "waiting",
        round,
        reason:
          `round ${round}: committing a reference takes the round's reward (${p.roundReward}) from the budget as a deposit, ` +
          `but the budget holds ${p.budget}; fund the project (fedmarket project fund) to use a reference from the next round on`,
        until: r.aggregationDeadline,
      };
    }
    return commit(o, p, round, file);
  }
  if (committed === undefined) {
    return {
      action: "waiting",
      round,
      reason: `round ${round}'s commit window closed without a reference; the next round's opens when this one ends`,
      until: r.aggregationDeadline,
    };
  }
  if (history.referencePublished !== undefined) {
    const flag = history.referenceFlagged;
    if (flag !== undefined && history.referenceAnswered === undefined && now < flag.answerDeadline) {
      return answer(o, p, round, file, committed, history.referenceAnswerParts ?? []);
    }
    return { action: "waiting", round, reason: `round ${round}'s reference is ${referenceState(history)}`, until: r.aggregationDeadline };
  }
  if (now < r.revealDeadline) {
    return {
      action: "waiting",
      round,
      reason: `round ${round}'s reference is published once its reveal window closes`,
      until: r.revealDeadline,
    };
  }
  if (now >= publishEnd) {
    return {
      action: "waiting",
      round,
      reason: `round ${round}'s publication window closed unpublished (it ended mid-aggregation)`,
      until: r.aggregationDeadline,
    };
  }
  return publish(o, p, round, file, committed);
}

async function commit(o: ReferenceStepOptions, p: ProjectInfo, round: number, file: string): Promise<ReferenceStep> {
  const { spec, circuit, weights, frozenWeights } = await roundModel(o, p);
  let opening = await savedOpening(file);
  let loss: number | undefined;
  if (opening === undefined) {
    const validation = await o.validation(spec);
    const { selectBackend, referenceDirection } = await import("@fedmarket/ml");
    const { tf } = await selectBackend({ log: () => {} });
    o.log(`round ${round}: computing the reference on ${validation.count} validation samples`);
    const v = referenceDirection(tf, spec, weights, validation, frozenWeights === undefined ? {} : { frozenWeights });
    loss = v.loss;
    opening = {
      projectId: o.projectId,
      round,
      bits: circuit.updateBits,
      salt: randomFieldElement(),
      values: quantizeReference(v.direction, circuit.updateBits),
    };
    await writeFileAtomic(file, encodeReference(opening));
  } else {
    o.log(`round ${round}: committing the opening saved in ${file}`);
  }
  const commitment = referenceCommitment(opening.values, opening.salt, circuit);
  const receipt = await o.client.wait(await o.client.commitReference(o.projectId, round, commitment));
  return { action: "committed", round, commitment, ...(loss === undefined ? {} : { loss }), txHash: receipt.hash };
}

async function publish(o: ReferenceStepOptions, p: ProjectInfo, round: number, file: string, committed: bigint): Promise<ReferenceStep> {
  const { opening } = await openingOf(o, p, round, file, committed);
  const cid = await o.store.put(encodeReference(opening));
  const receipt = await o.client.wait(await o.client.publishReference(o.projectId, round, cid));
  return { action: "published", round, cid, txHash: receipt.hash };
}

/** Chunks per answer transaction: at the production width a chunk costs about as much as an update's (~0.7 M gas). */
export const REFERENCE_PART_CHUNKS = 16;

async function answer(
  o: ReferenceStepOptions,
  p: ProjectInfo,
  round: number,
  file: string,
  committed: bigint,
  parts: readonly ReferenceAnswerPartRecord[],
): Promise<ReferenceStep> {
  const { opening, circuit } = await openingOf(o, p, round, file, committed);
  const chunks = referenceChunks(opening.values, circuit);
  // Parts already on chain (an earlier run that stopped half-way) are not sent again.
  let next = parts.reduce((n, part) => Math.max(n, part.firstChunk + part.packed.length / (chunks[0]?.length ?? 1)), 0);
  const size = o.partChunks ?? REFERENCE_PART_CHUNKS;
  let transactions = 0;
  while (chunks.length - next > size) {
    await o.client.wait(await o.client.answerReferencePart(o.projectId, round, chunks.slice(next, next + size).flat()));
    o.log(`round ${round}: answered chunks ${next}..${next + size - 1} of ${chunks.length} of the flagged reference`);
    next += size;
    transactions++;
  }
  const receipt = await o.client.wait(await o.client.answerReference(o.projectId, round, opening.salt, chunks.slice(next).flat()));
  return { action: "answered", round, transactions: transactions + 1, txHash: receipt.hash };
}

/**
 * The saved opening of `round`'s committed reference (a usage error when it is missing, an error when
 * it is not that round's), and the project's circuit it was checked with.
 */
async function openingOf(
  o: ReferenceStepOptions,
  p: ProjectInfo,
  round: number,
  file: string,
  committed: bigint,
): Promise<{ opening: ReferenceBlob; circuit: CircuitConfig }> {
  const opening = await savedOpening(file);
  if (opening === undefined) {
    throw new UsageError(
      `round ${round}'s reference is committed but its opening is not in ${file}: without it the commitment cannot be opened ` +
        "(run this command with the --state-dir it committed with)",
    );
  }
  const { circuit } = await specOf(o, p);
  if (referenceCommitment(opening.values, opening.salt, circuit) !== committed) {
    throw new Error(`${file} does not open round ${round}'s committed reference ${committed}: it is not this round's opening`);
  }
  return { opening, circuit };
}

async function specOf(o: ReferenceStepOptions, p: ProjectInfo) {
  const { spec, summary } = validateModelSpec(JSON.parse(new TextDecoder().decode(await o.store.get(p.specCid))));
  return { spec, summary, circuit: await checkSpecAgainstProject(o.client, p, spec, summary.parameters) };
}

/**
 * The round's spec, circuit, frozen weights and global model, each checked against the chain; the
 * model with the step committed with it (protocol `committedModelStep`, from the project's history).
 */
async function roundModel(o: ReferenceStepOptions, p: ProjectInfo) {
  const { spec, summary, circuit } = await specOf(o, p);
  const frozenWeights = await loadFrozenWeights(spec, summary, (cid) => o.store.get(cid));
  const scale = spec.quantization.scale;
  const quantize = (w: Float32Array): bigint[] => quantizeModel(w, scale, circuit.modelBits);
  const weights = decodeWeights(await o.store.get(p.modelCid), summary.parameters);
  const quantized = quantize(weights);
  const history = await loadProjectHistory(o.client, o.projectId, o.fromBlock === undefined ? {} : { fromBlock: o.fromBlock });
  const step = await committedModelStep(history, p.currentRound, quantized, async (opened) =>
    quantize(decodeWeights(await o.store.get(opened.modelCid), summary.parameters)),
  );
  if (modelCommitment(quantized, step, circuit) !== p.modelCommitment) {
    throw new Error(`the global model ${p.modelCid} with its step does not match the model commitment on chain; nothing was committed`);
  }
  return { spec, circuit, weights, frozenWeights };
}
