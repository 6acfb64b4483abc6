/**
 * A project's history rebuilt from the marketplace's logs alone, the way MACI rebuilds its state
 * from contract events (`genMaciStateFromContract`): every event indexed by the project id is read
 * in bounded block windows (events.ts), decoded once (records.ts) and replayed in chain order into
 * one typed `ProjectHistory`. The aggregator (how a round ended, a round's submissions), the
 * nodes and the owner's CLI (the step committed with a round's model, the last global delta), the
 * status command and the audit all read the chain through this module, so they agree on what happened.
 *
 * Three ways to read, from cheapest to most complete:
 * - `loadRoundHistory`: one round's events, from a lower bound (its `RoundOpened` block, or the
 *   project's creation block) to the latest block;
 * - `ProjectHistoryReader`: the whole history, kept up to date incrementally: each `refresh()`
 *   reads only the blocks added since the last one, so a node that checks every few seconds
 *   whether its round ended never rescans the chain;
 * - `loadProjectHistory`: the whole history in one read (the status table, the audit).
 *
 * The history is what the logs say between `fromBlock` and `toBlock`; a history read from a
 * later block than the project's creation simply lacks the earlier events (the audit says so).
 */
import { toBeHex, type TopicFilter } from "ethers";
import { globalDelta } from "@fedmarket/core";
import { previousModelOpening } from "../global-model.ts";
import { fedMarketInterface } from "./abi.ts";
import type { ParsedEvent } from "./events.ts";
import type { FedMarketClient } from "./fedmarket.ts";
import {
  EVENT_DECODERS,
  type AcceptanceRecord,
  type AppointmentRecord,
  type CancellationRecord,
  type BondReleaseRecord,
  type ChallengeAnsweredRecord,
  type ChallengeProofsRecord,
  type ChallengeRecord,
  type ChunkBatchRecord,
  type ChunksCommittedRecord,
  type RoundSettledRecord,
  type RoundVoidedRecord,
  type ClosingRecord,
  type ContributionRecord,
  type DecodedEventName,
  type EventRecords,
  type ExpiryRecord,
  type FundingRecord,
  type ProjectCreatedRecord,
  type RefundClaimRecord,
  type RegistrationRecord,
  type RoundEndRecord,
  type RoundOpenedRecord,
  type StakeReleaseRecord,
  type SubmissionRecord,
  type CommitRecord,
  type FlagRecord,
  type ReferenceAnswerPartRecord,
  type ReferenceAnswerRecord,
  type ReferenceCommitRecord,
  type ReferenceFlagRecord,
  type ReferencePublicationRecord,
  type PublicationPartRecord,
  type PublicationRecord,
  type ReferenceDepositRecord,
  type SeedRecord,
  withParts,
} from "./records.ts";

/** One round as its events tell it. */
export interface RoundHistory {
  readonly round: number;
  readonly opened?: RoundOpenedRecord;
  /** The draw's seed, once fixed. */
  readonly seed?: SeedRecord;
  /** Sealed commitments, in the order they landed. */
  readonly commits: readonly CommitRecord[];
  /** Revealed updates, in slot order. */
  readonly submissions: readonly SubmissionRecord[];
  readonly chunkBatches: readonly ChunkBatchRecord[];
  readonly contributions: readonly ContributionRecord[];
  /** The owner's reference commitment (`ReferenceCommitted`), if it committed one this round. */
  readonly referenceCommitted?: ReferenceCommitRecord;
  /** Where the owner published that reference (`ReferencePublished`), if it did. */
  readonly referencePublished?: ReferencePublicationRecord;
  /** The aggregator's flag of that reference (`ReferenceFlagged`), if it raised one. */
  readonly referenceFlagged?: ReferenceFlagRecord;
  /** Parts of the flagged reference answered by the owner (`ReferencePartAnswered`), in order. */
  readonly referenceAnswerParts?: readonly ReferenceAnswerPartRecord[];
  /** The answer that completed them (`ReferenceAnswered`): the reference, opened on chain. */
  readonly referenceAnswered?: ReferenceAnswerRecord;
  /** How the reference deposit was settled when the round closed (`ReferenceDepositSettled`). */
  readonly referenceDeposit?: ReferenceDepositRecord;
  /** Slots the aggregator flagged as not available (`UpdateFlagged`), in the order they landed. */
  readonly flags: readonly FlagRecord[];
  /**
   * Sealed updates published in answer to a flag (`UpdatePublished`), in the order they landed,
   * each whole: the parts its trainer published first (`publicationParts`) are prepended.
   */
  readonly publications: readonly PublicationRecord[];
  /** Parts of sealed updates published ahead of their `UpdatePublished` (`UpdatePartPublished`). */
  readonly publicationParts: readonly PublicationPartRecord[];
  /** How the round ended; absent while it is open. */
  readonly end?: RoundEndRecord;
  /** An optimistic round's commitment, challenges and outcome (IFedMarketOptimistic); absent for a proven round. */
  readonly optimistic?: OptimisticRoundHistory;
}

