/**
 * A project's whole history from chain logs alone: every event indexed by the project id, read in
 * bounded block windows (one `eth_getLogs` filter for all of them), grouped per round. The
 * status table and the audit are both built on it.
 */
import { toBeHex, zeroPadValue } from "ethers";
import { fedMarketInterface, queryEventsChunked, type FedMarketClient, type ParsedEvent } from "@fedmarket/protocol";

/** Events whose first indexed argument is the project id. */
const PROJECT_EVENTS = [
  "ProjectCreated", "ProjectFunded", "AggregatorAppointed", "AggregatorAccepted", "TrainerRegistered", "RoundOpened",
  "UpdateSubmitted", "ChunkProofsAccepted", "ContributionRecorded", "RoundFinalized", "RoundSkipped", "RoundFailed",
  "ProjectCancelled", "ProjectClosed", "StakeReleased",
] as const;

export interface EventRef {
  readonly blockNumber: number;
  readonly transactionHash: string;
  readonly logIndex: number;
}

export interface SubmissionRecord extends EventRef { readonly slot: number; readonly trainer: string; readonly commitment: bigint; readonly cid: string }
export interface ChunkBatchRecord extends EventRef { readonly firstChunk: number; readonly count: number; readonly accumulator: bigint }
export interface ContributionRecord extends EventRef {
  readonly slot: number; readonly trainer: string; readonly status: number; readonly score: bigint; readonly reward: bigint;
}
export type RoundEndRecord =
  | (EventRef & { readonly kind: "finalized"; readonly newModelCommitment: bigint; readonly newModelCid: string; readonly totalScore: bigint; readonly paid: bigint })
  | (EventRef & { readonly kind: "skipped"; readonly submissions: number })
  | (EventRef & { readonly kind: "failed"; readonly aggregator: string; readonly slashed: bigint; readonly perTrainer: bigint });

export interface RoundHistory {
  readonly round: number;
  opened?: EventRef & { readonly reward: bigint; readonly modelCommitment: bigint; readonly modelCid: string; readonly submissionDeadline: number; readonly aggregationDeadline: number };
  readonly submissions: SubmissionRecord[];
  readonly chunkBatches: ChunkBatchRecord[];
  readonly contributions: ContributionRecord[];
  end?: RoundEndRecord;
}

export interface ProjectHistory {
  readonly projectId: bigint;
  created?: EventRef & { readonly owner: string; readonly budget: bigint; readonly paramsHash: string; readonly numChunks: number; readonly initialModelCommitment: bigint; readonly initialModelCid: string; readonly specCid: string; readonly token: string };
  readonly funded: (EventRef & { readonly funder: string; readonly amount: bigint })[];
  readonly accepted: (EventRef & { readonly aggregator: string; readonly amount: bigint; readonly bondPosted: bigint })[];
  readonly appointed: (EventRef & { readonly aggregator: string; readonly bond: bigint })[];
  readonly registered: (EventRef & { readonly trainer: string; readonly stake: bigint })[];
  readonly stakesReleased: (EventRef & { readonly trainer: string; readonly amount: bigint })[];
  cancelled?: EventRef & { readonly refunded: bigint; readonly roundStillOpen: boolean };
  closed?: EventRef & { readonly status: number; readonly budgetRefunded: bigint; readonly bondReleased: bigint };
  /** Rounds in order, indexed by round number. */
  readonly rounds: RoundHistory[];
}

const big = (v: unknown): bigint => BigInt(v as bigint);
const num = (v: unknown): number => Number(v as bigint);
const str = (v: unknown): string => String(v);

function ref(e: ParsedEvent): EventRef {
  return { blockNumber: e.blockNumber, transactionHash: e.transactionHash, logIndex: e.logIndex };
}

/** Every event of `projectId`, sorted by block and log index. */
export async function projectEvents(client: FedMarketClient, projectId: bigint, options: { fromBlock?: number; toBlock?: number; blockRange?: number } = {}): Promise<ParsedEvent[]> {
  const topic0 = PROJECT_EVENTS.map((name) => fedMarketInterface.getEvent(name)?.topicHash).filter((t): t is string => t !== undefined);
  const events = await queryEventsChunked(client.provider, fedMarketInterface, client.address, [topic0, zeroPadValue(toBeHex(projectId), 32)], {
    ...(options.fromBlock === undefined ? {} : { fromBlock: options.fromBlock }),
    ...(options.toBlock === undefined ? {} : { toBlock: options.toBlock }),
    ...(options.blockRange === undefined ? {} : { blockRange: options.blockRange }),
  });
  return events.sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex);
}

