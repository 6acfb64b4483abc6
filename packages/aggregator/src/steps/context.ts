/**
 * What the steps of a round are given, explicitly: the chain, the blob store, the logger, the
 * node's settings and the round's folder (plus, as arguments, the few resources that outlive a
 * round: the model cache, the provers). A step touches nothing else, so each one can be read (and
 * tested) on its own, and the node (aggregator-node.ts) is left with deciding which step runs next. Like MACI's processing functions, a step takes its world as an argument instead of
 * reaching into a node object.
 */
import { blobFetchOptions, type BlobStore, type NodeLogger } from "@fedmarket/protocol";
import type { AggregatorChain } from "../chain.ts";
import { AggregatorError } from "../errors.ts";
import type { RoundReportStep } from "../report/round-report-step.ts";
import { RoundFiles } from "../store.ts";

/**
 * The points where a round can be interrupted with something new on disk or on chain: the crash
 * tests stop the node at each of them (`onCheckpoint`, `FEDMARKET_TEST_CRASH_AT`) and check that a
 * fresh node finishes the round exactly once.
 */
export const CHECKPOINTS = [
  "after-collect",
  "after-open",
  "after-compute",
  "after-first-proof",
  "after-prove",
  "after-pin",
  "after-chunk-batch-sent",
  "after-finalize-sent",
] as const;
export type Checkpoint = (typeof CHECKPOINTS)[number];

/** The node's settings the steps read (`AggregatorNodeOptions` extends it). */
export interface StepSettings {
  /** The aggregator's account (the signer's address). */
  readonly address: string;
  readonly chainId: bigint;
  /** The data folder: round folders `p<project>/r<round>/`, `verifier-checks.json`. */
  readonly dataDir: string;
  /** The aggregator's seal secret `a` (keys.ts); its seal key `A = a * Base8` is registered on chain. */
  readonly sealSecret: bigint;
  /** Chunk proofs per transaction (default `DEFAULT_CHUNK_BATCH`, 128: steps/submit.ts). */
  readonly chunkBatch?: number;
  readonly confirmations?: number;
  readonly ipfsTimeoutMs?: number;
  readonly ipfsRetries?: number;
  /** Learning-rate decay published with each finalization (`--lr-decay`, default 1 = keep). */
  readonly lrDecay?: number;
  /** Unproven GTG-Shapley / leave-one-out round report, made after a round is finalized (`--validation`). */
  readonly roundReport?: RoundReportStep;
}

/** What the node gives every step, whatever the round. */
export interface NodeContext {
  readonly chain: AggregatorChain;
  readonly store: BlobStore;
  readonly log: NodeLogger;
  readonly config: StepSettings;
  /** The node's checkpoint hook (tests throw or SIGKILL there). */
  readonly checkpoint: (name: Checkpoint) => Promise<void>;
}

/** A `NodeContext` bound to one round of one project and its folder. */
export interface StepContext extends NodeContext {
  readonly projectId: bigint;
  readonly round: number;
  /** `<data>/p<project>/r<round>/`: where the step finds its input and leaves its output. */
  readonly files: RoundFiles;
}

/** The context of round `round` of `projectId`. */
export function stepContext(node: NodeContext, projectId: bigint, round: number): StepContext {
  return { ...node, projectId, round, files: new RoundFiles(node.config.dataDir, projectId, round) };
}

/** Where blobs come from: the store and the node's fetch settings (`setup` and `accept` have no node). */
export interface BlobSource {
  readonly store: BlobStore;
  readonly config: Pick<StepSettings, "ipfsTimeoutMs" | "ipfsRetries">;
}

/** A `BlobSource` outside a node (`setup`, `accept`): the store and whichever fetch settings were given. */
export function blobSource(store: BlobStore, settings: Pick<StepSettings, "ipfsTimeoutMs" | "ipfsRetries"> = {}): BlobSource {
  return {
    store,
    config: {
      ...(settings.ipfsTimeoutMs === undefined ? {} : { ipfsTimeoutMs: settings.ipfsTimeoutMs }),
      ...(settings.ipfsRetries === undefined ? {} : { ipfsRetries: settings.ipfsRetries }),
    },
  };
}

/**
 * Downloads a blob the round cannot do without (spec, global models) with the node's fetch
 * settings; a failure is an `ipfs` error naming what was wanted, since nothing can go on without it.
 */
export async function fetchBlob(ctx: BlobSource, cid: string, what: string): Promise<Uint8Array> {
  try {
    return await ctx.store.get(cid, blobFetchOptions(ctx.config));
  } catch (err) {
    throw new AggregatorError(
      "ipfs",
      `cannot download the ${what} ${cid}: ${(err as Error).message}. Is IPFS reachable (--ipfs-api / --ipfs-repo)?`,
      {
        cause: err,
      },
    );
  }
}

/**
 * Chunk proofs per transaction unless `--chunk-batch` says otherwise (submit.ts, and the answers to
 * challenges in optimistic.ts). The market checks a transaction's chunk proofs with one batch
 * verification, about 53k gas per further proof (bench/gas-batch.json), so 128 take about 7M gas:
 * a round of up to 128 chunks goes in with `finalizeRound` alone, well below the 2^24 gas cap of a
 * transaction (EIP-7825).
 */
export const DEFAULT_CHUNK_BATCH = 128;