/**
 * Where a round's owner reference stands (IFedMarket "The owner's reference"): not committed,
 * committed only, published, published and flagged by the aggregator (unanswered so far: the round
 * has no reference unless someone answers in time), or flagged and answered on chain.
 */
export type ReferenceState = "none" | "committed" | "published" | "flagged" | "answered";

/** The state of `r`'s reference, from its events. */
export function referenceState(r: RoundHistory): ReferenceState {
  if (r.referenceCommitted === undefined) return "none";
  if (r.referencePublished === undefined) return "committed";
  if (r.referenceFlagged === undefined) return "published";
  return r.referenceAnswered === undefined ? "flagged" : "answered";
}

/**
 * The reference the decision proof of `r` takes (its public input 6, as FedMarket's
 * `decisionPublicInputs` passes it): the owner's commitment when the reference counts, published and
 * not left flagged (`referenceState` "published" or "answered"); 0 otherwise (none, committed and
 * withheld, or flagged and not answered), and the proof then applies the rule without a reference.
 * Final once the round's chunk proofs could start (its answer deadline and the reference's
 * publication window passed), so always for a finalized round.
 */
export function decisionReference(r: RoundHistory): bigint {
  const state = referenceState(r);
  return state === "published" || state === "answered" ? (r.referenceCommitted?.commitment ?? 0n) : 0n;
}

/** What happened to a round finalized optimistically after its finalization. */
export interface OptimisticRoundHistory {
  readonly committed?: ChunksCommittedRecord;
  /** Challenges in the order they landed (one open at a time). */
  readonly challenges: readonly ChallengeRecord[];
  /** Parts of answers, in order. */
  readonly answerParts: readonly ChallengeProofsRecord[];
  /** Challenges answered in full, in order. */
  readonly answered: readonly ChallengeAnsweredRecord[];
  readonly voided?: RoundVoidedRecord;
  readonly settled?: RoundSettledRecord;
}

/** A project as its events between `fromBlock` and `toBlock` tell it. */
export interface ProjectHistory {
  readonly projectId: bigint;
  /** The blocks read (inclusive). */
  readonly fromBlock: number;
  readonly toBlock: number;
  readonly created?: ProjectCreatedRecord;
  readonly funded: readonly FundingRecord[];
  readonly appointed: readonly AppointmentRecord[];
  readonly accepted: readonly AcceptanceRecord[];
  readonly registered: readonly RegistrationRecord[];
  readonly stakesReleased: readonly StakeReleaseRecord[];
  readonly cancelled?: CancellationRecord;
  /** Nobody accepted the appointment in time and someone closed the project. */
  readonly expired?: ExpiryRecord;
  readonly closed?: ClosingRecord;
  /** Third-party funders' refund claims after the project ended. */
  readonly refundClaims: readonly RefundClaimRecord[];
  /** The bond kept past the end for the last optimistic round, released (at most one). */
  readonly bondsReleased: readonly BondReleaseRecord[];
  /** Rounds in order, indexed by round number (rounds without events in the range are empty). */
  readonly rounds: readonly RoundHistory[];
}

