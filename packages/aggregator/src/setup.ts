/**
 * Builds an `AggregatorNode` from a configuration: the Ethereum key (`FEDMARKET_PRIVATE_KEY`, never
 * a flag), the seal key (`--seal-key-file` or `FEDMARKET_SEAL_KEY`; keys.ts), the provider (the node
 * runtime's `connectRpc`; chain id checked), the marketplace client (network checked), the blob
 * store (Kubo RPC or embedded Helia), the data folder (locked, and bound to chain, market and account),
 * and where each project's history starts (its creation block, so no read scans from block 0). With
 * `checkKeyFor`, the seal key is checked against the one the project registered at acceptance
 * before anything else happens (`checkAggregatorKey`). `status` needs none of that: `openStatusReader`
 * builds only what it reads (a provider-backed client and the data folder), without keys or lock.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { Wallet, type JsonRpcProvider } from "ethers";
import { publicKeyOf } from "@fedmarket/core";
import {
  connectRpc,
  FedMarketClient,
  HeliaBlobStore,
  KuboBlobStore,
  MarketRevertError,
  historyStartBlock,
  type BlobStore,
  type ProjectInfo,
  type RetryOptions,
} from "@fedmarket/protocol";
import { AggregatorChain } from "./chain.ts";
import { AggregatorNode } from "./aggregator-node.ts";
import { AggregatorError } from "./errors.ts";
import { checkAggregatorKey, parseSealSecret, readSealKeyFile, sealKeyText } from "./keys.ts";
import type { Checkpoint } from "./steps/context.ts";
import { acquireLock, type DataLock } from "./lock.ts";
import type { NodeLogger } from "@fedmarket/protocol";
import { roundStatus } from "./status.ts";
import { bindDataDir, checkDataDirBinding } from "./store.ts";
import { RoundReporter } from "./report/round-report-step.ts";

export interface AggregatorConfig {
  readonly rpcUrl: string;
  readonly market: string;
  readonly dataDir: string;
  readonly chainId?: bigint;
  readonly ipfsApi?: string;
  readonly ipfsRepo?: string;
  /** The seal key file `accept` wrote (keys.ts); else `FEDMARKET_SEAL_KEY`. */
  readonly sealKeyFile?: string;
  readonly circuitsDir?: string;
  readonly workers?: number;
  readonly chunkBatch?: number;
  readonly pollIntervalMs?: number;
  readonly confirmations?: number;
  readonly blockRange?: number;
  readonly ipfsTimeoutMs?: number;
  readonly ipfsRetries?: number;
  /** Owner's validation data for the unproven round report (IDX/PNG folder, .csv, .jsonl). */
  readonly validation?: string;
  /** Validation samples used by the round report (default 1000). */
  readonly validationLimit?: number;
  /** GTG-Shapley permutation cap of the round report (default 100). */
  readonly shapleyMaxPermutations?: number;
  /** Learning-rate decay factor published with each finalization (default 1 = keep). */
  readonly lrDecay?: number;
}

export interface OpenAggregatorOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Use this store instead of building one (tests). */
  readonly store?: BlobStore;
  /** The seal secret itself (tests). */
  readonly sealSecret?: bigint;
  /**
   * Refuse to open (`AggregatorError` "config") when the seal key is not the one this project
   * registered at acceptance (`run`, `prove-round`); nothing is checked before the project has one.
   */
  readonly checkKeyFor?: bigint;
  readonly onCheckpoint?: (name: Checkpoint) => void | Promise<void>;
}

export interface OpenedAggregator {
  readonly node: AggregatorNode;
  readonly lock: DataLock;
  close(): Promise<void>;
}

