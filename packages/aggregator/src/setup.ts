/**
 * Builds an `AggregatorNode` from a configuration: the Ethereum key (`FEDMARKET_PRIVATE_KEY`, never
 * a flag), the X25519 key (`--x25519-key-file` or `FEDMARKET_X25519_KEY`), the provider (the node
 * runtime's `connectRpc`; chain id checked), the marketplace client (network checked), the blob
 * store (Kubo RPC or embedded Helia), the data folder (locked, and bound to chain, market and account),
 * and where each project's history starts (its creation block, so no read scans from block 0). With
 * `checkKeyFor`, the X25519 key is checked against the one the project registered at acceptance
 * before anything else happens (`checkAggregatorKey`).
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { Wallet, type JsonRpcProvider } from "ethers";
import {
  bytesToBytes32,
  connectRpc,
  FedMarketClient,
  HeliaBlobStore,
  KuboBlobStore,
  MarketRevertError,
  publicKeyOf,
  RpcUnavailableError,
  type BlobStore,
  type ProjectInfo,
  type RetryOptions,
} from "@fedmarket/protocol";
import { AggregatorChain, projectCreationBlock } from "./chain.ts";
import { AggregatorNode } from "./aggregator-node.ts";
import { AggregatorError } from "./errors.ts";
import { readSecretKeyFile } from "./keys.ts";
import type { Checkpoint } from "./steps/context.ts";
import { acquireLock, type DataLock } from "./lock.ts";
import type { NodeLogger } from "@fedmarket/protocol";
import { bindDataDir } from "./store.ts";
import { RoundReporter } from "./report/round-report-step.ts";

export interface AggregatorConfig {
  readonly rpcUrl: string;
  readonly market: string;
  readonly dataDir: string;
  readonly chainId?: bigint;
  readonly ipfsApi?: string;
  readonly ipfsRepo?: string;
  readonly x25519KeyFile?: string;
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
  /** The X25519 secret key itself (tests). */
  readonly secretKey?: Uint8Array;
  /**
   * Refuse to open (`AggregatorError` "config") when the X25519 key is not the one this project
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
  let secretKey = options.secretKey;
  let keySource = "the given X25519 key";
  if (secretKey === undefined) {
    const hex = env.FEDMARKET_X25519_KEY;
    if (config.x25519KeyFile !== undefined) {
      keySource = `--x25519-key-file ${config.x25519KeyFile}`;
      secretKey = await readSecretKeyFile(config.x25519KeyFile).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== "ENOENT") throw err;
        throw new AggregatorError(
          "config",
          `${keySource}: no such file; pass the key file \`fedmarket-aggregator accept\` wrote (--key-file, default aggregator.x25519)`,
        );
      });
    } else if (hex !== undefined && /^(0x)?[0-9a-fA-F]{64}$/.test(hex)) {
      keySource = "FEDMARKET_X25519_KEY";
      secretKey = Uint8Array.from(Buffer.from(hex.replace(/^0x/, ""), "hex"));
    } else
      throw new AggregatorError(
        "config",
        "no X25519 key to decrypt updates: pass --x25519-key-file <file> or set FEDMARKET_X25519_KEY (64 hex characters)",
      );
  }
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
    // Every retried JSON-RPC call leaves a trace: a flaky endpoint shows in the logs before it fails a round.
    const retry: RetryOptions = {
      onRetry: ({ attempt, delayMs, error }) =>
        logger.log(
          "debug",
          "rpc.retry",
          `JSON-RPC call failed (${(error as Error).message?.split("\n")[0] ?? String(error)}); retry ${attempt} in ${delayMs} ms`,
          { attempt, delayMs },
        ),
    };
    const client = new FedMarketClient(config.market, signer, { blockRange: config.blockRange ?? 2_000, retry });
    const chainId = await client.checkNetwork(config.chainId);
    if (options.checkKeyFor !== undefined) checkAggregatorKey(await projectOf(client, options.checkKeyFor), secretKey, keySource);
    await bindDataDir(config.dataDir, { chainId: chainId.toString(), market: client.address, aggregator: wallet.address });
    if (options.store !== undefined) store = options.store;
    else if (config.ipfsApi !== undefined) store = new KuboBlobStore({ apiUrl: config.ipfsApi });
    else store = await HeliaBlobStore.create({ dataDir: config.ipfsRepo ?? path.join(config.dataDir, "ipfs") });
    logger.log(
      "debug",
      "node.open",
      `aggregator ${wallet.address} (X25519 ${bytesToBytes32(publicKeyOf(secretKey))}) on chain ${chainId}, market ${client.address}, data ${config.dataDir}`,
      {
        aggregator: wallet.address,
        chainId,
        market: client.address,
        dataDir: config.dataDir,
      },
    );
    const chain = new AggregatorChain(client, {
      blockRange: config.blockRange ?? 2_000,
      fromBlock: (id) => historyStart(client, id, logger),
    });
    const node = new AggregatorNode({
      chain,
      signer,
      address: wallet.address,
      chainId,
      store,
      dataDir: config.dataDir,
      logger,
      secretKey,
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

/**
 * Where project `projectId`'s history is read from: its creation block (chain.ts
 * `projectCreationBlock`). An endpoint that cannot answer calls at old blocks (a pruned node)
 * costs only time: the history is then read from block 0, as the logs are still there.
 */
async function historyStart(client: FedMarketClient, projectId: bigint, logger: NodeLogger): Promise<number> {
  try {
    return (await projectCreationBlock(client, projectId)) ?? 0;
  } catch (err) {
    if (err instanceof RpcUnavailableError) throw err;
    logger.log(
      "debug",
      "history.from-genesis",
      `cannot find the creation block of project ${projectId} (${(err as Error).message.split("\n")[0]}): reading its history from block 0`,
      {
        projectId,
      },
    );
    return 0;
  }
}

/** The key's public half as the project publishes it (`aggregatorEncryptionKey`, bytes32 hex). */
export function x25519PublicHex(secretKey: Uint8Array): string {
  return bytesToBytes32(publicKeyOf(secretKey));
}

/**
 * Refuses a secret key whose public half is not the project's registered `aggregatorEncryptionKey`:
 * trainers encrypt every update to the registered key, so any other key opens none of them and every
 * round would fail. A project without a registered key (all zeros: not accepted yet) passes.
 * `source` names where the key came from (`--x25519-key-file <file>`, `FEDMARKET_X25519_KEY`).
 */
export function checkAggregatorKey(
  project: Pick<ProjectInfo, "id" | "aggregatorEncryptionKey">,
  secretKey: Uint8Array,
  source: string,
): void {
  const registered = project.aggregatorEncryptionKey.toLowerCase();
  if (/^0x0*$/.test(registered)) return;
  const derived = x25519PublicHex(secretKey).toLowerCase();
  if (derived === registered) return;
  throw new AggregatorError(
    "config",
    `the X25519 key in ${source} (public key ${derived}) is not the key project ${project.id} registered when its aggregator accepted ` +
      `(${registered}): trainers encrypt their updates to the registered key, so this one cannot open them. ` +
      "Pass the key file `fedmarket-aggregator accept` wrote for this project (--x25519-key-file, default aggregator.x25519) " +
      "or set FEDMARKET_X25519_KEY to it; nothing was done",
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
