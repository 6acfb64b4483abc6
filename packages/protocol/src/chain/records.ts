/**
 * One decoded type per marketplace event (IFedMarket), shared by every reader of chain history:
 * the client's event queries (fedmarket.ts) and the project history (history.ts), and through them
 * the aggregator, the trainer, the status command and the audit. Values are plain TypeScript:
 * `uint256` -> `bigint`; `uint8`/`uint32`/`uint64` (slots, counts, statuses, timestamps) ->
 * `number`; addresses and `bytes32` -> strings. Every record says where its log is (`EventRef`),
 * because readers go on from there: proofs are in the transaction's calldata, credits in its receipt.
 *
 * Adding an event: write its record type and decoder here and list it in `EVENT_DECODERS`; the
 * compiler then asks history.ts for the line that files the record into a `ProjectHistory`.
 */
import type { CurvePoint } from "@fedmarket/core";
import type { ParsedEvent } from "./events.ts";
import type { HyperParams, SealKey } from "./fedmarket.ts";

/** Where a log is: enough to order logs and to fetch the transaction that emitted it. */
export interface EventRef {
  readonly blockNumber: number;
  readonly transactionHash: string;
  readonly logIndex: number;
}

/** The events this module decodes are indexed by their project first ... */
export interface ProjectEventRecord extends EventRef {
  readonly projectId: bigint;
}

/** ... and the round-scoped ones by their round second (a filter can select one round). */
export interface RoundEventRecord extends ProjectEventRecord {
  readonly round: number;
}

/** `ProjectCreated`: the fields of its `config` the readers use, and what was escrowed. */
export interface ProjectCreatedRecord extends ProjectEventRecord {
  readonly owner: string;
  readonly token: string;
  readonly budget: bigint;
  /** The first round's reward and the decay of each next one (`config.rewardPerRound`, `rewardDecayPpm`). */
  readonly rewardPerRound: bigint;
  readonly rewardDecayPpm: number;
  readonly numRounds: number;
  readonly paramsHash: string;
  readonly numChunks: number;
  readonly initialModelCommitment: bigint;
  readonly initialModelCid: string;
  readonly specCid: string;
}

/** `ProjectFunded`: a budget top-up (the amount received). */
export interface FundingRecord extends ProjectEventRecord {
  readonly funder: string;
  readonly amount: bigint;
}

/** `AggregatorAppointed`: the owner named an aggregator (at creation or after a failed round). */
export interface AppointmentRecord extends ProjectEventRecord {
  readonly aggregator: string;
  readonly bond: bigint;
  readonly slashAmount: bigint;
}

/**
 * `AggregatorAccepted`: the aggregator accepted its appointment's terms, posted `amount` of bond
 * (`bondPosted` in total: the same, as a failed aggregator's bond is returned with the failure) and
 * registered its seal key.
 */
export interface AcceptanceRecord extends ProjectEventRecord {
  readonly aggregator: string;
  readonly amount: bigint;
  readonly bondPosted: bigint;
  readonly sealKey: SealKey;
}

/** `TrainerRegistered`. */
export interface RegistrationRecord extends ProjectEventRecord {
  readonly trainer: string;
  readonly stake: bigint;
}

/** `StakeReleased`: a trainer's stake credited back after the project ended. */
export interface StakeReleaseRecord extends ProjectEventRecord {
  readonly trainer: string;
  readonly amount: bigint;
}

/** `RoundOpened`: the model the round trains on, its reward, deadlines, hyper-parameters and draw candidates. */
export interface RoundOpenedRecord extends RoundEventRecord {
  /** Trainers registered when the round opened: the candidates of its draw. */
  readonly candidates: number;
  /** End of the commit window. */
  readonly submissionDeadline: number;
  readonly revealDeadline: number;
  readonly aggregationDeadline: number;
  readonly reward: bigint;
  readonly modelCommitment: bigint;
  readonly modelCid: string;
  readonly hyperParams: HyperParams;
}

/** `SeedDrawn`: the draw of the round's slots was fixed from the hash of `seedBlock`. */
export interface SeedRecord extends RoundEventRecord {
  readonly seed: bigint;
  readonly seedBlock: number;
}

/** `SeedReanchored`: the seed block moved because nobody read its hash in 256 blocks. */
export interface SeedReanchorRecord extends RoundEventRecord {
  readonly seedBlock: number;
}

