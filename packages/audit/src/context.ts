/**
 * What every check is given: one read-only `AuditContext`. It holds what was read once from the
 * chain (the project as the market reports it now, its history from @fedmarket/protocol's reader,
 * the verifier's configuration), the ways to read more (the blob store, a narrow `AuditChain`), the
 * owner's optional key and validation set, and the facts several checks share, derived on first
 * use and cached (facts.ts): the spec, the verification keys, every model by CID and what each
 * recorded one commits to, every finalized
 * round's proofs and proven outcomes, every round's openings. So a check runs alone as well as in
 * `auditProject`, several checks never fetch a model or re-verify a proof twice, and the report is
 * assembled from the same facts the checks judged.
 *
 * `loadAuditContext` reads a live market; `createAuditContext` takes the inputs as they are (a test
 * passes a hand-built history and a fake chain, and may replace any derivation).
 */
import path from "node:path";
import { Contract, type Provider } from "ethers";
import {
  ETH_TOKEN,
  FedMarketClient,
  fedMarketInterface,
  loadProjectHistory,
  ProjectStatus,
  REPO_ROOT,
  type BlobStore,
  type FetchOptions,
  type NodeLogger,
  type OptimisticParams,
  type ProjectHistory,
  type ProjectInfo,
} from "@fedmarket/protocol";
import type { Dataset } from "@fedmarket/ml";
import {
  deriveAccuracy,
  deriveMarketHoldings,
  deriveModel,
  deriveModelCommitment,
  deriveOpenings,
  deriveRoundProofs,
  deriveSpec,
  deriveVerificationKeys,
  type AccuracyFact,
  type MarketHoldings,
  type ModelCommitmentFact,
  type ModelFact,
  type RoundOpenings,
  type RoundProofsFact,
  type SpecFact,
  type VerificationKeysFact,
} from "./facts.ts";

/** Where and what to audit, and with what (the options of `auditProject` but its output folder). */
export interface AuditSource {
  readonly provider: Provider;
  readonly market: string;
  readonly projectId: bigint;
  readonly store: BlobStore;
  /** The owner's X25519 secret key: open every sealed update (its wrap gives `e`) and compare with the proven outcomes. */
  readonly ownerSecretKey?: Uint8Array;
  /** A labelled validation set: accuracy of every recorded model (chart). */
  readonly validation?: Dataset;
  /** Published verification keys (default: contracts/verifiers/generated of this repository). */
  readonly vkeyDir?: string;
  /** First block of the event scan (default 0). */
  readonly fromBlock?: number;
  readonly blockRange?: number;
  /** Per-attempt IPFS timeout (default 30 s) and retries (default 2). */
  readonly ipfsTimeoutMs?: number;
  readonly ipfsRetries?: number;
  readonly logger?: NodeLogger;
}

/**
 * The chain reads the checks make beyond the history, kept narrow so that a check can be tested
 * against a fake: `marketChain` implements it over a `FedMarketClient`.
 */
export interface AuditChain {
  readonly chainId: bigint;
  /** The marketplace's address. */
  readonly market: string;
  /** What the proofs are read and re-verified through: round transactions' calldata, `eth_call`s to the verifier. */
  readonly provider: Provider;
  /** The `Credited` logs the market emitted in transaction `txHash`, summed by account (lower-case). */
  credited(txHash: string): Promise<ReadonlyMap<string, bigint>>;
  /** What the market holds of `token` (ETH: `ETH_TOKEN`) and what it owes in it (`totalLiabilities`). */
  holdings(token: string): Promise<MarketHoldings>;
  /** The project's optimistic-rounds terms (the challenge deposit a void returns). */
  optimisticParams(projectId: bigint): Promise<OptimisticParams>;
}

/** What the context is made of before anything is derived. */
export interface AuditInputs {
  readonly projectId: bigint;
  /** The project as the market reports it now (`getProject`). */
  readonly project: ProjectInfo;
  /** Its events from `history.fromBlock` on, replayed by @fedmarket/protocol's history reader. */
  readonly history: ProjectHistory;
  /** The project's verifier: `maxTrainers()` is K_MAX, the decision proof's number of commitment inputs. */
  readonly verifierConfig: { readonly maxTrainers: number; readonly chunkSize: number };
  readonly chain: AuditChain;
  readonly store: BlobStore;
  /** Timeout and retries of every blob fetch (spec, models, updates). */
  readonly fetchOptions: FetchOptions;
  readonly ownerSecretKey?: Uint8Array;
  readonly validation?: Dataset;
  /** Where the published verification keys are. */
  readonly vkeyDir: string;
  readonly logger: NodeLogger;
}

