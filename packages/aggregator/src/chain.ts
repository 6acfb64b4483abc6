/**
 * What the aggregator needs from the chain beyond the shared client (@fedmarket/protocol's
 * `FedMarketClient`): the round's `ctx` word, its own transactions (chunk proofs, finalize, skip),
 * simulated with `estimateGas` first so a revert surfaces as a decoded `MarketRevertError`, and
 * the project's history (@fedmarket/protocol history.ts): how a round ended, where it opened, its
 * submissions. The history is read incrementally, once per node and project, so checking every
 * few seconds whether a round ended reads only new blocks, and it starts at the project's creation
 * block (@fedmarket/protocol `projectCreationBlock`), not at block 0.
 */
import type { TransactionReceipt, TransactionResponse } from "ethers";
import {
  loadRoundHistory,
  ProjectHistoryReader,
  roundEnd as endOfRound,
  roundOpenedBlock as openingBlockOf,
  type FedMarketClient,
  type HyperParams,
  type ProjectHistory,
  type FlagRecord,
  type Payout,
  roundPayouts,
  type RoundHistory,
  type PublicationRecord,
  type RoundEndRecord,
  type SubmissionRecord,
  type UnavailableFlags,
} from "@fedmarket/protocol";

export { roundKeccak } from "@fedmarket/protocol";

/** A chunk proof as `IFedMarket.ChunkProof`. */
export interface ChunkProofArg {
  readonly proof: readonly bigint[];
  readonly accOut: bigint;
}
/** `IFedMarket.RoundResult`. */
export interface RoundResultArg {
  readonly newModelCommitment: bigint;
  readonly outcomes: readonly bigint[];
  readonly proof: readonly bigint[];
  readonly newModelCid: string;
  /** The next round's hyper-parameters (within the project's bounds; not proven). */
  readonly nextHyperParams: HyperParams;
}

export interface AggregatorChainOptions {
  /** Blocks per `eth_getLogs` call (default 2,000). */
  readonly blockRange?: number;
  /**
   * First block of a project's history: one block for every project (default 0), or how to find
   * each project's own first block (setup.ts passes its creation block), asked once per project.
   */
  readonly fromBlock?: number | ((projectId: bigint) => Promise<number>);
}

export class AggregatorChain {
  readonly client: FedMarketClient;
  readonly #blockRange: number;
  readonly #fromBlock: number | ((projectId: bigint) => Promise<number>);
  readonly #histories = new Map<bigint, Promise<ProjectHistoryReader>>();

  constructor(client: FedMarketClient, options: AggregatorChainOptions = {}) {
    this.client = client;
    this.#blockRange = options.blockRange ?? 2_000;
    this.#fromBlock = options.fromBlock ?? 0;
  }

  /** The contract's own `roundContext(projectId, round)` (the decision proof's `ctx`). */
  roundContext(projectId: bigint, round: number): Promise<bigint> {
    return this.client.read("roundContext", async () =>
      BigInt((await this.client.contract.getFunction("roundContext").staticCall(projectId, round)) as bigint),
    );
  }