/** `UpdateCommitted`: a drawn trainer locked its sealed commitment into `slot`. */
export interface CommitRecord extends RoundEventRecord {
  readonly trainer: string;
  readonly slot: number;
  readonly sealed: string;
}

/** `UpdateRevealed`: a trainer's commitment in `slot` and the CID of its encrypted update. */
export interface SubmissionRecord extends RoundEventRecord {
  readonly trainer: string;
  readonly slot: number;
  readonly commitment: bigint;
  readonly cid: string;
}

/**
 * `ReferenceCommitted`: the owner committed to the round's reference direction, core
 * `referenceCommitment(v, salt)`, in the round's commit window.
 */
export interface ReferenceCommitRecord extends RoundEventRecord {
  readonly commitment: bigint;
  /** The round's reward, moved from the budget into the reference deposit. */
  readonly deposit: bigint;
}

/**
 * `ReferenceDepositSettled`: the round closed holding a reference deposit, `returned` to the budget
 * (the reference counted, or the round had no quorum) or burned (credited to the zero address).
 */
export interface ReferenceDepositRecord extends RoundEventRecord {
  readonly deposit: bigint;
  readonly returned: boolean;
}

/**
 * `ReferencePublished`: the owner published where the round's reference can be read (the
 * `fedmarket-reference/1` blob at `cid`); `commitment` is the one committed earlier in the round.
 */
export interface ReferencePublicationRecord extends RoundEventRecord {
  readonly commitment: bigint;
  readonly cid: string;
}

/** `ReferenceFlagged`: the aggregator said it cannot fetch or open the published reference; answers close at `answerDeadline`. */
export interface ReferenceFlagRecord extends RoundEventRecord {
  readonly answerDeadline: number;
}

/**
 * `ReferencePartAnswered` (`firstChunk` and the packed chunks from it, the owner's) and
 * `ReferenceAnswered` (the rest, and the salt): together the reference's packed values, which
 * opened its commitment on chain.
 */
export interface ReferenceAnswerPartRecord extends RoundEventRecord {
  readonly firstChunk: number;
  readonly packed: readonly bigint[];
}

export interface ReferenceAnswerRecord extends ReferenceAnswerPartRecord {
  readonly salt: bigint;
}

/**
 * `UpdateFlagged`: the aggregator said it could not fetch or open the update revealed in `slot`.
 * Anyone may answer by publishing the slot's sealed update (`UpdatePublished`) before
 * `answerDeadline` (chain time; the round's deadline as it stood after this flag, a later flag in
 * the same round may push it further). A slot flagged and not answered enters the decision proof
 * with commitment 0: an empty slot, unpaid.
 */
export interface FlagRecord extends RoundEventRecord {
  /** The slot's trainer. */
  readonly trainer: string;
  readonly slot: number;
  readonly answerDeadline: number;
}

/**
 * `UpdatePublished`: the sealed update of a flagged `slot`, published as calldata and checked by the
 * contract against the slot's revealed commitment (the events are the data availability). `cipher`
 * is a flat array, chunk-major, of the chunks from `firstChunk` on: the slot's trainer may publish
 * the first chunks in parts (`UpdatePartPublished`, `PublicationPartRecord`) and the event carries
 * the rest. A round's history (history.ts) prepends those parts, so there `firstChunk` is 0 and
 * `cipher` is whole (`numChunks * NP` elements) unless the parts were outside the blocks read. The
 * record does not know `NP` (it is the circuit's, not the event's): `publishedSealedUpdate`
 * (sealed-update.ts) splits `cipher` into chunks with the project's circuit configuration.
 */
export interface PublicationRecord extends RoundEventRecord {
  /** The slot's trainer (not necessarily who sent the transaction: anyone may answer). */
  readonly trainer: string;
  readonly slot: number;
  /** The chunk `cipher` starts at (0 when it is the whole ciphertext). */
  readonly firstChunk: number;
  /** The committed ephemeral key `E`. */
  readonly ephemeral: CurvePoint;
  /** The ciphertext from chunk `firstChunk` on, every chunk's `NP` elements one after the other. */
  readonly cipher: readonly bigint[];
  /** `e` wrapped for the owner (`FMEV` bytes), as in the pinned blob. */
  readonly ownerWrap: Uint8Array;
}

