/**
 * What the aggregator's chain tests share: `hardhat node` as a child process on a free port,
 * FedMarket + the generated K4/C16 Groth16 verifiers + the Groth16RoundVerifier adapter (deployed
 * from the Hardhat artifacts: `npx hardhat build`), one embedded Helia store that test, trainers
 * and aggregator share, and the TF.js backend (createDemoProject draws the initial weights with it).
 * The K4/C16 circuits' dev setup is prepared first (`prepareCircuits`, what `fedmarket-aggregator
 * setup` does; cached after the first time), as an operator does before any aggregation window: the
 * aggregator never makes it itself.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ContractFactory, JsonRpcProvider, Wallet } from "ethers";
import { prepareCircuits } from "@fedmarket/aggregator";
import { FedMarketClient, HeliaBlobStore, memoryLogger } from "@fedmarket/protocol";
import { selectBackend, type BackendInfo } from "@fedmarket/ml";
import { startLocalChain, type LocalChain } from "../../../src/chain/local-chain.ts";
import { HARDHAT_KEYS, readArtifact } from "../../../src/chain/demo-project.ts";
import { deployGeneratedVerifiers, deployGroth16RoundVerifier } from "../../../src/chain/round-verifier.ts";
import type { RoundChain } from "../../helpers.ts";

/** The circuits every verifier of the fixture is generated for. */
export const K4_C16 = { kMax: 4, chunk: 16, updateBits: 16, modelBits: 32 } as const;

export interface MarketFixture {
  /** A temporary folder, removed by `close()`. */
  readonly tmp: string;
  readonly chain: LocalChain;
  /** A provider straight to the hardhat node (never through a test proxy). */
  readonly provider: JsonRpcProvider;
  readonly chainId: bigint;
  readonly market: string;
  /** The Groth16RoundVerifier adapter over the K4/C16 verifiers. */
  readonly verifier: string;
  readonly store: HeliaBlobStore;
  /** The Helia block folder (what a spawned aggregator CLI opens with `--ipfs-repo`). */
  readonly ipfsDir: string;
  readonly backend: BackendInfo;
  /** Hardhat account `i` (0 deploys and owns projects, 1 aggregates, 2.. train). */
  signer(i: number): Wallet;
  /** Deploys a contract from its artifact path under artifacts/contracts. */
  deployFrom(relative: string, args: unknown[]): Promise<string>;
  /** The chain as the round helpers (`commitRevealRound`, `passDeadline`) move it. */
  readonly roundChain: RoundChain;
  close(): Promise<void>;
}

export async function startMarketFixture(prefix: string): Promise<MarketFixture> {
  await prepareCircuits(K4_C16, memoryLogger());
  const tmp = await mkdtemp(path.join(os.tmpdir(), prefix));
  const chain = await startLocalChain();
  const provider = new JsonRpcProvider(chain.url, undefined, { staticNetwork: true, pollingInterval: 200, cacheTimeout: -1 });
  const signer = (i: number): Wallet => new Wallet(HARDHAT_KEYS[i] as string, provider);
  const deployFrom = async (relative: string, args: unknown[]): Promise<string> => {
    const a = readArtifact(relative);
    const c = await new ContractFactory(a.abi as never, a.bytecode, signer(0)).deploy(...args);
    await c.waitForDeployment();
    return c.getAddress();
  };
  const generated = await deployGeneratedVerifiers(signer(0), K4_C16);
  const verifier = await deployGroth16RoundVerifier(signer(0), { ...generated, circuit: K4_C16 });
  const market = await deployFrom("FedMarket.sol/FedMarket.json", []);
  const ipfsDir = path.join(tmp, "ipfs");
  const store = await HeliaBlobStore.create({ dataDir: ipfsDir });
  const backend = await selectBackend({ log: () => {} });
  const chainId = (await provider.getNetwork()).chainId;
  return {
    tmp,
    chain,
    provider,
    chainId,
    market,
    verifier,
    store,
    ipfsDir,
    backend,
    signer,
    deployFrom,
    roundChain: { rpc: (method, params) => chain.rpc(method, params), client: new FedMarketClient(market, provider) },
    async close() {
      await store.close();
      provider.destroy();
      await chain.stop();
      await rm(tmp, { recursive: true, force: true });
    },
  };
}
