/**
 * A typed client for the FedMarket contract (ethers v6), built from the exported ABI
 * (src/abi/FedMarket.json, written by scripts/export-abi.ts). Only the calls and events the nodes
 * use are typed here, by hand, with plain TypeScript values: `uint256` -> `bigint`, `uint32` and
 * timestamps (`uint64` seconds) -> `number`, `bytes32` -> `0x` hex string.
 *
 * Reads are retried with exponential backoff on transport errors (retry.ts); reverts are decoded
 * into `MarketRevertError` with a message saying what to do (errors.ts). Event queries walk
 * bounded block ranges (events.ts) and decode into the one record type per event (records.ts)
 * that the project history (history.ts) is made of.
 */
import {
  BaseWallet,
  Contract,
  ZeroAddress,
  getAddress,
  hexlify,
  keccak256,
  type ContractRunner,
  type Provider,
  type TopicFilter,
  type TransactionReceipt,
  type TransactionResponse,
} from "ethers";
import { FEDMARKET_ABI, ROUND_VERIFIER_ABI, fedMarketInterface } from "./abi.ts";
import { RpcUnavailableError, WrongNetworkError, toMarketError } from "./errors.ts";
import { isTransientRpcError, withRetries, type RetryOptions } from "./retry.ts";
import { queryEventsChunked, type EventQueryOptions, type ParsedEvent } from "./events.ts";
import {
  EVENT_DECODERS,
  decodeRoundOpened,
  decodeSubmission,
  toHyperParams,
  toSealKey,
  type CommitRecord,
  type FlagRecord,
  type PublicationPartRecord,
  type PublicationRecord,
  type RoundOpenedRecord,
  type SubmissionRecord,
} from "./records.ts";
import { flatCipher } from "../sealed-update.ts";
import type { SealedUpdate } from "@fedmarket/core";

export { FEDMARKET_ABI, ROUND_VERIFIER_ABI, fedMarketInterface };

export const ETH_TOKEN = ZeroAddress;

/** IFedMarket.ProjectStatus */
export const ProjectStatus = { None: 0, AwaitingAggregator: 1, Active: 2, Completed: 3, Cancelled: 4 } as const;
export type ProjectStatusValue = (typeof ProjectStatus)[keyof typeof ProjectStatus];
export const PROJECT_STATUS_NAMES = ["None", "AwaitingAggregator", "Active", "Completed", "Cancelled"] as const;

export interface CircuitParamsView {
  readonly modelSize: number;
  readonly byzantineTolerance: number;
  readonly quantizationScale: bigint;
  readonly clipBound: bigint;
}

/**
 * IFedMarket.HyperParams: a round's local training hyper-parameters, learning rate in millionths.
 * Set by the owner (round 0) and by each finalization (next round), within the project's bounds.
 */
export interface HyperParams {
  readonly learningRateMicros: number;
  readonly localEpochs: number;
  readonly batchSize: number;
}

/**
 * An aggregator's seal key `[x, y]`: the BabyJubJub public key `A = a * Base8` the round proof
 * decrypts updates with (docs/PROOF-INTERFACE.md, Sealed updates). The same shape as
 * `CurvePoint` in @fedmarket/core.
 */
export type SealKey = readonly [x: bigint, y: bigint];

/** IFedMarket.ProjectView */
export interface ProjectInfo {
  readonly id: bigint;
  readonly owner: string;
  readonly token: string;
  readonly aggregator: string;
  readonly verifier: string;
  readonly status: ProjectStatusValue;
  readonly statusName: (typeof PROJECT_STATUS_NAMES)[number];
  readonly cancelRequested: boolean;
  readonly numRounds: number;
  readonly currentRound: number;
  readonly maxTrainersPerRound: number;
  readonly numChunks: number;
  readonly roundOpenedAt: number;
  /** The commit window, seconds. */
  readonly submissionWindow: number;
  readonly revealWindow: number;
  readonly aggregationWindow: number;
  readonly budget: bigint;
  readonly roundReward: bigint;
  /** The open round's reference deposit (`commitReference`), held until the round closes. */
  readonly referenceDeposit: bigint;
  /** The reward the next round to open reserves (the first round's, decayed once per round opened). */
  readonly rewardPerRound: bigint;
  /** Each round's reward over the previous one's, in millionths (1,000,000: equal rounds). */
  readonly rewardDecayPpm: number;
  readonly aggregatorBond: bigint;
  readonly bondPosted: bigint;
  readonly slashAmount: bigint;
  readonly trainerStake: bigint;
  /** Trainers registered so far (registration indices run from 0 to this number). */
  readonly registeredTrainers: number;
  readonly allowlistRoot: string;
  readonly paramsHash: string;
  /** The owner's X25519 key (bytes32 hex): trainers encrypt to it too, for audits. */
  readonly ownerEncryptionKey: string;
  /** The accepted aggregator's seal key; `[0n, 0n]` until one accepts (and again after a failed round). */
  readonly aggregatorSealKey: SealKey;
  readonly modelCommitment: bigint;
  readonly modelCid: string;
  readonly specCid: string;
  readonly params: CircuitParamsView;
  /** Hyper-parameters of the open (or last) round. */
  readonly hyperParams: HyperParams;
  readonly minHyperParams: HyperParams;
  readonly maxHyperParams: HyperParams;
  /** While `AwaitingAggregator`: from this chain time on anyone may close the project (`expireProject`); 0 otherwise. */
  readonly acceptanceDeadline: number;
  /** Once ended: the refund third-party funders have not claimed yet (`claimRefund`). */
  readonly refundPool: bigint;
}