/**
 * `UpdatePartPublished`: chunks from `firstChunk` on of a flagged slot's sealed update, published by
 * its trainer ahead of the `UpdatePublished` that completes them (an update too large for one
 * transaction). Not checked against the commitment on their own.
 */
export interface PublicationPartRecord extends RoundEventRecord {
  readonly trainer: string;
  readonly slot: number;
  readonly firstChunk: number;
  /** Whole chunks, `NP` elements each, one after the other. */
  readonly cipher: readonly bigint[];
}

/**
 * `publication` with the slot's earlier parts (`parts`: the round's `UpdatePartPublished` records, of
 * any slot) prepended, from chunk 0: the whole update. The contract takes a slot's parts in order,
 * each right after the last, so they join without gaps; returned unchanged when `publication`
 * already starts at chunk 0, or when its parts do not reach back to chunk 0 (read from too late a
 * block; `publishedSealedUpdate` then refuses the record).
 */
export function withParts(publication: PublicationRecord, parts: readonly PublicationPartRecord[]): PublicationRecord {
  if (publication.firstChunk === 0) return publication;
  const own = parts
    .filter((p) => p.slot === publication.slot && p.firstChunk < publication.firstChunk)
    .sort((a, b) => a.firstChunk - b.firstChunk);
  if (own[0]?.firstChunk !== 0) return publication;
  return { ...publication, firstChunk: 0, cipher: [...own.flatMap((p) => p.cipher), ...publication.cipher] };
}

/** `ChunkProofsAccepted`: chunk proofs `[firstChunk, firstChunk + count)` verified on chain. */
export interface ChunkBatchRecord extends RoundEventRecord {
  readonly firstChunk: number;
  readonly count: number;
  readonly accumulator: bigint;
}

/** `ContributionRecorded`: one slot's proven status (IFedMarket.SlotStatus), score and reward. */
export interface ContributionRecord extends RoundEventRecord {
  readonly trainer: string;
  readonly slot: number;
  readonly status: number;
  readonly score: bigint;
  readonly reward: bigint;
}

/** `RoundFinalized`: the proven new model, what the round paid and the hyper-parameters it set for the next one. */
export interface RoundFinalizedRecord extends RoundEventRecord {
  readonly kind: "finalized";
  readonly newModelCommitment: bigint;
  readonly newModelCid: string;
  readonly totalScore: bigint;
  readonly paid: bigint;
  /** The next round's hyper-parameters (also recorded for the last round, which opens no next one). */
  readonly nextHyperParams: HyperParams;
}

/** `RoundSkipped`: fewer submissions than the quorum `max(3, 2f + 1)`; nobody is at fault. */
export interface RoundSkippedRecord extends RoundEventRecord {
  readonly kind: "skipped";
  readonly submissions: number;
}

/**
 * `RoundFailed`: the aggregator missed its window: `slashed` of its bond went `slashPerTrainer` to
 * each submitter and the rest to the owner, the round's `reward` was split equally among the
 * submitters, `bondReturned` went back to the aggregator and its appointment ended.
 */
export interface RoundFailedRecord extends RoundEventRecord {
  readonly kind: "failed";
  readonly aggregator: string;
  readonly slashed: bigint;
  readonly slashPerTrainer: bigint;
  readonly reward: bigint;
  readonly bondReturned: bigint;
}

/** How a round ended: exactly one of these events closes every round that ended. */
export type RoundEndRecord = RoundFinalizedRecord | RoundSkippedRecord | RoundFailedRecord;

/**
 * `ChunksCommitted` (IFedMarketOptimistic): the round was finalized optimistically, its chunk
 * accumulators committed by `chunkRoot` (proofs at `proofsCid`), its payouts (`payout` in all,
 * hashed into `payoutHash`) held until `windowEnd`.
 */
export interface ChunksCommittedRecord extends RoundEventRecord {
  readonly accFinal: bigint;
  readonly chunkRoot: string;
  readonly proofsCid: string;
  readonly payout: bigint;
  readonly payoutHash: string;
  readonly windowEnd: number;
}

/** `RoundChallenged`: chunks `[first, first + count)` challenged, `stake` of the bond held until `answerDeadline`. */
export interface ChallengeRecord extends RoundEventRecord {
  readonly challenger: string;
  readonly first: number;
  readonly count: number;
  readonly answerDeadline: number;
  readonly stake: bigint;
}