/** What reading history needs from a client: `FedMarketClient` (its window size and retry policy apply). */
export type HistoryClient = Pick<FedMarketClient, "queryEvents" | "blockNumber">;

export interface HistoryReadOptions {
  /** First block (default 0; the project's creation block is the tightest safe bound). */
  readonly fromBlock?: number;
  /** Last block, inclusive (default: the latest block when the read starts). */
  readonly toBlock?: number;
  /** Blocks per `eth_getLogs` call (default: the client's). */
  readonly blockRange?: number;
}

/** The events a project history is made of (every decoded event; all are indexed by project first). */
export const HISTORY_EVENTS = Object.keys(EVENT_DECODERS) as readonly DecodedEventName[];

/** Those also indexed by round second (the ABI says which), so that a read can select one round. */
export const ROUND_EVENTS: readonly DecodedEventName[] = HISTORY_EVENTS.filter((name) => {
  const second = fedMarketInterface.getEvent(name)?.inputs[1];
  return second?.name === "round" && second.indexed === true;
});

type Draft<T> = { -readonly [K in keyof T]: T[K] extends readonly (infer U)[] ? U[] : T[K] };
type RoundDraft = Draft<RoundHistory>;
interface HistoryDraft extends Omit<Draft<ProjectHistory>, "rounds"> {
  rounds: RoundDraft[];
}

/** A round nothing is known about yet. */
export function emptyRoundHistory(round: number): RoundHistory {
  return { round, commits: [], submissions: [], chunkBatches: [], contributions: [], flags: [], publications: [], publicationParts: [] };
}

function roundOf(h: HistoryDraft, round: number): RoundDraft {
  for (let i = h.rounds.length; i <= round; i++) h.rounds.push(emptyRoundHistory(i) as RoundDraft);
  return h.rounds[round] as RoundDraft;
}

/** The optimistic part of `round`, created on its first event. */
function optimisticOf(h: HistoryDraft, round: number): Draft<OptimisticRoundHistory> {
  const r = roundOf(h, round);
  r.optimistic ??= { challenges: [], answerParts: [], answered: [] };
  return r.optimistic as Draft<OptimisticRoundHistory>;
}

/**
 * Where each decoded event goes in the history. Typed over every decoded event, so a new entry
 * in `EVENT_DECODERS` does not compile until it is filed here too.
 */