export async function openAggregator(
  config: AggregatorConfig,
  logger: NodeLogger,
  options: OpenAggregatorOptions = {},
): Promise<OpenedAggregator> {
  const env = options.env ?? process.env;
  const pk = env.FEDMARKET_PRIVATE_KEY;
  if (pk === undefined || pk === "")
    throw new AggregatorError("config", "no Ethereum key: set FEDMARKET_PRIVATE_KEY to the aggregator account's private key");
  let wallet: Wallet;
  try {
    wallet = new Wallet(pk);
  } catch {
    throw new AggregatorError("config", "FEDMARKET_PRIVATE_KEY is not a valid private key (0x + 64 hex characters)");
  }
  const { secret: sealSecret, source: keySource } = await sealSecretOf(config, options, env);
  if (config.validation !== undefined && !existsSync(config.validation)) {
    throw new AggregatorError(
      "config",
      `the validation data ${config.validation} does not exist: pass --validation <IDX or PNG folder | .csv | .jsonl>`,
    );
  }
  const lock = await acquireLock(config.dataDir);
  let provider: JsonRpcProvider;
  try {
    // fails fast, naming the endpoint, when nothing answers there
    ({ provider } = await connectRpc(config.rpcUrl, { pollingIntervalMs: Math.min(config.pollIntervalMs ?? 1_000, 1_000) }));
  } catch (err) {
    await lock.release();
    throw err;
  }
  let store: BlobStore | undefined;
  try {
    const signer = wallet.connect(provider);
    const client = new FedMarketClient(config.market, signer, { blockRange: config.blockRange ?? 2_000, retry: loggedRetries(logger) });
    const chainId = await client.checkNetwork(config.chainId);
    if (options.checkKeyFor !== undefined) checkAggregatorKey(await projectOf(client, options.checkKeyFor), sealSecret, keySource);
    await bindDataDir(config.dataDir, { chainId: chainId.toString(), market: client.address, aggregator: wallet.address });
    if (options.store !== undefined) store = options.store;
    else if (config.ipfsApi !== undefined) store = new KuboBlobStore({ apiUrl: config.ipfsApi });
    else store = await HeliaBlobStore.create({ dataDir: config.ipfsRepo ?? path.join(config.dataDir, "ipfs") });
    logger.log(
      "debug",
      "node.open",
      `aggregator ${wallet.address} (seal key ${sealKeyText(publicKeyOf(sealSecret))}) on chain ${chainId}, market ${client.address}, data ${config.dataDir}`,
      {
        aggregator: wallet.address,
        chainId,
        market: client.address,
        dataDir: config.dataDir,
      },
    );
    const chain = new AggregatorChain(client, {
      blockRange: config.blockRange ?? 2_000,
      fromBlock: (id) => historyStartBlock(client, id, logger),
    });
    const node = new AggregatorNode({
      chain,
      signer,
      address: wallet.address,
      chainId,
      store,
      dataDir: config.dataDir,
      logger,
      sealSecret,
      ...(config.circuitsDir === undefined ? {} : { circuitsDir: config.circuitsDir }),
      ...(config.workers === undefined ? {} : { workers: config.workers }),
      ...(config.chunkBatch === undefined ? {} : { chunkBatch: config.chunkBatch }),
      ...(config.pollIntervalMs === undefined ? {} : { pollIntervalMs: config.pollIntervalMs }),
      ...(config.confirmations === undefined ? {} : { confirmations: config.confirmations }),
      ...(config.ipfsTimeoutMs === undefined ? {} : { ipfsTimeoutMs: config.ipfsTimeoutMs }),
      ...(config.ipfsRetries === undefined ? {} : { ipfsRetries: config.ipfsRetries }),
      ...(config.lrDecay === undefined ? {} : { lrDecay: config.lrDecay }),
      ...(options.onCheckpoint === undefined ? {} : { onCheckpoint: options.onCheckpoint }),
      ...(config.validation === undefined
        ? {}
        : {
            roundReport: new RoundReporter({
              validationFile: config.validation,
              store,
              logger,
              specCidOf: async (id) => (await client.getProject(id)).specCid,
              ...(config.validationLimit === undefined ? {} : { validationLimit: config.validationLimit }),
              ...(config.shapleyMaxPermutations === undefined ? {} : { maxPermutations: config.shapleyMaxPermutations }),
              ...(config.ipfsTimeoutMs === undefined ? {} : { ipfsTimeoutMs: config.ipfsTimeoutMs }),
              ...(config.ipfsRetries === undefined ? {} : { ipfsRetries: config.ipfsRetries }),
            }),
          }),
    });
    const ownStore = options.store === undefined ? store : undefined;
    return {
      node,
      lock,
      async close() {
        await node.close();
        if (ownStore !== undefined) await ownStore.close();
        provider.destroy();
        await lock.release();
      },
    };
  } catch (err) {
    if (options.store === undefined) await store?.close();
    provider.destroy();
    await lock.release();
    throw err;
  }
}

/** What `status` reads from a configuration: the chain and the data folder, nothing else. */
export type StatusConfig = Pick<AggregatorConfig, "rpcUrl" | "market" | "dataDir" | "chainId" | "blockRange" | "pollIntervalMs">;