/** IFedMarket.RoundView */
export interface RoundInfo {
  readonly round: number;
  /** Revealed updates (what the quorum counts). */
  readonly submissions: number;
  /** Sealed commitments posted in the commit window. */
  readonly commits: number;
  readonly chunksVerified: number;
  /** Trainers registered when the round opened: the candidates of its draw. */
  readonly candidates: number;
  /** Block whose hash seeds the draw. */
  readonly seedBlock: number;
  /** The draw's seed, 0 while pending. */
  readonly seed: bigint;
  /** End of the commit window. */
  readonly submissionDeadline: number;
  readonly revealDeadline: number;
  readonly aggregationDeadline: number;
  readonly reward: bigint;
  readonly accumulator: bigint;
  /** What trainers use in this round. */
  readonly hyperParams: HyperParams;
}

export interface TrainerInfo {
  readonly registered: boolean;
  /** Last round committed in, plus one (0 = never). */
  readonly lastSubmittedRoundPlusOne: number;
  readonly stake: bigint;
}

/** Where a project's open round stands, by chain time. */
export interface OpenRoundInfo {
  readonly project: ProjectInfo;
  readonly round: RoundInfo;
  /** Timestamp of the latest block (the contract's notion of "now"). */
  readonly chainTime: number;
  /** The project is Active, not cancelling, and `chainTime < submissionDeadline` (the commit window). */
  readonly submissionOpen: boolean;
  /** Seconds left in the commit window (0 when closed). */
  readonly secondsLeft: number;
  /** The project is Active and `submissionDeadline <= chainTime < revealDeadline`. */
  readonly revealOpen: boolean;
}

/** Where a trainer stands in the draw of the open round (`slotOf`). */
export interface SlotDraw {
  /** The seed is fixed (or readable): `selected`/`slot` are final. */
  readonly seedReady: boolean;
  readonly selected: boolean;
  readonly slot: number;
}

/**
 * The open round's "not available" flags (`unavailableFlags`): bit `k` of a mask is slot `k`. All
 * zero for a round in which nothing was flagged.
 */
export interface UnavailableFlags {
  /** Flagged and not answered yet: these go to the decision proof as empty slots once `answerDeadline` has passed. */
  readonly pendingMask: bigint;
  /** Every slot flagged this round, answered or not. */
  readonly flaggedMask: bigint;
  /** Chain time until which a flagged slot may be answered (`publishUpdate`); chunk proofs wait for it. 0: none. */
  readonly answerDeadline: number;
}

/** A project's optimistic-rounds terms (`FedMarketClient.optimisticParams`). */
export interface OptimisticParams {
  readonly challengeWindow: number;
  readonly challengeDeposit: bigint;
  readonly lastOptimisticRound: number;
}

/** An optimistic round as the market holds it (`IFedMarketOptimistic.OptimisticRoundView`, the fields nodes read). */
export interface OptimisticRoundInfo {
  /** Challenges close; 0 for a round not finalized optimistically. */
  readonly windowEnd: number;
  /** The open challenge's deadline; 0 when none is open. */
  readonly answerDeadline: number;
  /** The open (or last) challenge's chunks `[first, end)`, answered up to `next`. */
  readonly first: number;
  readonly end: number;
  readonly next: number;
  readonly settled: boolean;
  readonly voided: boolean;
  readonly aggregator: string;
  readonly challenger: string;
  readonly chunkRoot: string;
  readonly accFinal: bigint;
  /** The held payouts (0 once settled or voided). */
  readonly payout: bigint;
  /** The part of the bond the open challenge holds. */
  readonly stake: bigint;
}