const FILE: { readonly [K in DecodedEventName]: (h: HistoryDraft, r: EventRecords[K]) => void } = {
  ProjectCreated: (h, r) => {
    h.created = r;
  },
  ProjectFunded: (h, r) => {
    h.funded.push(r);
  },
  AggregatorAppointed: (h, r) => {
    h.appointed.push(r);
  },
  AggregatorAccepted: (h, r) => {
    h.accepted.push(r);
  },
  TrainerRegistered: (h, r) => {
    h.registered.push(r);
  },
  StakeReleased: (h, r) => {
    h.stakesReleased.push(r);
  },
  RoundOpened: (h, r) => {
    roundOf(h, r.round).opened = r;
  },
  SeedDrawn: (h, r) => {
    roundOf(h, r.round).seed = r;
  },
  SeedReanchored: () => {
    // the seed that counts is the one SeedDrawn reports
  },
  UpdateCommitted: (h, r) => {
    roundOf(h, r.round).commits.push(r);
  },
  UpdateRevealed: (h, r) => {
    // reveals land in any order; slots are the draw's
    const submissions = roundOf(h, r.round).submissions;
    submissions.push(r);
    submissions.sort((a, b) => a.slot - b.slot);
  },
  ReferenceCommitted: (h, r) => {
    roundOf(h, r.round).referenceCommitted = r;
  },
  ReferencePublished: (h, r) => {
    roundOf(h, r.round).referencePublished = r;
  },
  ReferenceFlagged: (h, r) => {
    roundOf(h, r.round).referenceFlagged = r;
  },
  ReferencePartAnswered: (h, r) => {
    const round = roundOf(h, r.round);
    round.referenceAnswerParts = [...(round.referenceAnswerParts ?? []), r];
  },
  ReferenceAnswered: (h, r) => {
    roundOf(h, r.round).referenceAnswered = r;
  },
  ReferenceDepositSettled: (h, r) => {
    roundOf(h, r.round).referenceDeposit = r;
  },
  UpdateFlagged: (h, r) => {
    roundOf(h, r.round).flags.push(r);
  },
  UpdatePartPublished: (h, r) => {
    roundOf(h, r.round).publicationParts.push(r);
  },
  UpdatePublished: (h, r) => {
    // A slot's parts land before the publication that completes them.
    const round = roundOf(h, r.round);
    round.publications.push(withParts(r, round.publicationParts));
  },
  ChunkProofsAccepted: (h, r) => {
    roundOf(h, r.round).chunkBatches.push(r);
  },
  ContributionRecorded: (h, r) => {
    roundOf(h, r.round).contributions.push(r);
  },
  RoundFinalized: (h, r) => {
    roundOf(h, r.round).end = r;
  },
  RoundSkipped: (h, r) => {
    roundOf(h, r.round).end = r;
  },
  ChunksCommitted: (h, r) => {
    optimisticOf(h, r.round).committed = r;
  },
  RoundChallenged: (h, r) => {
    optimisticOf(h, r.round).challenges.push(r);
  },
  ChallengeProofsAccepted: (h, r) => {
    optimisticOf(h, r.round).answerParts.push(r);
  },
  ChallengeAnswered: (h, r) => {
    optimisticOf(h, r.round).answered.push(r);
  },
  RoundVoided: (h, r) => {
    optimisticOf(h, r.round).voided = r;
  },
  RoundSettled: (h, r) => {
    optimisticOf(h, r.round).settled = r;
  },
  BondReleased: (h, r) => {
    h.bondsReleased.push(r);
  },
  RoundFailed: (h, r) => {
    roundOf(h, r.round).end = r;
  },
  ProjectCancelled: (h, r) => {
    h.cancelled = r;
  },
  ProjectExpired: (h, r) => {
    h.expired = r;
  },
  ProjectClosed: (h, r) => {
    h.closed = r;
  },
  RefundClaimed: (h, r) => {
    h.refundClaims.push(r);
  },
};

function isDecoded(name: string): name is DecodedEventName {
  return Object.hasOwn(EVENT_DECODERS, name);
}

function file<K extends DecodedEventName>(h: HistoryDraft, name: K, e: ParsedEvent): void {
  FILE[name](h, EVENT_DECODERS[name](e) as EventRecords[K]);
}

/** Chain order: block, then position in the block. */
function byChainOrder(a: ParsedEvent, b: ParsedEvent): number {
  return a.blockNumber - b.blockNumber || a.logIndex - b.logIndex;
}

const word = (v: bigint | number): string => toBeHex(v, 32);

function historyTopics(projectId: bigint, round: number | undefined): TopicFilter {
  const names = round === undefined ? HISTORY_EVENTS : ROUND_EVENTS;
  // An event the deployed ABI lacks is simply not asked for.
  const topic0 = names.map((name) => fedMarketInterface.getEvent(name)?.topicHash).filter((t): t is string => t !== undefined);
  return round === undefined ? [topic0, word(projectId)] : [topic0, word(projectId), word(round)];
}

/**
 * Every history event of `projectId` (of one round with `round`) in `[fromBlock, toBlock]`, in
 * chain order. One `eth_getLogs` filter covers all event kinds, so a read costs one call per window.
 */
export async function projectEvents(
  client: HistoryClient,
  projectId: bigint,
  options: HistoryReadOptions & { readonly round?: number } = {},
): Promise<ParsedEvent[]> {
  const events = await client.queryEvents(historyTopics(projectId, options.round), {
    ...(options.fromBlock === undefined ? {} : { fromBlock: options.fromBlock }),
    ...(options.toBlock === undefined ? {} : { toBlock: options.toBlock }),
    ...(options.blockRange === undefined ? {} : { blockRange: options.blockRange }),
  });
  return events.sort(byChainOrder);
}