/** `fedmarket-aggregator status`'s read-only view of the chain and the data folder (`openStatusReader`). */
export interface StatusReader {
  /** The marketplace client, on a provider: it has no signer, so it cannot send anything. */
  readonly client: FedMarketClient;
  /** What the data folder and the chain say about a round (default: the open one; status.ts). */
  status(projectId: bigint, round?: number): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/**
 * Opens what `status` reads, and only that (status.ts `roundStatus`): a marketplace client on a
 * provider (network checked) and the data folder's round files. Unlike `openAggregator` it needs
 * no Ethereum key and no seal key, takes no lock (a running `run` keeps its own) and writes
 * nothing: a data folder bound to another chain or marketplace is refused, one never bound is not
 * bound now. Anyone who can read the chain and the folder can use it.
 */
export async function openStatusReader(config: StatusConfig, logger: NodeLogger): Promise<StatusReader> {
  // fails fast, naming the endpoint, when nothing answers there
  const { provider } = await connectRpc(config.rpcUrl, { pollingIntervalMs: Math.min(config.pollIntervalMs ?? 1_000, 1_000) });
  try {
    const client = new FedMarketClient(config.market, provider, { blockRange: config.blockRange ?? 2_000, retry: loggedRetries(logger) });
    const chainId = await client.checkNetwork(config.chainId);
    await checkDataDirBinding(config.dataDir, { chainId: chainId.toString(), market: client.address });
    logger.log(
      "debug",
      "status.open",
      `reading chain ${chainId}, market ${client.address}, data ${config.dataDir} (read only: no key, no lock)`,
      {
        chainId,
        market: client.address,
        dataDir: config.dataDir,
      },
    );
    const source = { client, dataDir: config.dataDir };
    return {
      client,
      status: (projectId, round) => roundStatus(source, projectId, round),
      async close() {
        provider.destroy();
      },
    };
  } catch (err) {
    provider.destroy();
    throw err;
  }
}

/** Every retried JSON-RPC call leaves a trace: a flaky endpoint shows in the logs before it fails a round. */
function loggedRetries(logger: NodeLogger): RetryOptions {
  return {
    onRetry: ({ attempt, delayMs, error }) =>
      logger.log(
        "debug",
        "rpc.retry",
        `JSON-RPC call failed (${(error as Error).message?.split("\n")[0] ?? String(error)}); retry ${attempt} in ${delayMs} ms`,
        { attempt, delayMs },
      ),
  };
}

/**
 * The seal secret and where it came from: the option (tests), `--seal-key-file`, else
 * `FEDMARKET_SEAL_KEY`; a configuration error that says what to pass when there is none.
 */
async function sealSecretOf(
  config: AggregatorConfig,
  options: OpenAggregatorOptions,
  env: NodeJS.ProcessEnv,
): Promise<{ secret: bigint; source: string }> {
  if (options.sealSecret !== undefined) return { secret: options.sealSecret, source: "the given seal key" };
  if (config.sealKeyFile !== undefined) {
    const source = `--seal-key-file ${config.sealKeyFile}`;
    const secret = await readSealKeyFile(config.sealKeyFile).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw err;
      throw new AggregatorError(
        "config",
        `${source}: no such file; pass the seal key file \`fedmarket-aggregator accept\` wrote (its --seal-key-file, default aggregator.seal)`,
      );
    });
    return { secret, source };
  }
  const hex = env.FEDMARKET_SEAL_KEY;
  if (hex !== undefined && hex !== "") return { secret: parseSealSecret(hex, "FEDMARKET_SEAL_KEY"), source: "FEDMARKET_SEAL_KEY" };
  const stale =
    env.FEDMARKET_X25519_KEY === undefined ? "" : " (FEDMARKET_X25519_KEY is no longer read: updates are sealed for a BabyJubJub seal key)";
  throw new AggregatorError(
    "config",
    `no seal key to decrypt updates with: pass --seal-key-file <file> (the file \`fedmarket-aggregator accept\` wrote) or set FEDMARKET_SEAL_KEY${stale}`,
  );
}

/** The project, or a usage error naming the flags when there is none with that id. */
export async function projectOf(client: FedMarketClient, projectId: bigint): Promise<ProjectInfo> {
  try {
    return await client.getProject(projectId);
  } catch (err) {
    if (err instanceof MarketRevertError && err.errorName === "UnknownProject")
      throw new AggregatorError(
        "usage",
        `project ${projectId} does not exist on the marketplace at ${client.address}: check --project, --market and the network`,
      );
    throw err;
  }
}