/** The slots whose bits are set in `mask`, ascending. */
export function slotsOfMask(mask: bigint): number[] {
  const out: number[] = [];
  for (let k = 0, m = mask; m > 0n; k++, m >>= 1n) if ((m & 1n) === 1n) out.push(k);
  return out;
}

/** The mask of `slots` (bit `k` for slot `k`). */
export function maskOfSlots(slots: Iterable<number>): bigint {
  let mask = 0n;
  for (const k of slots) mask |= 1n << BigInt(k);
  return mask;
}

export interface FedMarketClientOptions {
  /** Retry policy for reads and event queries. */
  readonly retry?: RetryOptions;
  /** Event queries: blocks per `eth_getLogs` call (default 2,000). */
  readonly blockRange?: number;
}

type Fields = Record<string, unknown>;
const n = (v: unknown): number => Number(v as bigint);
const b = (v: unknown): bigint => BigInt(v as bigint);
const s = (v: unknown): string => String(v);

function toProject(id: bigint, r: Fields): ProjectInfo {
  const p = r.params as Fields;
  const status = n(r.status) as ProjectStatusValue;
  return {
    id,
    owner: s(r.owner),
    token: s(r.token),
    aggregator: s(r.aggregator),
    verifier: s(r.verifier),
    status,
    statusName: PROJECT_STATUS_NAMES[status] ?? "None",
    cancelRequested: Boolean(r.cancelRequested),
    numRounds: n(r.numRounds),
    currentRound: n(r.currentRound),
    maxTrainersPerRound: n(r.maxTrainersPerRound),
    numChunks: n(r.numChunks),
    roundOpenedAt: n(r.roundOpenedAt),
    submissionWindow: n(r.submissionWindow),
    revealWindow: n(r.revealWindow),
    aggregationWindow: n(r.aggregationWindow),
    budget: b(r.budget),
    roundReward: b(r.roundReward),
    referenceDeposit: b(r.referenceDeposit),
    rewardPerRound: b(r.rewardPerRound),
    rewardDecayPpm: n(r.rewardDecayPpm),
    aggregatorBond: b(r.aggregatorBond),
    bondPosted: b(r.bondPosted),
    slashAmount: b(r.slashAmount),
    trainerStake: b(r.trainerStake),
    registeredTrainers: n(r.registeredTrainers),
    allowlistRoot: s(r.allowlistRoot),
    paramsHash: s(r.paramsHash),
    ownerEncryptionKey: s(r.ownerEncryptionKey),
    aggregatorSealKey: toSealKey(r.aggregatorSealKey),
    modelCommitment: b(r.modelCommitment),
    modelCid: s(r.modelCid),
    specCid: s(r.specCid),
    params: {
      modelSize: n(p.modelSize),
      byzantineTolerance: n(p.byzantineTolerance),
      quantizationScale: b(p.quantizationScale),
      clipBound: b(p.clipBound),
    },
    hyperParams: toHyperParams(r.hyperParams),
    minHyperParams: toHyperParams(r.minHyperParams),
    maxHyperParams: toHyperParams(r.maxHyperParams),
    acceptanceDeadline: n(r.acceptanceDeadline),
    refundPool: b(r.refundPool),
  };
}

function toRound(r: Fields): RoundInfo {
  return {
    round: n(r.round),
    submissions: n(r.submissions),
    commits: n(r.commits),
    chunksVerified: n(r.chunksVerified),
    candidates: n(r.candidates),
    seedBlock: n(r.seedBlock),
    seed: b(r.seed),
    submissionDeadline: n(r.submissionDeadline),
    revealDeadline: n(r.revealDeadline),
    aggregationDeadline: n(r.aggregationDeadline),
    reward: b(r.reward),
    accumulator: b(r.accumulator),
    hyperParams: toHyperParams(r.hyperParams),
  };
}

/** `0x`-prefixed bytes32 -> 32 bytes. */
export function bytes32ToBytes(hex: string): Uint8Array {
  if (!/^0x[0-9a-fA-F]{64}$/.test(hex)) throw new RangeError(`${hex} is not a bytes32`);
  return Uint8Array.from(Buffer.from(hex.slice(2), "hex"));
}

/** 32 bytes -> `0x`-prefixed bytes32. */
export function bytesToBytes32(bytes: Uint8Array): string {
  if (bytes.length !== 32) throw new RangeError(`expected 32 bytes, got ${bytes.length}`);
  return `0x${Buffer.from(bytes).toString("hex")}`;
}

/**
 * Chunks per answer transaction by default (`publishUpdatePart`, the trainer node's
 * `--answer-chunks-per-tx`): 16 chunks cost ~11.6 M gas at the production width (NP 17, ~0.72 M gas
 * a chunk, bench/gas.json `answerPerChunk`), within a 30 M block with room to spare.
 */