/** Groups a project's events into its history. */
export function buildHistory(projectId: bigint, events: readonly ParsedEvent[]): ProjectHistory {
  const h: ProjectHistory = { projectId, funded: [], accepted: [], appointed: [], registered: [], stakesReleased: [], rounds: [] };
  const round = (r: unknown): RoundHistory => {
    const n = num(r);
    for (let i = h.rounds.length; i <= n; i++) h.rounds.push({ round: i, submissions: [], chunkBatches: [], contributions: [] });
    return h.rounds[n] as RoundHistory;
  };
  for (const e of events) {
    const a = e.args;
    switch (e.eventName) {
      case "ProjectCreated": {
        const c = a.config as Record<string, unknown>;
        h.created = {
          ...ref(e), owner: str(a.owner), budget: big(a.budget), paramsHash: str(a.paramsHash), numChunks: num(a.numChunks),
          initialModelCommitment: big(c.initialModelCommitment), initialModelCid: str(c.initialModelCid), specCid: str(c.specCid), token: str(c.token),
        };
        break;
      }
      case "ProjectFunded": h.funded.push({ ...ref(e), funder: str(a.funder), amount: big(a.amount) }); break;
      case "AggregatorAppointed": h.appointed.push({ ...ref(e), aggregator: str(a.aggregator), bond: big(a.bond) }); break;
      case "AggregatorAccepted": h.accepted.push({ ...ref(e), aggregator: str(a.aggregator), amount: big(a.amount), bondPosted: big(a.bondPosted) }); break;
      case "TrainerRegistered": h.registered.push({ ...ref(e), trainer: str(a.trainer), stake: big(a.stake) }); break;
      case "StakeReleased": h.stakesReleased.push({ ...ref(e), trainer: str(a.trainer), amount: big(a.amount) }); break;
      case "RoundOpened":
        round(a.round).opened = {
          ...ref(e), reward: big(a.reward), modelCommitment: big(a.modelCommitment), modelCid: str(a.modelCid),
          submissionDeadline: num(a.submissionDeadline), aggregationDeadline: num(a.aggregationDeadline),
        };
        break;
      case "UpdateSubmitted":
        round(a.round).submissions.push({ ...ref(e), slot: num(a.slot), trainer: str(a.trainer), commitment: big(a.commitment), cid: str(a.cid) });
        break;
      case "ChunkProofsAccepted":
        round(a.round).chunkBatches.push({ ...ref(e), firstChunk: num(a.firstChunk), count: num(a.count), accumulator: big(a.accumulator) });
        break;
      case "ContributionRecorded":
        round(a.round).contributions.push({ ...ref(e), slot: num(a.slot), trainer: str(a.trainer), status: num(a.status), score: big(a.score), reward: big(a.reward) });
        break;
      case "RoundFinalized":
        round(a.round).end = { ...ref(e), kind: "finalized", newModelCommitment: big(a.newModelCommitment), newModelCid: str(a.newModelCid), totalScore: big(a.totalScore), paid: big(a.paid) };
        break;
      case "RoundSkipped": round(a.round).end = { ...ref(e), kind: "skipped", submissions: num(a.submissions) }; break;
      case "RoundFailed":
        round(a.round).end = { ...ref(e), kind: "failed", aggregator: str(a.aggregator), slashed: big(a.slashed), perTrainer: big(a.perTrainer) };
        break;
      case "ProjectCancelled": h.cancelled = { ...ref(e), refunded: big(a.refunded), roundStillOpen: Boolean(a.roundStillOpen) }; break;
      case "ProjectClosed": h.closed = { ...ref(e), status: num(a.status), budgetRefunded: big(a.budgetRefunded), bondReleased: big(a.bondReleased) }; break;
      default: break;
    }
  }
  for (const r of h.rounds) r.submissions.sort((x, y) => x.slot - y.slot);
  return h;
}

export async function loadProjectHistory(client: FedMarketClient, projectId: bigint, options: { fromBlock?: number; blockRange?: number } = {}): Promise<ProjectHistory> {
  return buildHistory(projectId, await projectEvents(client, projectId, options));
}