/** The facts the checks share, each derived once (on first use) and cached for the audit's lifetime. */
export interface AuditFacts {
  /** The spec pinned at `specCid`, validated and checked against the chain, with its circuit configuration. */
  spec(): Promise<SpecFact>;
  /** The published verification keys of the spec's circuit; `undefined` without a usable spec. */
  verificationKeys(): Promise<VerificationKeysFact | undefined>;
  /** The model pinned at `cid`: fetched (CID-checked), decoded and quantized for the spec. */
  model(cid: string): Promise<ModelFact>;
  /**
   * What the model at `cid` commits to with its step from the model at `replaced` (`null`: the
   * initial model, step zero); `undefined` while the model is not read.
   */
  modelCommitment(cid: string, replaced: string | null): Promise<ModelCommitmentFact | undefined>;
  /** The accuracy of the model at `cid` on the validation set; `undefined` without one, or without its weights. */
  accuracy(cid: string): Promise<AccuracyFact | undefined>;
  /** A finalized round's proofs re-verified and its proven outcomes; `undefined` for other rounds (or without `ProjectCreated`). */
  roundProofs(round: number): Promise<RoundProofsFact | undefined>;
  /**
   * With the owner's key, a usable spec and the round's seal key: each update of the round opened as
   * the aggregator opens it; `undefined` otherwise.
   */
  openings(round: number): Promise<RoundOpenings | undefined>;
  /** The market's balance and liabilities in the project's token, read once. */
  marketHoldings(): Promise<MarketHoldings>;
}

export interface AuditContext extends AuditInputs, AuditFacts {}

/** How each fact is derived from the context (facts.ts); a test may replace any of them. */
export interface FactDerivations {
  readonly spec: (ctx: AuditContext) => Promise<SpecFact>;
  readonly verificationKeys: (ctx: AuditContext) => Promise<VerificationKeysFact | undefined>;
  readonly model: (ctx: AuditContext, cid: string) => Promise<ModelFact>;
  readonly modelCommitment: (ctx: AuditContext, cid: string, replaced: string | null) => Promise<ModelCommitmentFact | undefined>;
  readonly accuracy: (ctx: AuditContext, cid: string) => Promise<AccuracyFact | undefined>;
  readonly roundProofs: (ctx: AuditContext, round: number) => Promise<RoundProofsFact | undefined>;
  readonly openings: (ctx: AuditContext, round: number) => Promise<RoundOpenings | undefined>;
  readonly marketHoldings: (ctx: AuditContext) => Promise<MarketHoldings>;
}

export const DEFAULT_DERIVATIONS: FactDerivations = {
  spec: deriveSpec,
  verificationKeys: deriveVerificationKeys,
  model: deriveModel,
  modelCommitment: deriveModelCommitment,
  accuracy: deriveAccuracy,
  roundProofs: deriveRoundProofs,
  openings: deriveOpenings,
  marketHoldings: deriveMarketHoldings,
};

/**
 * Caches one promise per key: a fact asked for twice, even concurrently, is derived once. `keyOf`
 * names a key made of several values (default: the key itself).
 */
function memo<K, V>(derive: (key: K) => Promise<V>, keyOf: (key: K) => unknown = (key) => key): (key: K) => Promise<V> {
  const cache = new Map<unknown, Promise<V>>();
  return (key) => {
    const k = keyOf(key);
    let v = cache.get(k);
    if (v === undefined) {
      v = derive(key);
      cache.set(k, v);
    }
    return v;
  };
}