  #send(name: string, args: readonly unknown[]): Promise<TransactionResponse> {
    // 20% head room over the estimate: proof verification gas is deterministic, storage is not quite.
    return this.client.send(name, args, { gasHeadroomPercent: 20 });
  }

  submitChunkProofs(projectId: bigint, round: number, firstChunk: number, proofs: readonly ChunkProofArg[]): Promise<TransactionResponse> {
    return this.#send("submitChunkProofs", [projectId, round, firstChunk, proofs.map(chunkProofTuple)]);
  }

  finalizeRound(
    projectId: bigint,
    round: number,
    firstChunk: number,
    proofs: readonly ChunkProofArg[],
    result: RoundResultArg,
  ): Promise<TransactionResponse> {
    return this.#send("finalizeRound", [projectId, round, firstChunk, proofs.map(chunkProofTuple), resultTuple(result)]);
  }

  /** Finalizes an optimistic round: the decision proof and the commitment to its chunk accumulators (steps/optimistic.ts). */
  finalizeRoundOptimistic(
    projectId: bigint,
    round: number,
    accFinal: bigint,
    chunkRoot: string,
    proofsCid: string,
    result: RoundResultArg,
  ): Promise<TransactionResponse> {
    return this.#send("finalizeRoundOptimistic", [projectId, round, accFinal, chunkRoot, proofsCid, resultTuple(result)]);
  }

  /** Answers (part of) the open challenge of an optimistic round with its chunk proofs. */
  answerChallenge(
    projectId: bigint,
    round: number,
    accIn: bigint,
    accInProof: readonly string[],
    proofs: readonly ChunkProofArg[],
    accOutProof: readonly string[],
  ): Promise<TransactionResponse> {
    return this.#send("answerChallenge", [projectId, round, accIn, [...accInProof], proofs.map(chunkProofTuple), [...accOutProof]]);
  }

  /** Credits an optimistic round's held payouts after its window. */
  settleRound(projectId: bigint, round: number, payouts: readonly { trainer: string; share: bigint }[]): Promise<TransactionResponse> {
    return this.#send("settleRound", [projectId, round, payouts.map((p) => ({ trainer: p.trainer, share: p.share }))]);
  }

  /** The round's payouts (what `settleRound` takes), read for that round alone like `roundSubmissions`. */
  async roundPayouts(projectId: bigint, round: number): Promise<Payout[]> {
    return roundPayouts((await this.#roundHistory(projectId, round)).round);
  }

  /** Flags the revealed updates of `slotMask` as not available (flag.ts): one transaction for the round. */
  flagUnavailable(projectId: bigint, round: number, slotMask: bigint): Promise<TransactionResponse> {
    return this.#send("flagUnavailable", [projectId, round, slotMask]);
  }

  /** Flags the open round's published reference as not available or not opening (steps/reference.ts). */
  flagReference(projectId: bigint, round: number): Promise<TransactionResponse> {
    return this.#send("flagReference", [projectId, round]);
  }

  /**
   * Round `round`'s owner reference as its events tell it (commitment, publication, flag, answer),
   * read for that round alone like `roundFlags`.
   */
  async roundReference(projectId: bigint, round: number): Promise<RoundReferenceEvents> {
    return (await this.#roundHistory(projectId, round)).round;
  }

  /** The open round's flags, answers pending and answer deadline. */
  unavailableFlags(projectId: bigint): Promise<UnavailableFlags> {
    return this.client.unavailableFlags(projectId);
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

  /**
   * The project's history up to the latest block. The first call reads from the project's
   * `fromBlock`, later ones only the blocks added since (history.ts `ProjectHistoryReader`).
   */
  async history(projectId: bigint): Promise<ProjectHistory> {
    let reader = this.#histories.get(projectId);
    if (reader === undefined) {
      const started = this.#reader(projectId);
      this.#histories.set(projectId, started);
      // A failed start (the endpoint was down) is retried by the next call, not remembered.
      started.catch(() => {
        if (this.#histories.get(projectId) === started) this.#histories.delete(projectId);
      });
      reader = started;
    }
    return (await reader).refresh();
  }

  async #reader(projectId: bigint): Promise<ProjectHistoryReader> {
    const fromBlock = typeof this.#fromBlock === "number" ? this.#fromBlock : await this.#fromBlock(projectId);
    return new ProjectHistoryReader(this.client, projectId, { fromBlock, blockRange: this.#blockRange });
  }

  /** How round `round` ended (`undefined`: it has not ended). */
  async roundEnd(projectId: bigint, round: number): Promise<RoundEndRecord | undefined> {
    return endOfRound(await this.history(projectId), round);
  }

  /** Block number of the round's `RoundOpened` event (where its submissions start). */
  async roundOpenedBlock(projectId: bigint, round: number): Promise<number | undefined> {
    return openingBlockOf(await this.history(projectId), round);
  }

  /**
   * Round `round`'s submissions in slot order, read for that round alone from its `RoundOpened`
   * block (the project's creation block if that is unknown): a fresh, complete read of the round's
   * blocks, whatever an earlier incremental read may have missed. `fromBlock` says where it began.
   */
  async roundSubmissions(
    projectId: bigint,
    round: number,
  ): Promise<{ readonly fromBlock: number; readonly submissions: readonly SubmissionRecord[] }> {
    const { fromBlock, round: r } = await this.#roundHistory(projectId, round);
    return { fromBlock, submissions: r.submissions };
  }

  /**
   * Round `round`'s flags (`UpdateFlagged`) and their answers (`UpdatePublished`, with the sealed
   * data), read for that round alone like `roundSubmissions`: a complete read, not the incremental one.
   */
  async roundFlags(
    projectId: bigint,
    round: number,
  ): Promise<{ readonly flags: readonly FlagRecord[]; readonly publications: readonly PublicationRecord[] }> {
    const { flags, publications } = (await this.#roundHistory(projectId, round)).round;
    return { flags, publications };
  }

  /**
   * Round `round`'s events read for that round alone, from its `RoundOpened` block (the project's
   * creation block if that is unknown): a fresh, complete read, not the incremental one.
   */
  async #roundHistory(projectId: bigint, round: number): Promise<{ readonly fromBlock: number; readonly round: RoundHistory }> {
    const h = await this.history(projectId);
    const fromBlock = openingBlockOf(h, round) ?? h.created?.blockNumber ?? h.fromBlock;
    return { fromBlock, round: await loadRoundHistory(this.client, projectId, round, { fromBlock, blockRange: this.#blockRange }) };
  }
}

/** A round's owner reference events: `RoundHistory`'s reference fields. */
export type RoundReferenceEvents = Pick<
  RoundHistory,
  "referenceCommitted" | "referencePublished" | "referenceFlagged" | "referenceAnswerParts" | "referenceAnswered"
>;

/** A chunk proof as the market's ABI takes it (`IFedMarket.ChunkProof`). */
function chunkProofTuple(p: ChunkProofArg): { proof: bigint[]; accOut: bigint } {
  return { proof: [...p.proof], accOut: p.accOut };
}

/** A round's result as the market's ABI takes it (`IFedMarket.RoundResult`). */
function resultTuple(r: RoundResultArg): Record<string, unknown> {
  return {
    newModelCommitment: r.newModelCommitment,
    outcomes: [...r.outcomes],
    proof: [...r.proof],
    newModelCid: r.newModelCid,
    nextHyperParams: { ...r.nextHyperParams },
  };
}