/**
 * Replays a project's events (any order; other events are ignored) into its history. Pure, so a
 * history is a function of the logs: readers that saw the same logs agree.
 */
export function buildHistory(
  projectId: bigint,
  events: readonly ParsedEvent[],
  span: { readonly fromBlock: number; readonly toBlock: number } = {
    fromBlock: 0,
    toBlock: events.reduce((max, e) => Math.max(max, e.blockNumber), 0),
  },
): ProjectHistory {
  const h: HistoryDraft = {
    projectId,
    fromBlock: span.fromBlock,
    toBlock: span.toBlock,
    funded: [],
    appointed: [],
    accepted: [],
    registered: [],
    stakesReleased: [],
    refundClaims: [],
    bondsReleased: [],
    rounds: [],
  };
  for (const e of [...events].sort(byChainOrder)) {
    if (!isDecoded(e.eventName) || BigInt(e.args.projectId as bigint) !== projectId) continue;
    file(h, e.eventName, e);
  }
  for (const r of h.rounds) r.submissions.sort((x, y) => x.slot - y.slot);
  return h;
}

/** What `projectCreationBlock` needs of a client: calls at past blocks and the latest block. */
export type CreationBlockClient = Pick<FedMarketClient, "address" | "provider" | "read" | "blockNumber">;

/**
 * The block in which project `projectId` was created (its `ProjectCreated` event), found by
 * bisecting `projectCount()` over past blocks: ids are handed out in order, so the project exists
 * exactly from that block on. About log2(latest block) `eth_call`s, where finding the event by its
 * logs would scan every block from 0 in `blockRange` windows. `undefined` when the project does
 * not exist (yet). Needs an endpoint that answers calls at old blocks (an archive node, a dev
 * chain); a pruned node's refusal is thrown as the client reports it.
 */
