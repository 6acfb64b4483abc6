/**
 * Builds an `AggregatorNode` from a configuration: the Ethereum key (`FEDMARKET_PRIVATE_KEY`, never
 * a flag), the X25519 key (`--x25519-key-file` or `FEDMARKET_X25519_KEY`), the provider (chain id
 * checked), the marketplace client (network checked), the blob store (Kubo RPC or embedded
 * Helia), the data folder (locked, and bound to chain, market and account).
 */
import path from "node:path";
import { JsonRpcProvider, Wallet } from "ethers";
import { FedMarketClient, HeliaBlobStore, KuboBlobStore, publicKeyOf, bytesToBytes32, type BlobStore } from "@fedmarket/protocol";
import { AggregatorChain } from "./chain.ts";
import { AggregatorError, AggregatorNode, readSecretKeyFile, type Checkpoint } from "./aggregator-node.ts";
import { acquireLock, type DataLock } from "./lock.ts";
import type { NodeLogger } from "@fedmarket/protocol";
import { bindDataDir } from "./store.ts";

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
}

export interface OpenAggregatorOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Use this store instead of building one (tests). */
  readonly store?: BlobStore;
  /** The X25519 secret key itself (tests). */
  readonly secretKey?: Uint8Array;
  readonly onCheckpoint?: (name: Checkpoint) => void | Promise<void>;
}

export interface OpenedAggregator {
  readonly node: AggregatorNode;
  readonly lock: DataLock;
  close(): Promise<void>;
}

export async function openAggregator(config: AggregatorConfig, logger: NodeLogger, options: OpenAggregatorOptions = {}): Promise<OpenedAggregator> {
  const env = options.env ?? process.env;
  const pk = env.FEDMARKET_PRIVATE_KEY;
  if (pk === undefined || pk === "") throw new AggregatorError("config", "no Ethereum key: set FEDMARKET_PRIVATE_KEY to the aggregator account's private key");
  let wallet: Wallet;
  try {
    wallet = new Wallet(pk);
  } catch {
    throw new AggregatorError("config", "FEDMARKET_PRIVATE_KEY is not a valid private key (0x + 64 hex characters)");
  }
  let secretKey = options.secretKey;
  if (secretKey === undefined) {
    const hex = env.FEDMARKET_X25519_KEY;
    if (config.x25519KeyFile !== undefined) secretKey = await readSecretKeyFile(config.x25519KeyFile);
    else if (hex !== undefined && /^(0x)?[0-9a-fA-F]{64}$/.test(hex)) secretKey = Uint8Array.from(Buffer.from(hex.replace(/^0x/, ""), "hex"));
    else throw new AggregatorError("config", "no X25519 key to decrypt updates: pass --x25519-key-file <file> or set FEDMARKET_X25519_KEY (64 hex characters)");
  }
  const lock = await acquireLock(config.dataDir);
  const provider = new JsonRpcProvider(config.rpcUrl, undefined, { staticNetwork: true, pollingInterval: Math.min(config.pollIntervalMs ?? 1_000, 1_000), cacheTimeout: -1 });
  let store: BlobStore | undefined;
  try {
    const signer = wallet.connect(provider);
    const client = new FedMarketClient(config.market, signer, { blockRange: config.blockRange ?? 2_000 });
    const chainId = await client.checkNetwork(config.chainId);
    await bindDataDir(config.dataDir, { chainId: chainId.toString(), market: client.address, aggregator: wallet.address });
    if (options.store !== undefined) store = options.store;
    else if (config.ipfsApi !== undefined) store = new KuboBlobStore({ apiUrl: config.ipfsApi });
    else store = await HeliaBlobStore.create({ dataDir: config.ipfsRepo ?? path.join(config.dataDir, "ipfs") });
    logger.log("debug", "node.open", `aggregator ${wallet.address} (X25519 ${bytesToBytes32(publicKeyOf(secretKey))}) on chain ${chainId}, market ${client.address}, data ${config.dataDir}`, {
      aggregator: wallet.address, chainId, market: client.address, dataDir: config.dataDir,
    });
    const chain = new AggregatorChain(client, { blockRange: config.blockRange ?? 2_000 });
    const node = new AggregatorNode({
      chain, signer, address: wallet.address, chainId, store, dataDir: config.dataDir, logger, secretKey,
      ...(config.circuitsDir === undefined ? {} : { circuitsDir: config.circuitsDir }),
      ...(config.workers === undefined ? {} : { workers: config.workers }),
      ...(config.chunkBatch === undefined ? {} : { chunkBatch: config.chunkBatch }),
      ...(config.pollIntervalMs === undefined ? {} : { pollIntervalMs: config.pollIntervalMs }),
      ...(config.confirmations === undefined ? {} : { confirmations: config.confirmations }),
      ...(config.ipfsTimeoutMs === undefined ? {} : { ipfsTimeoutMs: config.ipfsTimeoutMs }),
      ...(config.ipfsRetries === undefined ? {} : { ipfsRetries: config.ipfsRetries }),
      ...(options.onCheckpoint === undefined ? {} : { onCheckpoint: options.onCheckpoint }),
    });
    const ownStore = options.store === undefined ? store : undefined;
    return {
      node, lock,
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

/** Checks that the key's public half is the one the project published (`aggregatorEncryptionKey`). */
export function x25519PublicHex(secretKey: Uint8Array): string {
  return bytesToBytes32(publicKeyOf(secretKey));
}
