/**
 * Builds a `TrainerNode` from a resolved configuration: key, provider (chain id checked), the
 * marketplace client (network checked), the blob store (Kubo RPC or embedded Helia) and the state
 * folder (bound to chain, market and account).
 */
import path from "node:path";
import { FedMarketClient, HeliaBlobStore, KuboBlobStore, type BlobStore } from "@fedmarket/protocol";
import type { BackendInfo } from "@fedmarket/ml";
import { connectProvider, loadWallet, stateDirOf, type NodeConfig } from "./config.ts";
import type { NodeLogger } from "@fedmarket/protocol";
import { StateStore } from "./state.ts";
import { TrainerNode, type Checkpoint } from "./trainer-node.ts";
import type { UpdateProducer } from "./update-producer.ts";

export interface OpenedNode {
  readonly node: TrainerNode;
  readonly stateDir: string;
  close(): Promise<void>;
}

export interface OpenNodeOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Use this store instead of building one from the config (tests). */
  readonly store?: BlobStore;
  readonly backend?: BackendInfo;
  readonly onCheckpoint?: (name: Checkpoint) => void | Promise<void>;
  /** What the node submits (default: honest local training); the testkit's attack wrappers go here. */
  readonly producer?: UpdateProducer;
}

export async function openNode(config: NodeConfig, logger: NodeLogger, options: OpenNodeOptions = {}): Promise<OpenedNode> {
  const wallet = await loadWallet(config, options.env);
  const { provider, chainId } = await connectProvider(config);
  const signer = wallet.connect(provider);
  const client = new FedMarketClient(config.market, signer, { blockRange: config.blockRange });
  await client.checkNetwork(config.chainId);
  const stateDir = await stateDirOf(config, { chainId, market: client.address, account: wallet.address });
  const state = await StateStore.open(stateDir);
  await state.bind(chainId, client.address, wallet.address);
  let store: BlobStore;
  let storeName: string;
  if (options.store !== undefined) {
    store = options.store;
    storeName = "the given blob store";
  } else if (config.ipfsApi !== undefined) {
    const kubo = new KuboBlobStore({ apiUrl: config.ipfsApi });
    store = kubo;
    storeName = `Kubo at ${kubo.apiUrl}`;
  } else {
    const dataDir = config.ipfsRepo ?? path.join(stateDir, "ipfs");
    store = await HeliaBlobStore.create({ dataDir });
    storeName = `the embedded IPFS node (${dataDir})`;
  }
  logger.log(
    "debug",
    "node.open",
    `trainer ${wallet.address} on chain ${chainId}, market ${client.address}, state ${stateDir}, storage ${storeName}`,
    {
      trainer: wallet.address,
      chainId,
      market: client.address,
      stateDir,
    },
  );
  const node = new TrainerNode({
    client,
    signer,
    address: wallet.address,
    chainId,
    store,
    storeName,
    state,
    logger,
    ...(config.data === undefined ? {} : { data: config.data }),
    ...(config.seed === undefined ? {} : { seed: config.seed }),
    pollIntervalMs: config.pollIntervalMs,
    confirmations: config.confirmations,
    ipfsTimeoutMs: config.ipfsTimeoutMs,
    ipfsRetries: config.ipfsRetries,
    ...(config.answerChunksPerTx === undefined ? {} : { answerChunksPerTx: config.answerChunksPerTx }),
    ...(options.backend === undefined ? {} : { backend: options.backend }),
    ...(options.onCheckpoint === undefined ? {} : { onCheckpoint: options.onCheckpoint }),
    ...(options.producer === undefined ? {} : { producer: options.producer }),
  });
  return {
    node,
    stateDir,
    async close() {
      if (options.store === undefined) await store.close();
      provider.destroy();
    },
  };
}
