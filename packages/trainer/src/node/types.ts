/**
 * The trainer node's shared vocabulary: its options (what every step receives), the round's named
 * crash points and what a round attempt ends with.
 */
import type { Signer } from "ethers";
import type { BlobStore, FedMarketClient, NodeLogger } from "@fedmarket/protocol";
import type { BackendInfo } from "@fedmarket/ml";
import type { RoundEntry, StateStore } from "./state.ts";
import type { UpdateProducer } from "./update-producer.ts";

/** Named points of a round where a test (or FEDMARKET_TEST_CRASH_AT) can simulate a crash. */
export const CHECKPOINTS = [
  "after-train",
  "after-seal",
  "after-pin",
  "commit-sent-before-state",
  "after-commit",
  "sent-before-state",
  "after-send",
  "after-confirm",
] as const;
export type Checkpoint = (typeof CHECKPOINTS)[number];

export interface TrainerNodeOptions {
  readonly client: FedMarketClient;
  readonly signer: Signer;
  readonly address: string;
  readonly chainId: bigint;
  readonly store: BlobStore;
  /** Human description of the store, for error messages (e.g. "Kubo at http://..."). */
  readonly storeName: string;
  readonly state: StateStore;
  readonly logger: NodeLogger;
  /** Local training data location (needed by `run`). */
  readonly data?: string;
  readonly seed?: number;
  readonly pollIntervalMs?: number;
  /** Wall clock of the waits' heartbeat and chain-stall warning (default `Date.now`; tests fake it). */
  readonly now?: () => number;
  readonly confirmations?: number;
  /**
   * Most chunks of a sealed update one answer transaction carries (default
   * @fedmarket/protocol `DEFAULT_ANSWER_CHUNKS_PER_TX`); a larger update is published in parts (steps/answer.ts).
   */
  readonly answerChunksPerTx?: number;
  readonly ipfsTimeoutMs?: number;
  readonly ipfsRetries?: number;
  /** Backend already selected (tests share one); otherwise `selectBackend()` on first use. */
  readonly backend?: BackendInfo;
  /** Called at each checkpoint; throwing (or killing the process) simulates a crash there. */
  readonly onCheckpoint?: (name: Checkpoint) => void | Promise<void>;
  /** What this node submits each round (default: `LocalTrainingProducer`, honest local training). */
  readonly producer?: UpdateProducer;
}

export type RoundOutcome =
  | { readonly kind: "submitted"; readonly round: number; readonly entry: RoundEntry }
  /**
   * The sealed commitment is in; the reveal window has not opened yet (call again then): it opens
   * at chain time `revealOpensAt`; the latest block's timestamp was `chainTime`.
   */
  | {
      readonly kind: "committed";
      readonly round: number;
      readonly entry: RoundEntry;
      readonly revealOpensAt: number;
      readonly chainTime: number;
    }
  | { readonly kind: "already-submitted"; readonly round: number; readonly entry: RoundEntry }
  | { readonly kind: "ended"; readonly status: string }
  | { readonly kind: "waiting"; readonly reason: string };