/** A context over `inputs`, its facts derived by `derivations` (default: facts.ts) and cached. */
export function createAuditContext(inputs: AuditInputs, derivations: Partial<FactDerivations> = {}): AuditContext {
  const d: FactDerivations = { ...DEFAULT_DERIVATIONS, ...derivations };
  const once = <V>(derive: () => Promise<V>): (() => Promise<V>) => {
    const get = memo<undefined, V>(derive);
    return () => get(undefined);
  };
  const commitments = memo(
    (m: { readonly cid: string; readonly replaced: string | null }) => d.modelCommitment(ctx, m.cid, m.replaced),
    (m) => JSON.stringify([m.cid, m.replaced]),
  );
  const ctx: AuditContext = {
    ...inputs,
    spec: once(() => d.spec(ctx)),
    verificationKeys: once(() => d.verificationKeys(ctx)),
    model: memo((cid: string) => d.model(ctx, cid)),
    modelCommitment: (cid, replaced) => commitments({ cid, replaced }),
    accuracy: memo((cid: string) => d.accuracy(ctx, cid)),
    roundProofs: memo((round: number) => d.roundProofs(ctx, round)),
    openings: memo((round: number) => d.openings(ctx, round)),
    marketHoldings: once(() => d.marketHoldings(ctx)),
  };
  return Object.freeze(ctx);
}

export const noLogger: NodeLogger = { log: () => {}, progress: () => ({ update: () => {}, stop: () => {} }) };

function addCredit(credits: Map<string, bigint>, account: string, amount: bigint): void {
  const key = account.toLowerCase();
  if (amount > 0n) credits.set(key, (credits.get(key) ?? 0n) + amount);
}

/** A log of the market decoded, or `null` for one its ABI does not know (an event added later, another contract's). */
function parseMarketLog(log: Parameters<typeof fedMarketInterface.parseLog>[0]): ReturnType<typeof fedMarketInterface.parseLog> {
  try {
    return fedMarketInterface.parseLog(log);
  } catch {
    return null;
  }
}

/** The `AuditChain` of a live market. */
export function marketChain(client: FedMarketClient, chainId: bigint): AuditChain {
  return {
    chainId,
    market: client.address,
    provider: client.provider,
    async credited(txHash) {
      const receipt = await client.provider.getTransactionReceipt(txHash);
      const credits = new Map<string, bigint>();
      for (const log of receipt?.logs ?? []) {
        if (log.address.toLowerCase() !== client.address.toLowerCase()) continue;
        const parsed = parseMarketLog(log);
        if (parsed?.name === "Credited") addCredit(credits, String(parsed.args[1]), BigInt(parsed.args[2] as bigint));
      }
      return credits;
    },
    optimisticParams: (projectId) => client.optimisticParams(projectId),
    async holdings(token) {
      const liabilities = BigInt((await client.contract.getFunction("totalLiabilities").staticCall(token)) as bigint);
      const balance =
        token === ETH_TOKEN
          ? await client.provider.getBalance(client.address)
          : BigInt(
              (await new Contract(token, ["function balanceOf(address) view returns (uint256)"], client.provider)
                .getFunction("balanceOf")
                .staticCall(client.address)) as bigint,
            );
      return { balance, liabilities };
    },
  };
}

/**
 * Reads what an audit of `source.projectId` starts from: the network, the project (it must exist:
 * an audit of nothing cannot run), the verifier's configuration and the project's whole history.
 */
export async function loadAuditContext(source: AuditSource): Promise<AuditContext> {
  const logger = source.logger ?? noLogger;
  const client = new FedMarketClient(
    source.market,
    source.provider,
    source.blockRange === undefined ? {} : { blockRange: source.blockRange },
  );
  const chainId = await client.checkNetwork();
  const project = await client.getProject(source.projectId);
  if (project.status === ProjectStatus.None) throw new Error(`project ${source.projectId} does not exist on ${client.address}`);
  logger.log("info", "audit.start", `auditing project ${source.projectId} on chain ${chainId}, market ${client.address}`);
  const history = await loadProjectHistory(client, source.projectId, {
    ...(source.fromBlock === undefined ? {} : { fromBlock: source.fromBlock }),
    ...(source.blockRange === undefined ? {} : { blockRange: source.blockRange }),
  });
  const verifierConfig = await client.verifierConfig(project.verifier);
  return createAuditContext({
    projectId: source.projectId,
    project,
    history,
    verifierConfig,
    chain: marketChain(client, chainId),
    store: source.store,
    fetchOptions: { timeoutMs: source.ipfsTimeoutMs ?? 30_000, retries: source.ipfsRetries ?? 2 },
    ...(source.ownerSecretKey === undefined ? {} : { ownerSecretKey: source.ownerSecretKey }),
    ...(source.validation === undefined ? {} : { validation: source.validation }),
    vkeyDir: source.vkeyDir ?? path.join(REPO_ROOT, "contracts", "verifiers", "generated"),
    logger,
  });
}