/** `ChallengeProofsAccepted`: a part of a challenge's answer, chunks `[firstChunk, firstChunk + count)` up to `accOut`. */
export interface ChallengeProofsRecord extends RoundEventRecord {
  readonly firstChunk: number;
  readonly count: number;
  readonly accOut: bigint;
}

/** `ChallengeAnswered`: the open challenge was answered in full; `deposit` went to `aggregator`, `stake` back to the bond. */
export interface ChallengeAnsweredRecord extends RoundEventRecord {
  readonly aggregator: string;
  readonly deposit: bigint;
  readonly stake: bigint;
}

/**
 * `RoundVoided`: an unanswered challenge voided the round: `slashed` of the bond went
 * `slashPerTrainer` to each of its `trainers` revealed slots and the rest to `challenger`, the held
 * `payout` was split equally among those slots, the model went back to `restoredModel`.
 */
export interface RoundVoidedRecord extends RoundEventRecord {
  readonly challenger: string;
  readonly slashed: bigint;
  readonly slashPerTrainer: bigint;
  readonly payout: bigint;
  readonly trainers: number;
  readonly restoredModel: bigint;
  readonly restoredModelCid: string;
}

/** `RoundSettled`: the round's held payouts (`payout` in all) were credited after its window. */
export interface RoundSettledRecord extends RoundEventRecord {
  readonly payout: bigint;
}

/** `BondReleased`: the bond kept past the project's end for its last optimistic round went to `aggregator`. */
export interface BondReleaseRecord extends ProjectEventRecord {
  readonly aggregator: string;
  readonly amount: bigint;
}

/**
 * `ProjectCancelled` in `round`: with a quorum the round runs on (`roundStillOpen`) and the project
 * closes when it ends; otherwise its reward (`rewardToSubmitters`, 0 without submissions) was split
 * equally among its submitters and the project closed at once.
 */
export interface CancellationRecord extends ProjectEventRecord {
  readonly round: number;
  readonly roundStillOpen: boolean;
  readonly rewardToSubmitters: bigint;
}

/** `ProjectExpired`: nobody accepted the appointment by `deadline`; someone closed the project. */
export interface ExpiryRecord extends ProjectEventRecord {
  readonly deadline: number;
}

/**
 * `ProjectClosed`: the final IFedMarket.ProjectStatus and what was released: the unspent budget
 * (`budgetRefunded`, of which `refundPool` is kept for third-party funders and the rest credited to
 * the owner) and the bond.
 */
export interface ClosingRecord extends ProjectEventRecord {
  readonly status: number;
  readonly budgetRefunded: bigint;
  readonly bondReleased: bigint;
  readonly refundPool: bigint;
}

/** `RefundClaimed`: a third-party funder's share of the refund pool, credited to it. */
export interface RefundClaimRecord extends ProjectEventRecord {
  readonly funder: string;
  readonly amount: bigint;
}

/**
 * A log whose decoded arguments lack a field a decoder reads: the ABI (src/abi) and this file
 * disagree, typically after an event changed in IFedMarket.sol. Says which event and field, so
 * the fix is one line here rather than a `BigInt(undefined)` deep in a node.
 */
export class EventDecodeError extends Error {
  readonly eventName: string;
  readonly field: string;
  constructor(eventName: string, field: string) {
    super(`the ${eventName} log has no argument "${field}": packages/protocol/src/chain/records.ts is out of date with the ABI`);
    this.name = "EventDecodeError";
    this.eventName = eventName;
    this.field = field;
  }
}

type Fields = Readonly<Record<string, unknown>>;

function arg(e: ParsedEvent, fields: Fields, name: string): unknown {
  const v = fields[name];
  if (v === undefined || v === null) throw new EventDecodeError(e.eventName, name);
  return v;
}

/** Typed readers of one argument of `e` (or of a tuple argument's `fields`). */
function reader(e: ParsedEvent, fields: Fields = e.args) {
  return {
    big: (name: string): bigint => BigInt(arg(e, fields, name) as bigint),
    num: (name: string): number => Number(arg(e, fields, name) as bigint),
    str: (name: string): string => String(arg(e, fields, name)),
    bool: (name: string): boolean => Boolean(arg(e, fields, name)),
    tuple: (name: string): Fields => arg(e, fields, name) as Fields,
    bigs: (name: string): bigint[] => Array.from(arg(e, fields, name) as Iterable<unknown>, (x) => BigInt(x as bigint)),
    bytes: (name: string): Uint8Array => hexBytes(e, name, arg(e, fields, name)),
    sealKey: (name: string): SealKey => toSealKey(arg(e, fields, name)),
  };
}

