/**
 * What the aggregator needs from the chain beyond the shared client (@fedmarket/protocol's
 * `FedMarketClient`): the round's `ctx` word, its own transactions (chunk proofs, finalize, skip),
 * simulated with `estimateGas` first so a revert surfaces as a decoded `MarketRevertError`, and
 * the events that say how a round ended (`RoundFinalized`, `RoundSkipped`, `RoundFailed`), queried
 * in bounded block windows with retries.
 */
import { AbiCoder, keccak256, type TransactionReceipt, type TransactionResponse } from "ethers";
import {
  FedMarketClient, fedMarketInterface, queryEventsChunked,
  type EventQueryOptions, type HyperParams, type ParsedEvent, type RetryOptions,
} from "@fedmarket/protocol";

/** `uint256(keccak256(abi.encode(chainId, market, projectId, round, paramsHash)))`. */
export function roundKeccak(chainId: bigint, market: string, projectId: bigint, round: number, paramsHash: string): bigint {
  return BigInt(keccak256(AbiCoder.defaultAbiCoder().encode(
    ["uint256", "address", "uint256", "uint256", "bytes32"], [chainId, market, projectId, round, paramsHash])));
}

/** A chunk proof as `IFedMarket.ChunkProof`. */
export interface ChunkProofArg { readonly proof: readonly bigint[]; readonly accOut: bigint }
/** `IFedMarket.RoundResult`. */
export interface RoundResultArg {
  readonly newModelCommitment: bigint;
  readonly outcomes: readonly bigint[];
  readonly proof: readonly bigint[];
  readonly newModelCid: string;
  /** The next round's hyper-parameters (within the project's bounds; not proven). */
  readonly nextHyperParams: HyperParams;
}

/** How a round ended on chain. */
export type RoundEnd =
  | { readonly kind: "finalized"; readonly txHash: string; readonly blockNumber: number; readonly newModelCommitment: bigint; readonly newModelCid: string; readonly totalScore: bigint; readonly paid: bigint }
  | { readonly kind: "skipped"; readonly txHash: string; readonly blockNumber: number }
  | { readonly kind: "failed"; readonly txHash: string; readonly blockNumber: number };

export class AggregatorChain {
  readonly client: FedMarketClient;
  readonly #retry: RetryOptions;
  readonly #blockRange: number;

  constructor(client: FedMarketClient, options: { retry?: RetryOptions; blockRange?: number } = {}) {
    this.client = client;
    this.#retry = options.retry ?? {};
    this.#blockRange = options.blockRange ?? 2_000;
  }

  /** The contract's own `roundContext(projectId, round)` (the decision proof's `ctx`). */
  roundContext(projectId: bigint, round: number): Promise<bigint> {
    return this.client.read("roundContext", async () => BigInt(await this.client.contract.getFunction("roundContext").staticCall(projectId, round) as bigint));
  }

  #send(name: string, args: readonly unknown[]): Promise<TransactionResponse> {
    // 20% head room over the estimate: proof verification gas is deterministic, storage is not quite.
    return this.client.send(name, args, { gasHeadroomPercent: 20 });
  }

  submitChunkProofs(projectId: bigint, round: number, firstChunk: number, proofs: readonly ChunkProofArg[]): Promise<TransactionResponse> {
    return this.#send("submitChunkProofs", [projectId, round, firstChunk, proofs.map((p) => ({ proof: [...p.proof], accOut: p.accOut }))]);
  }

  finalizeRound(projectId: bigint, round: number, firstChunk: number, proofs: readonly ChunkProofArg[], result: RoundResultArg): Promise<TransactionResponse> {
    return this.#send("finalizeRound", [
      projectId, round, firstChunk, proofs.map((p) => ({ proof: [...p.proof], accOut: p.accOut })),
      {
        newModelCommitment: result.newModelCommitment, outcomes: [...result.outcomes], proof: [...result.proof], newModelCid: result.newModelCid,
        nextHyperParams: { ...result.nextHyperParams },
      },
    ]);
  }

  skipRound(projectId: bigint): Promise<TransactionResponse> {
    return this.#send("skipRound", [projectId]);
  }

  failRound(projectId: bigint): Promise<TransactionResponse> {
    return this.#send("failRound", [projectId]);
  }

  wait(tx: TransactionResponse, confirmations = 1): Promise<TransactionReceipt> {
    return this.client.wait(tx, confirmations);
  }

  /** Waits until the account has no pending transactions (after a crash between send and record). */
  async waitForPending(address: string, pollMs = 500, timeoutMs = 300_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [latest, pending] = await this.client.read("nonce", () => Promise.all([
        this.client.provider.getTransactionCount(address, "latest"), this.client.provider.getTransactionCount(address, "pending"),
      ]));
      if (pending <= latest) return;
      if (Date.now() > deadline) throw new Error(`${pending - latest} transaction(s) of ${address} still pending after ${timeoutMs / 1000} s; check the node's mempool and gas price`);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  async #events(name: string, projectId: bigint, round: number, options: Partial<EventQueryOptions>): Promise<ParsedEvent[]> {
    const topics = fedMarketInterface.encodeFilterTopics(name, [projectId, round]);
    return queryEventsChunked(this.client.provider, fedMarketInterface, this.client.address, topics,
      { blockRange: this.#blockRange, retry: this.#retry, ...options });
  }

  /** How round `round` ended (`undefined`: it has not ended). Searches from `fromBlock`. */
  async roundEnd(projectId: bigint, round: number, fromBlock = 0): Promise<RoundEnd | undefined> {
    const [fin, skip, fail] = await Promise.all([
      this.#events("RoundFinalized", projectId, round, { fromBlock }),
      this.#events("RoundSkipped", projectId, round, { fromBlock }),
      this.#events("RoundFailed", projectId, round, { fromBlock }),
    ]);
    const f = fin[0];
    if (f !== undefined) {
      return {
        kind: "finalized", txHash: f.transactionHash, blockNumber: f.blockNumber,
        newModelCommitment: BigInt(f.args.newModelCommitment as bigint), newModelCid: String(f.args.newModelCid),
        totalScore: BigInt(f.args.totalScore as bigint), paid: BigInt(f.args.paid as bigint),
      };
    }
    const s = skip[0];
    if (s !== undefined) return { kind: "skipped", txHash: s.transactionHash, blockNumber: s.blockNumber };
    const x = fail[0];
    if (x !== undefined) return { kind: "failed", txHash: x.transactionHash, blockNumber: x.blockNumber };
    return undefined;
  }

  /** Block number of the round's `RoundOpened` event (where its submissions start). */
  async roundOpenedBlock(projectId: bigint, round: number, fromBlock = 0): Promise<number | undefined> {
    const events = await this.#events("RoundOpened", projectId, round, { fromBlock });
    return events[0]?.blockNumber;
  }
}