export async function projectCreationBlock(client: CreationBlockClient, projectId: bigint): Promise<number | undefined> {
  const data = fedMarketInterface.encodeFunctionData("projectCount");
  const countAt = async (blockTag: number): Promise<bigint> => {
    const raw = await client.read("projectCount", () => client.provider.call({ to: client.address, data, blockTag }));
    // Before the marketplace was deployed its address has no code, and no projects.
    return raw === "0x" ? 0n : BigInt(fedMarketInterface.decodeFunctionResult("projectCount", raw)[0] as bigint);
  };
  let hi = await client.blockNumber();
  if ((await countAt(hi)) < projectId) return undefined;
  let lo = 0;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if ((await countAt(mid)) >= projectId) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The project's whole history in `[fromBlock, toBlock]`, read in bounded windows. */
export async function loadProjectHistory(
  client: HistoryClient,
  projectId: bigint,
  options: HistoryReadOptions = {},
): Promise<ProjectHistory> {
  const fromBlock = options.fromBlock ?? 0;
  const toBlock = options.toBlock ?? (await client.blockNumber());
  const events = await projectEvents(client, projectId, { ...options, fromBlock, toBlock });
  return buildHistory(projectId, events, { fromBlock, toBlock });
}

/**
 * One round's events only, from `fromBlock` (its `RoundOpened` block when known, which bounds the
 * read to the round's own blocks). What a node needs when it must see every log of its round even
 * if an incremental reader missed one (the aggregator's collect step checks the count).
 */
export async function loadRoundHistory(
  client: HistoryClient,
  projectId: bigint,
  round: number,
  options: HistoryReadOptions = {},
): Promise<RoundHistory> {
  const events = await projectEvents(client, projectId, { ...options, round });
  return buildHistory(projectId, events).rounds[round] ?? emptyRoundHistory(round);
}

/**
 * Blocks a refresh reads again by default: an RPC node behind a load balancer can report a block
 * before its logs are indexed, and re-reading the last few blocks (deduplicated) finds such a log
 * on the next refresh instead of never.
 */
export const DEFAULT_OVERLAP_BLOCKS = 8;

export interface HistoryReaderOptions extends Omit<HistoryReadOptions, "toBlock"> {
  /** Blocks each refresh reads again (default `DEFAULT_OVERLAP_BLOCKS`). */
  readonly overlapBlocks?: number;
}

/**
 * A project's history kept current incrementally: the first `refresh()` reads from `fromBlock`,
 * each later one only the blocks since (plus `overlapBlocks` again); the events read so far are
 * kept, deduplicated, and replayed into a fresh `ProjectHistory`. Logs are taken as final once
 * read: a reorganisation that removes one is not undone (wait for confirmations before acting on
 * a history if that matters). Concurrent refreshes run one after the other, so none returns a
 * history older than the chain was when it was called.
 */
export class ProjectHistoryReader {
  readonly projectId: bigint;
  readonly #client: HistoryClient;
  readonly #fromBlock: number;
  readonly #blockRange: number | undefined;
  readonly #overlap: number;
  readonly #events: ParsedEvent[] = [];
  readonly #seen = new Set<string>();
  #nextBlock: number;
  #history: ProjectHistory;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(client: HistoryClient, projectId: bigint, options: HistoryReaderOptions = {}) {
    const overlap = options.overlapBlocks ?? DEFAULT_OVERLAP_BLOCKS;
    if (!Number.isInteger(overlap) || overlap < 0) throw new RangeError(`overlapBlocks ${overlap} must be a non-negative integer`);
    this.projectId = projectId;
    this.#client = client;
    this.#fromBlock = options.fromBlock ?? 0;
    this.#blockRange = options.blockRange;
    this.#overlap = overlap;
    this.#nextBlock = this.#fromBlock;
    this.#history = buildHistory(projectId, [], { fromBlock: this.#fromBlock, toBlock: this.#fromBlock - 1 });
  }

  /** The history as of the last refresh (empty before the first). */
  get history(): ProjectHistory {
    return this.#history;
  }

  /** Reads the blocks added since the last refresh and returns the updated history. */
  refresh(): Promise<ProjectHistory> {
    const next = this.#queue.then(() => this.#read());
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #read(): Promise<ProjectHistory> {
    const latest = await this.#client.blockNumber();
    const fromBlock = Math.max(this.#fromBlock, this.#nextBlock - this.#overlap);
    // Nothing to read (no overlap and no new block, or an endpoint behind the last one we asked).
    if (latest < fromBlock) return this.#history;
    const fresh = await projectEvents(this.#client, this.projectId, {
      fromBlock,
      toBlock: latest,
      ...(this.#blockRange === undefined ? {} : { blockRange: this.#blockRange }),
    });
    let added = false;
    for (const e of fresh) {
      const key = `${e.transactionHash}:${e.logIndex}`;
      if (this.#seen.has(key)) continue;
      this.#seen.add(key);
      this.#events.push(e);
      added = true;
    }
    this.#nextBlock = Math.max(this.#nextBlock, latest + 1);
    const span = { fromBlock: this.#fromBlock, toBlock: this.#nextBlock - 1 };
    // Unchanged logs keep the same history object, so callers can tell nothing happened.
    if (added) this.#history = buildHistory(this.projectId, this.#events, span);
    else if (this.#history.toBlock !== span.toBlock) this.#history = { ...this.#history, toBlock: span.toBlock };
    return this.#history;
  }
}

/** How round `round` ended, or `undefined` while it has not (as far as the history goes). */
export function roundEnd(history: ProjectHistory, round: number): RoundEndRecord | undefined {
  return history.rounds[round]?.end;
}

/** The block of round `round`'s `RoundOpened`: no event of the round is older, so reads of it can start there. */
export function roundOpenedBlock(history: ProjectHistory, round: number): number | undefined {
  return history.rounds[round]?.opened?.blockNumber;
}

/**
 * The slots of a round flagged as not available (`UpdateFlagged`) that no `UpdatePublished` answered,
 * ascending: what the contract passes to the decision proof with commitment 0 (empty, unpaid) once
 * the answer deadline has passed. While it has not, these are only the slots still waiting for an
 * answer. A slot is flagged at most once per round and answered at most once (the contract's rules).
 */
export function unansweredSlots(round: Pick<RoundHistory, "flags" | "publications">): number[] {
  const answered = new Set(round.publications.map((p) => p.slot));
  return [...new Set(round.flags.map((f) => f.slot))].filter((slot) => !answered.has(slot)).sort((a, b) => a - b);
}

/** Round `round`'s submissions, in slot order. */
export function roundSubmissions(history: ProjectHistory, round: number): readonly SubmissionRecord[] {
  return history.rounds[round]?.submissions ?? [];
}

/** The last change of the global model before a round: the model it opened on and the one that model replaced. */
export interface ModelChange {
  /** The `RoundOpened` of the latest earlier round that opened on a different model. */
  readonly previous: RoundOpenedRecord;
  /** The round's own `RoundOpened`. */
  readonly current: RoundOpenedRecord;
}

/**
 * The last change of the global model before round `round`, from the `RoundOpened` events alone
 * (skipped and failed rounds leave the model unchanged, so the previous model is the latest one
 * that differs). `undefined` while the model has never changed, or when the history lacks the
 * round's opening.
 */
export function lastModelChange(history: ProjectHistory, round: number): ModelChange | undefined {
  const current = history.rounds[round]?.opened;
  if (current === undefined) return undefined;
  const opened = history.rounds.flatMap((r) => (r.opened === undefined ? [] : [r.opened]));
  const previous = previousModelOpening(opened, round, current.modelCommitment);
  return previous === undefined ? undefined : { previous, current };
}

/**
 * Loads the global model a `RoundOpened` names, quantized with the project's scale (the units of
 * updates). `undefined`: the model is not available (`committedModelStep` then says which one).
 */
export type QuantizedModelLoader = (opened: RoundOpenedRecord) => Promise<readonly bigint[] | undefined>;

/** The step committed with a round's model cannot be derived: the history or a model is missing. */
export class ModelStepError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ModelStepError";
  }
}

/**
 * The step committed with the model round `round` opened on (@fedmarket/core `modelCommitment`):
 * the last global delta `g_r - g_{r-1}`, that model minus the one it replaced, in quantized units,
 * derived from public data only (the `RoundOpened` history and the models it names; skipped and
 * failed rounds leave the model unchanged, `lastModelChange`). `undefined` while the model has never
 * changed: the step is zero, as for any initial model. `model` is the round's own model, quantized
 * (every caller has it in hand: it checks it against the commitment with this step); `loadModel`
 * loads the one it replaced.
 *
 * Every node that checks or proves a model and the testkit's free rider take the step from here, so
 * they cannot disagree on which models count. A step that cannot be derived is never taken for zero
 * (that would fail an honest model's commitment for a reason nobody could see): `ModelStepError`
 * when the history lacks an opening up to `round` or `loadModel` has no model.
 */
export async function committedModelStep(
  history: ProjectHistory,
  round: number,
  model: readonly bigint[],
  loadModel: QuantizedModelLoader,
): Promise<bigint[] | undefined> {
  // Rounds open one after the other, so a complete history has every opening up to `round`; without
  // one, "the model never changed" cannot be told from "its change is before the history".
  const missing = history.rounds.slice(0, round + 1).findIndex((r) => r.opened === undefined);
  if (missing !== -1 || history.rounds.length <= round) {
    const which = missing === -1 ? round : missing;
    throw new ModelStepError(
      `the history of project ${history.projectId} (blocks ${history.fromBlock}-${history.toBlock}) has no RoundOpened of round ${which}, ` +
        `so the step committed with round ${round}'s model cannot be derived: read the history from the project's creation block`,
    );
  }
  const change = lastModelChange(history, round);
  if (change === undefined) return undefined;
  const previous = await loadModel(change.previous);
  if (previous === undefined) {
    throw new ModelStepError(
      `the model ${change.previous.modelCid} that round ${change.previous.round} opened on cannot be loaded: round ${round}'s model ` +
        `commits to its step from that model, so it cannot be checked without it. Make sure IPFS serves ${change.previous.modelCid} (pin it, or use a node that has it) and try again`,
    );
  }
  return globalDelta(model, previous);
}