/**
 * A decoded `HyperParams` tuple (ethers Result with named fields). Shared by the event decoders
 * and the client's `getProject`/`getCurrentRound` views, so a round's hyper-parameters read the
 * same from either.
 */
export function toHyperParams(v: unknown): HyperParams {
  const h = v as Fields;
  return { learningRateMicros: Number(h.learningRateMicros), localEpochs: Number(h.localEpochs), batchSize: Number(h.batchSize) };
}

/**
 * A decoded `uint256[2]` seal key (an ethers Result or array) as `[x, y]`. Shared by the
 * `AggregatorAccepted` decoder and the client's `getProject` view.
 */
export function toSealKey(v: unknown): SealKey {
  const [x, y] = Array.from(v as Iterable<unknown>);
  if (x === undefined || y === undefined) throw new RangeError(`${String(v)} is not a seal key [x, y]`);
  return [BigInt(x as bigint), BigInt(y as bigint)];
}

/** A `bytes` argument (ethers gives a `0x` hex string) as bytes. */
function hexBytes(e: ParsedEvent, name: string, v: unknown): Uint8Array {
  if (typeof v !== "string" || !/^0x([0-9a-fA-F]{2})*$/.test(v)) throw new EventDecodeError(e.eventName, name);
  return Uint8Array.from(Buffer.from(v.slice(2), "hex"));
}

function project(e: ParsedEvent): ProjectEventRecord {
  const at = { blockNumber: e.blockNumber, transactionHash: e.transactionHash, logIndex: e.logIndex };
  return { ...at, projectId: reader(e).big("projectId") };
}

function round(e: ParsedEvent): RoundEventRecord {
  return { ...project(e), round: reader(e).num("round") };
}

/** Decodes an `UpdateRevealed` log (the aggregator collects these, the trainer adopts its own). */
export function decodeSubmission(e: ParsedEvent): SubmissionRecord {
  const a = reader(e);
  return { ...round(e), trainer: a.str("trainer"), slot: a.num("slot"), commitment: a.big("commitment"), cid: a.str("cid") };
}

/** Decodes a `RoundOpened` log (the model chain the free-rider rule and the audit walk). */
export function decodeRoundOpened(e: ParsedEvent): RoundOpenedRecord {
  const a = reader(e);
  return {
    ...round(e),
    candidates: a.num("candidates"),
    submissionDeadline: a.num("submissionDeadline"),
    revealDeadline: a.num("revealDeadline"),
    aggregationDeadline: a.num("aggregationDeadline"),
    reward: a.big("reward"),
    modelCommitment: a.big("modelCommitment"),
    modelCid: a.str("modelCid"),
    hyperParams: toHyperParams(a.tuple("hyperParams")),
  };
}

/**
 * Every event the readers decode, by name, with its decoder. The names are also the `topic0`
 * filter of a history read, so an event missing here is never fetched.
 */