export const DEFAULT_ANSWER_CHUNKS_PER_TX = 16;

/** The part of ERC-20 the nodes use to stake in token-denominated projects. */
const ERC20_ABI = [
  "function balanceOf(address owner) view returns (uint256)",
  "function allowance(address owner, address spender) view returns (uint256)",
  "function approve(address spender, uint256 amount) returns (bool)",
] as const;

export class FedMarketClient {
  readonly address: string;
  readonly contract: Contract;
  readonly provider: Provider;
  readonly #retry: RetryOptions;
  readonly #blockRange: number;

  /** `runner`: a Provider (read-only) or a Signer connected to one (to send transactions). */
  constructor(address: string, runner: ContractRunner, options: FedMarketClientOptions = {}) {
    this.address = getAddress(address);
    this.contract = new Contract(this.address, FEDMARKET_ABI, runner);
    const provider = runner.provider ?? (runner as Provider);
    if (provider === null || typeof (provider as Provider).getBlockNumber !== "function") {
      throw new TypeError("FedMarketClient needs a Provider or a Signer connected to one");
    }
    this.provider = provider;
    this.#retry = options.retry ?? {};
    this.#blockRange = options.blockRange ?? 2_000;
  }

  /**
   * Retried read; transport failures end as `RpcUnavailableError`, reverts as `MarketRevertError`.
   * Public so that nodes reading calls this client does not wrap get the same treatment.
   */
  async read<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await withRetries(fn, this.#retry);
    } catch (err) {
      if (isTransientRpcError(err)) {
        throw new RpcUnavailableError(
          `cannot reach the JSON-RPC endpoint (${what}): ${(err as Error).message}; check --rpc-url and that the node is running`,
          { cause: err },
        );
      }
      throw toMarketError(err, what);
    }
  }

  async #call<T>(name: string, args: readonly unknown[]): Promise<T> {
    return this.read(name, () => this.contract.getFunction(name).staticCall(...args) as Promise<T>);
  }

  /**
   * Checks that the provider is on `expectedChainId` (if given) and that the address holds the
   * marketplace; throws `WrongNetworkError` with both values otherwise. Returns the chain id.
   */
  async checkNetwork(expectedChainId?: bigint): Promise<bigint> {
    const network = await this.read("eth_chainId", () => this.provider.getNetwork());
    if (expectedChainId !== undefined && network.chainId !== expectedChainId) {
      throw new WrongNetworkError(
        `wrong network: the RPC endpoint is on chain ${network.chainId}, the configuration expects chain ${expectedChainId}`,
      );
    }
    const code = await this.read("eth_getCode", () => this.provider.getCode(this.address));
    if (code === "0x") {
      throw new WrongNetworkError(`no contract at ${this.address} on chain ${network.chainId}: wrong network or --market address`);
    }
    try {
      await withRetries(() => this.contract.getFunction("projectCount").staticCall(), this.#retry);
    } catch (err) {
      // a flaky endpoint is not a wrong contract
      if (isTransientRpcError(err))
        throw new RpcUnavailableError(
          `cannot reach the JSON-RPC endpoint (projectCount): ${(err as Error).message}; check --rpc-url and that the node is running`,
          { cause: err },
        );
      throw new WrongNetworkError(`the contract at ${this.address} on chain ${network.chainId} is not a FedMarket`);
    }
    return network.chainId;
  }

  async chainId(): Promise<bigint> {
    return (await this.read("eth_chainId", () => this.provider.getNetwork())).chainId;
  }

  async projectCount(): Promise<bigint> {
    return b(await this.#call("projectCount", []));
  }

  async getProject(projectId: bigint): Promise<ProjectInfo> {
    return toProject(projectId, await this.#call<Fields>("getProject", [projectId]));
  }

  async getCurrentRound(projectId: bigint): Promise<RoundInfo> {
    return toRound(await this.#call<Fields>("getCurrentRound", [projectId]));
  }

  async getTrainer(projectId: bigint, trainer: string): Promise<TrainerInfo> {
    const r = await this.#call<unknown[]>("getTrainer", [projectId, trainer]);
    return { registered: Boolean(r[0]), lastSubmittedRoundPlusOne: n(r[1]), stake: b(r[2]) };
  }

  async getSubmission(projectId: bigint, round: number, slot: number): Promise<{ trainer: string; commitment: bigint }> {
    const r = await this.#call<unknown[]>("getSubmission", [projectId, round, slot]);
    return { trainer: s(r[0]), commitment: b(r[1]) };
  }

  /** The slot `trainer` was drawn for in the open round. */
  async slotOf(projectId: bigint, trainer: string): Promise<SlotDraw> {
    const r = await this.#call<unknown[]>("slotOf", [projectId, trainer]);
    return { seedReady: Boolean(r[0]), selected: Boolean(r[1]), slot: n(r[2]) };
  }

  async creditOf(token: string, account: string): Promise<bigint> {
    return b(await this.#call("creditOf", [token, account]));
  }

  /** A third-party funder's unrefunded deposit in a project and what `claimRefund` would credit it now. */
  async getFunder(projectId: bigint, funder: string): Promise<{ deposit: bigint; refundable: bigint }> {
    const r = await this.#call<unknown[]>("getFunder", [projectId, funder]);
    return { deposit: b(r[0]), refundable: b(r[1]) };
  }

  /** The verifier's compile-time configuration (`maxTrainers()`, `chunkSize()`). */
  async verifierConfig(verifier: string): Promise<{ maxTrainers: number; chunkSize: number }> {
    const v = new Contract(verifier, ROUND_VERIFIER_ABI, this.provider);
    const [k, c] = await this.read("verifier config", () =>
      Promise.all([v.getFunction("maxTrainers").staticCall(), v.getFunction("chunkSize").staticCall()]),
    );
    return { maxTrainers: n(k), chunkSize: n(c) };
  }

  /** The open round's "not available" flags (see `UnavailableFlags`). */
  async unavailableFlags(projectId: bigint): Promise<UnavailableFlags> {
    const r = await this.#call<unknown[]>("unavailableFlags", [projectId]);
    return { pendingMask: b(r[0]), flaggedMask: b(r[1]), answerDeadline: n(r[2]) };
  }

  /**
   * The project's optimistic-rounds terms (IFedMarketOptimistic): a `challengeWindow` of 0 means
   * every round is proven; `lastOptimisticRound` is -1 until a round is finalized optimistically.
   */
  async optimisticParams(projectId: bigint): Promise<OptimisticParams> {
    const r = await this.#call<unknown[]>("optimisticParams", [projectId]);
    return { challengeWindow: n(r[0]), challengeDeposit: b(r[1]), lastOptimisticRound: n(r[2]) - 1 };
  }

  /** What the market holds about `round` if it was finalized optimistically (`windowEnd` 0 otherwise). */
  async getOptimisticRound(projectId: bigint, round: number): Promise<OptimisticRoundInfo> {
    const v = await this.#call<Record<string, unknown>>("getOptimisticRound", [projectId, round]);
    return {
      windowEnd: n(v.windowEnd),
      answerDeadline: n(v.answerDeadline),
      first: n(v.first),
      end: n(v.end),
      next: n(v.next),
      settled: Boolean(v.settled),
      voided: Boolean(v.voided),
      aggregator: String(v.aggregator),
      challenger: String(v.challenger),
      chunkRoot: String(v.chunkRoot),
      accFinal: b(v.accFinal),
      payout: b(v.payout),
      stake: b(v.stake),
    };
  }

  /** Timestamp of the latest block. */
  async chainTime(): Promise<number> {
    const block = await this.read("latest block", () => this.provider.getBlock("latest"));
    if (block === null) throw new RpcUnavailableError("the node returned no latest block");
    return block.timestamp;
  }

  /** The project, its open (or last) round and whether its submission window is open now. */
  async getOpenRound(projectId: bigint): Promise<OpenRoundInfo> {
    const [project, round, chainTime] = await Promise.all([this.getProject(projectId), this.getCurrentRound(projectId), this.chainTime()]);
    if (project.status === ProjectStatus.None) throw toMarketError({ revert: { name: "UnknownProject", args: [projectId] } }, "getProject");
    const active = project.status === ProjectStatus.Active && !project.cancelRequested;
    const submissionOpen = active && chainTime < round.submissionDeadline;
    const revealOpen = project.status === ProjectStatus.Active && chainTime >= round.submissionDeadline && chainTime < round.revealDeadline;
    return {
      project,
      round,
      chainTime,
      submissionOpen,
      secondsLeft: submissionOpen ? round.submissionDeadline - chainTime : 0,
      revealOpen,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Transactions (need a Signer). Each is simulated first (estimateGas) so a revert surfaces as a
  // decoded `MarketRevertError` before anything is sent.
  // -------------------------------------------------------------------------------------------

  #sendError(err: unknown, name: string): unknown {
    if (isTransientRpcError(err))
      return new RpcUnavailableError(`cannot reach the JSON-RPC endpoint (${name}): ${(err as Error).message}`, { cause: err });
    return toMarketError(err, name);
  }

  #send(name: string, args: readonly unknown[], value?: bigint): Promise<TransactionResponse> {
    return this.send(name, args, value === undefined ? {} : { value });
  }

  /**
   * Sends a marketplace transaction: simulated first (a revert becomes a `MarketRevertError` before
   * anything is sent), then, with a local key, signed once and broadcast until the node has it. A
   * broadcast retried after a lost answer is the same transaction (same nonce and hash), so a
   * flaky endpoint never makes a call land twice. Signers that cannot sign locally (a node's
   * unlocked accounts) send once, without retries.
   */
  async send(
    name: string,
    args: readonly unknown[],
    options: { value?: bigint; gasHeadroomPercent?: number } = {},
  ): Promise<TransactionResponse> {
    const fn = this.contract.getFunction(name);
    const overrides = options.value === undefined || options.value === 0n ? {} : { value: options.value };
    let gas: bigint;
    try {
      gas = await withRetries(() => fn.estimateGas(...args, overrides), this.#retry);
    } catch (err) {
      throw this.#sendError(err, name);
    }
    const gasLimit = (gas * BigInt(100 + (options.gasHeadroomPercent ?? 20))) / 100n;
    const wallet = this.contract.runner;
    if (!(wallet instanceof BaseWallet)) {
      try {
        return (await fn.send(...args, { ...overrides, gasLimit })) as TransactionResponse;
      } catch (err) {
        throw this.#sendError(err, name);
      }
    }
    let signed: string;
    try {
      const request = await withRetries(
        async () => wallet.populateTransaction(await fn.populateTransaction(...args, { ...overrides, gasLimit })),
        this.#retry,
      );
      signed = await wallet.signTransaction(request);
    } catch (err) {
      throw this.#sendError(err, name);
    }
    const hash = keccak256(signed);
    try {
      return await withRetries(async () => {
        try {
          return await this.provider.broadcastTransaction(signed);
        } catch (err) {
          // "already known" / "nonce too low": an earlier attempt reached the node.
          const known = await this.provider.getTransaction(hash).catch(() => null);
          if (known !== null) return known;
          throw err;
        }
      }, this.#retry);
    } catch (err) {
      throw this.#sendError(err, name);
    }
  }

  /** `owner`'s balance of an ERC-20 `token` and the allowance it gave this marketplace. */
  async tokenFunds(token: string, owner: string): Promise<{ balance: bigint; allowance: bigint }> {
    const erc20 = new Contract(token, ERC20_ABI, this.contract.runner);
    const [balance, allowance] = (await Promise.all([
      erc20.getFunction("balanceOf").staticCall(owner),
      erc20.getFunction("allowance").staticCall(owner, this.address),
    ])) as [bigint, bigint];
    return { balance, allowance };
  }

  /** Lets the marketplace pull `amount` of an ERC-20 `token` (stakes, bonds and budgets are pulled). */
  async approveToken(token: string, amount: bigint): Promise<TransactionResponse> {
    const erc20 = new Contract(token, ERC20_ABI, this.contract.runner);
    try {
      return (await erc20.getFunction("approve").send(this.address, amount)) as TransactionResponse;
    } catch (err) {
      throw toMarketError(err, "approve");
    }
  }

  registerTrainer(projectId: bigint, allowlistProof: readonly string[] = [], stake = 0n): Promise<TransactionResponse> {
    return this.#send("registerTrainer", [projectId, allowlistProof], stake);
  }

  /** Fixes the open round's seed (anyone; a no-op once fixed). */
  drawSeed(projectId: bigint): Promise<TransactionResponse> {
    return this.#send("drawSeed", [projectId]);
  }

  /** Locks the sealed commitment (`sealedCommitment` in round-context.ts) into the caller's drawn slot. */
  commitUpdate(projectId: bigint, round: number, sealed: string): Promise<TransactionResponse> {
    return this.#send("commitUpdate", [projectId, round, sealed]);
  }

  /** Reveals the commitment and CID sealed in the commit window. */
  revealUpdate(projectId: bigint, round: number, commitment: bigint, cid: string): Promise<TransactionResponse> {
    return this.#send("revealUpdate", [projectId, round, commitment, cid]);
  }

  /**
   * The owner commits the open round's reference direction (core `referenceCommitment`); only in
   * the round's commit window, once.
   */
  commitReference(projectId: bigint, round: number, commitment: bigint): Promise<TransactionResponse> {
    return this.#send("commitReference", [projectId, round, commitment]);
  }

  /**
   * The owner publishes the CID of the round's `fedmarket-reference/1` blob; only from the end of
   * the reveal window to the middle of the aggregation window, once, after `commitReference`.
   */
  publishReference(projectId: bigint, round: number, cid: string): Promise<TransactionResponse> {
    return this.#send("publishReference", [projectId, round, cid]);
  }

  /**
   * The aggregator flags the round's published reference as not available (or not opening its
   * commitment); same window as `flagUnavailable`. Anyone may answer it until the answer deadline.
   */
  flagReference(projectId: bigint, round: number): Promise<TransactionResponse> {
    return this.#send("flagReference", [projectId, round]);
  }

  /** The owner answers a flagged reference in parts: whole packed chunks after those already answered. */
  answerReferencePart(projectId: bigint, round: number, packed: readonly bigint[]): Promise<TransactionResponse> {
    return this.#send("answerReferencePart", [projectId, round, packed]);
  }

  /** Anyone answers a flagged reference: the salt and the packed chunks not answered in parts. */
  answerReference(projectId: bigint, round: number, salt: bigint, packed: readonly bigint[]): Promise<TransactionResponse> {
    return this.#send("answerReference", [projectId, round, salt, packed]);
  }

  /**
   * The aggregator flags the revealed updates of `slotMask` (bit `k`: slot `k`) as not available, in
   * one transaction: only in the first half of the aggregation window and before any chunk proof.
   * Each flagged slot may be answered (`publishUpdate`) until the round's answer deadline.
   */
  flagUnavailable(projectId: bigint, round: number, slotMask: bigint): Promise<TransactionResponse> {
    return this.#send("flagUnavailable", [projectId, round, slotMask]);
  }

  /**
   * Answers the flag on `slot` (anyone may): publishes its sealed update as calldata, `E`, the
   * ciphertext (flattened, chunk-major) from chunk `firstChunk` on and the owner's wrap. The chunks
   * before `firstChunk` must be on chain already (`publishUpdatePart`, the slot's trainer's). The
   * contract checks the whole against the slot's revealed commitment (`PublishedUpdateMismatch`
   * otherwise).
   */
  publishUpdate(
    projectId: bigint,
    round: number,
    slot: number,
    sealed: SealedUpdate,
    ownerWrap: Uint8Array,
    firstChunk = 0,
  ): Promise<TransactionResponse> {
    return this.#send("publishUpdate", [
      projectId,
      round,
      slot,
      [sealed.ephemeral[0], sealed.ephemeral[1]],
      flatCipher(sealed, firstChunk),
      hexlify(ownerWrap),
    ]);
  }

  /**
   * The slot's trainer publishes chunks `[firstChunk, firstChunk + count)` of its sealed update ahead
   * of `publishUpdate`, for an update too large for one transaction. `firstChunk` must be the number
   * already published (`UpdatePartPublished`).
   */
  publishUpdatePart(
    projectId: bigint,
    round: number,
    slot: number,
    sealed: SealedUpdate,
    firstChunk: number,
    count: number,
  ): Promise<TransactionResponse> {
    return this.#send("publishUpdatePart", [projectId, round, slot, flatCipher(sealed, firstChunk, firstChunk + count)]);
  }

  withdraw(token: string = ETH_TOKEN): Promise<TransactionResponse> {
    return this.#send("withdraw", [token]);
  }

  releaseStake(projectId: bigint): Promise<TransactionResponse> {
    return this.#send("releaseStake", [projectId]);
  }

  /**
   * The appointed aggregator accepts exactly these terms (the call reverts with
   * `AppointmentTermsChanged` if the owner changed them meanwhile), posting `bond` (sent as ETH for
   * ETH projects; approve an ERC-20 bond first) and registering its seal key (`SealKey`: the
   * contract refuses a point off BabyJubJub or the identity with `InvalidSealKey`).
   */
  acceptAggregator(
    projectId: bigint,
    sealKey: SealKey,
    terms: { bond: bigint; slashAmount: bigint },
    inEth: boolean,
  ): Promise<TransactionResponse> {
    return this.#send("acceptAggregator", [projectId, [sealKey[0], sealKey[1]], terms.bond, terms.slashAmount], inEth ? terms.bond : 0n);
  }

  /** Closes a project that has waited for its aggregator past its acceptance deadline (anyone may). */
  expireProject(projectId: bigint): Promise<TransactionResponse> {
    return this.#send("expireProject", [projectId]);
  }

  /** Credits the caller's pro-rata share of an ended project's refund (third-party funders). */
  claimRefund(projectId: bigint): Promise<TransactionResponse> {
    return this.#send("claimRefund", [projectId]);
  }

  /** Waits for a transaction; a reverted receipt becomes an error naming the transaction. */
  async wait(tx: TransactionResponse, confirmations = 1): Promise<TransactionReceipt> {
    let receipt: TransactionReceipt | null;
    try {
      // waiting only reads: retried like any read when the endpoint stumbles
      receipt = await withRetries(() => tx.wait(confirmations), this.#retry);
    } catch (err) {
      throw toMarketError(err, `transaction ${tx.hash}`);
    }
    if (receipt === null) throw new Error(`transaction ${tx.hash} was not mined`);
    return receipt;
  }

  // -------------------------------------------------------------------------------------------
  // Events
  // -------------------------------------------------------------------------------------------

  #eventOptions(options: Partial<EventQueryOptions>): EventQueryOptions {
    return { blockRange: this.#blockRange, retry: this.#retry, ...options } as EventQueryOptions;
  }

  /**
   * The marketplace's logs matching `topics`, decoded, read in this client's bounded windows with
   * its retry policy (what every event reader, history.ts in particular, goes through).
   */
  queryEvents(topics: TopicFilter, options: Partial<EventQueryOptions> = {}): Promise<ParsedEvent[]> {
    return queryEventsChunked(this.provider, fedMarketInterface, this.address, topics, this.#eventOptions(options));
  }

  /** The latest block number (retried): the upper end of an event read that must not move while it runs. */
  blockNumber(): Promise<number> {
    return this.read("eth_blockNumber", () => this.provider.getBlockNumber());
  }

  /**
   * Logs of one of the per-slot events, each indexed by (projectId, round, trainer); a filter field
   * left out matches any value.
   */
  #slotEvents(
    event: "UpdateRevealed" | "UpdateCommitted" | "UpdateFlagged" | "UpdatePublished" | "UpdatePartPublished",
    filter: { projectId?: bigint; round?: number; trainer?: string },
    options: Partial<EventQueryOptions>,
  ): Promise<ParsedEvent[]> {
    const topics = fedMarketInterface.encodeFilterTopics(event, [filter.projectId ?? null, filter.round ?? null, filter.trainer ?? null]);
    return this.queryEvents(topics, options);
  }

  /** `UpdateRevealed` events (revealed updates), optionally filtered by project, round and trainer. */
  async updateRevealed(
    filter: { projectId?: bigint; round?: number; trainer?: string },
    options: Partial<EventQueryOptions> = {},
  ): Promise<SubmissionRecord[]> {
    return (await this.#slotEvents("UpdateRevealed", filter, options)).map(decodeSubmission);
  }

  /** `UpdateCommitted` events (sealed commitments), optionally filtered by project, round and trainer. */
  async updateCommitted(
    filter: { projectId?: bigint; round?: number; trainer?: string },
    options: Partial<EventQueryOptions> = {},
  ): Promise<CommitRecord[]> {
    return (await this.#slotEvents("UpdateCommitted", filter, options)).map(EVENT_DECODERS.UpdateCommitted);
  }

  /** `UpdateFlagged` events of a project, optionally of one round and one trainer. */
  async updateFlagged(
    projectId: bigint,
    filter: { round?: number; trainer?: string } = {},
    options: Partial<EventQueryOptions> = {},
  ): Promise<FlagRecord[]> {
    return (await this.#slotEvents("UpdateFlagged", { ...filter, projectId }, options)).map(EVENT_DECODERS.UpdateFlagged);
  }

  /**
   * `UpdatePublished` events (answers to flags, with the sealed data) of a project, optionally of one
   * round and one trainer; each as its event carries it, from its `firstChunk` on (a round's history
   * joins the parts).
   */
  async updatePublished(
    projectId: bigint,
    filter: { round?: number; trainer?: string } = {},
    options: Partial<EventQueryOptions> = {},
  ): Promise<PublicationRecord[]> {
    return (await this.#slotEvents("UpdatePublished", { ...filter, projectId }, options)).map(EVENT_DECODERS.UpdatePublished);
  }

  /** `UpdatePartPublished` events (parts of answers, published by the slot's trainer) of a project, optionally of one round and one trainer. */
  async updatePartsPublished(
    projectId: bigint,
    filter: { round?: number; trainer?: string } = {},
    options: Partial<EventQueryOptions> = {},
  ): Promise<PublicationPartRecord[]> {
    return (await this.#slotEvents("UpdatePartPublished", { ...filter, projectId }, options)).map(EVENT_DECODERS.UpdatePartPublished);
  }

  /** `RoundOpened` events of a project. */
  async roundOpened(projectId: bigint, options: Partial<EventQueryOptions> = {}): Promise<RoundOpenedRecord[]> {
    const topics = fedMarketInterface.encodeFilterTopics("RoundOpened", [projectId]);
    return (await this.queryEvents(topics, options)).map(decodeRoundOpened);
  }
}