export const EVENT_DECODERS = {
  ProjectCreated: (e: ParsedEvent): ProjectCreatedRecord => {
    const a = reader(e);
    const c = reader(e, a.tuple("config"));
    return {
      ...project(e),
      owner: a.str("owner"),
      token: c.str("token"),
      budget: a.big("budget"),
      rewardPerRound: c.big("rewardPerRound"),
      rewardDecayPpm: c.num("rewardDecayPpm"),
      numRounds: c.num("numRounds"),
      paramsHash: a.str("paramsHash"),
      numChunks: a.num("numChunks"),
      initialModelCommitment: c.big("initialModelCommitment"),
      initialModelCid: c.str("initialModelCid"),
      specCid: c.str("specCid"),
    };
  },
  ProjectFunded: (e: ParsedEvent): FundingRecord => {
    const a = reader(e);
    return { ...project(e), funder: a.str("funder"), amount: a.big("amount") };
  },
  AggregatorAppointed: (e: ParsedEvent): AppointmentRecord => {
    const a = reader(e);
    return { ...project(e), aggregator: a.str("aggregator"), bond: a.big("bond"), slashAmount: a.big("slashAmount") };
  },
  AggregatorAccepted: (e: ParsedEvent): AcceptanceRecord => {
    const a = reader(e);
    return {
      ...project(e),
      aggregator: a.str("aggregator"),
      amount: a.big("amount"),
      bondPosted: a.big("bondPosted"),
      sealKey: a.sealKey("sealKey"),
    };
  },
  TrainerRegistered: (e: ParsedEvent): RegistrationRecord => {
    const a = reader(e);
    return { ...project(e), trainer: a.str("trainer"), stake: a.big("stake") };
  },
  StakeReleased: (e: ParsedEvent): StakeReleaseRecord => {
    const a = reader(e);
    return { ...project(e), trainer: a.str("trainer"), amount: a.big("amount") };
  },
  RoundOpened: decodeRoundOpened,
  SeedDrawn: (e: ParsedEvent): SeedRecord => {
    const a = reader(e);
    return { ...round(e), seed: a.big("seed"), seedBlock: a.num("seedBlock") };
  },
  SeedReanchored: (e: ParsedEvent): SeedReanchorRecord => ({ ...round(e), seedBlock: reader(e).num("seedBlock") }),
  UpdateCommitted: (e: ParsedEvent): CommitRecord => {
    const a = reader(e);
    return { ...round(e), trainer: a.str("trainer"), slot: a.num("slot"), sealed: a.str("sealedCommit") };
  },
  UpdateRevealed: decodeSubmission,
  ReferenceCommitted: (e: ParsedEvent): ReferenceCommitRecord => {
    const a = reader(e);
    return { ...round(e), commitment: a.big("commitment"), deposit: a.big("deposit") };
  },
  ReferenceDepositSettled: (e: ParsedEvent): ReferenceDepositRecord => {
    const a = reader(e);
    return { ...round(e), deposit: a.big("deposit"), returned: a.bool("returned") };
  },
  ReferencePublished: (e: ParsedEvent): ReferencePublicationRecord => {
    const a = reader(e);
    return { ...round(e), commitment: a.big("commitment"), cid: a.str("cid") };
  },
  ReferenceFlagged: (e: ParsedEvent): ReferenceFlagRecord => ({ ...round(e), answerDeadline: reader(e).num("answerDeadline") }),
  ReferencePartAnswered: (e: ParsedEvent): ReferenceAnswerPartRecord => {
    const a = reader(e);
    return { ...round(e), firstChunk: a.num("firstChunk"), packed: a.bigs("packed") };
  },
  ReferenceAnswered: (e: ParsedEvent): ReferenceAnswerRecord => {
    const a = reader(e);
    return { ...round(e), firstChunk: a.num("firstChunk"), salt: a.big("salt"), packed: a.bigs("packed") };
  },
  UpdateFlagged: (e: ParsedEvent): FlagRecord => {
    const a = reader(e);
    return { ...round(e), trainer: a.str("trainer"), slot: a.num("slot"), answerDeadline: a.num("answerDeadline") };
  },
  UpdatePartPublished: (e: ParsedEvent): PublicationPartRecord => {
    const a = reader(e);
    return { ...round(e), trainer: a.str("trainer"), slot: a.num("slot"), firstChunk: a.num("firstChunk"), cipher: a.bigs("cipher") };
  },
  UpdatePublished: (e: ParsedEvent): PublicationRecord => {
    const a = reader(e);
    const [x, y] = a.bigs("ephemeral");
    if (x === undefined || y === undefined) throw new EventDecodeError(e.eventName, "ephemeral");
    return {
      ...round(e),
      trainer: a.str("trainer"),
      slot: a.num("slot"),
      firstChunk: a.num("firstChunk"),
      ephemeral: [x, y],
      cipher: a.bigs("cipher"),
      ownerWrap: a.bytes("ownerWrap"),
    };
  },
  ChunkProofsAccepted: (e: ParsedEvent): ChunkBatchRecord => {
    const a = reader(e);
    return { ...round(e), firstChunk: a.num("firstChunk"), count: a.num("count"), accumulator: a.big("accumulator") };
  },
  ContributionRecorded: (e: ParsedEvent): ContributionRecord => {
    const a = reader(e);
    return {
      ...round(e),
      trainer: a.str("trainer"),
      slot: a.num("slot"),
      status: a.num("status"),
      score: a.big("score"),
      reward: a.big("reward"),
    };
  },
  RoundFinalized: (e: ParsedEvent): RoundFinalizedRecord => {
    const a = reader(e);
    return {
      ...round(e),
      kind: "finalized",
      newModelCommitment: a.big("newModelCommitment"),
      newModelCid: a.str("newModelCid"),
      totalScore: a.big("totalScore"),
      paid: a.big("paid"),
      nextHyperParams: toHyperParams(a.tuple("nextHyperParams")),
    };
  },
  RoundSkipped: (e: ParsedEvent): RoundSkippedRecord => ({ ...round(e), kind: "skipped", submissions: reader(e).num("submissions") }),
  RoundFailed: (e: ParsedEvent): RoundFailedRecord => {
    const a = reader(e);
    return {
      ...round(e),
      kind: "failed",
      aggregator: a.str("aggregator"),
      slashed: a.big("slashed"),
      slashPerTrainer: a.big("slashPerTrainer"),
      reward: a.big("reward"),
      bondReturned: a.big("bondReturned"),
    };
  },
  ProjectCancelled: (e: ParsedEvent): CancellationRecord => {
    const a = reader(e);
    return {
      ...project(e),
      round: a.num("round"),
      roundStillOpen: a.bool("roundStillOpen"),
      rewardToSubmitters: a.big("rewardToSubmitters"),
    };
  },
  ProjectExpired: (e: ParsedEvent): ExpiryRecord => ({ ...project(e), deadline: reader(e).num("deadline") }),
  ProjectClosed: (e: ParsedEvent): ClosingRecord => {
    const a = reader(e);
    return {
      ...project(e),
      status: a.num("status"),
      budgetRefunded: a.big("budgetRefunded"),
      bondReleased: a.big("bondReleased"),
      refundPool: a.big("refundPool"),
    };
  },
  RefundClaimed: (e: ParsedEvent): RefundClaimRecord => {
    const a = reader(e);
    return { ...project(e), funder: a.str("funder"), amount: a.big("amount") };
  },
  ChunksCommitted: (e: ParsedEvent): ChunksCommittedRecord => {
    const a = reader(e);
    return {
      ...round(e),
      accFinal: a.big("accFinal"),
      chunkRoot: a.str("chunkRoot"),
      proofsCid: a.str("proofsCid"),
      payout: a.big("payout"),
      payoutHash: a.str("payoutHash"),
      windowEnd: a.num("windowEnd"),
    };
  },
  RoundChallenged: (e: ParsedEvent): ChallengeRecord => {
    const a = reader(e);
    return {
      ...round(e),
      challenger: a.str("challenger"),
      first: a.num("first"),
      count: a.num("count"),
      answerDeadline: a.num("answerDeadline"),
      stake: a.big("stake"),
    };
  },
  ChallengeProofsAccepted: (e: ParsedEvent): ChallengeProofsRecord => {
    const a = reader(e);
    return { ...round(e), firstChunk: a.num("firstChunk"), count: a.num("count"), accOut: a.big("accOut") };
  },
  ChallengeAnswered: (e: ParsedEvent): ChallengeAnsweredRecord => {
    const a = reader(e);
    return { ...round(e), aggregator: a.str("aggregator"), deposit: a.big("deposit"), stake: a.big("stake") };
  },
  RoundVoided: (e: ParsedEvent): RoundVoidedRecord => {
    const a = reader(e);
    return {
      ...round(e),
      challenger: a.str("challenger"),
      slashed: a.big("slashed"),
      slashPerTrainer: a.big("slashPerTrainer"),
      payout: a.big("payout"),
      trainers: a.num("trainers"),
      restoredModel: a.big("restoredModel"),
      restoredModelCid: a.str("restoredModelCid"),
    };
  },
  RoundSettled: (e: ParsedEvent): RoundSettledRecord => ({ ...round(e), payout: reader(e).big("payout") }),
  BondReleased: (e: ParsedEvent): BondReleaseRecord => {
    const a = reader(e);
    return { ...project(e), aggregator: a.str("aggregator"), amount: a.big("amount") };
  },
} as const;

/** The name of an event the readers decode. */
export type DecodedEventName = keyof typeof EVENT_DECODERS;

/** The record type of each decoded event. */
export type EventRecords = { readonly [K in DecodedEventName]: ReturnType<(typeof EVENT_DECODERS)[K]> };
