/**
 * `fedmarket deploy`: the marketplace and one round verifier, deployed with Hardhat Ignition
 * (the modules in ignition/modules) to any JSON-RPC endpoint.
 *
 * Hardhat is loaded in-process with this repository's config, and its `localhost` network is
 * pointed at `--rpc-url` with the deployer's key (a connection override: the key stays in memory,
 * it is never written to a config or a command line). Local development chains (chain id 31337)
 * get an in-memory Ignition journal, since every fresh `hardhat node` reuses that chain id and an
 * old journal would claim contracts that do not exist; any other chain keeps Ignition's journal in
 * `ignition/deployments/<id>` so an interrupted deployment resumes instead of deploying twice.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { REPO_ROOT } from "@fedmarket/protocol";
import type { CircuitConfig } from "@fedmarket/core";
import { UsageError } from "./connect.ts";

export const VERIFIER_KINDS = ["mock", "k4-c16", "k8-c128-b8-g24"] as const;
export type VerifierKind = (typeof VERIFIER_KINDS)[number];

/** What `deploy` prints and writes (`--out deployment.json`). */
export interface Deployment {
  readonly chainId: string;
  readonly market: string;
  readonly roundVerifier: string;
  readonly chunkVerifier?: string;
  /** The chunk key's batch verifier (`BatchChunkVerifier_<cfg>`): the market verifies chunk proofs through it. */
  readonly batchChunkVerifier?: string;
  readonly decisionVerifier?: string;
  readonly verifierKind: VerifierKind;
  readonly circuit: CircuitConfig;
}

export interface DeployOptions {
  readonly rpcUrl: string;
  /** The deployer's private key (0x + 64 hex). */
  readonly privateKey: string;
  readonly verifier: VerifierKind;
  /** For `mock`: the configuration it reports (default K_MAX 4, CHUNK 16). */
  readonly mockCircuit?: Partial<CircuitConfig>;
  /** Ignition journal folder; default: in memory for chain 31337, else ignition/deployments/fedmarket-<verifier>-chain-<id>. */
  readonly deploymentDir?: string;
  readonly log?: (line: string) => void;
}

/** The Ignition module file and circuit of each real verifier (H6 adds the K8 module). */
const REAL_VERIFIERS: Record<Exclude<VerifierKind, "mock">, { file: string; circuit: CircuitConfig }> = {
  "k4-c16": { file: "RoundVerifier.ts", circuit: { kMax: 4, chunk: 16, updateBits: 16, modelBits: 32 } },
  "k8-c128-b8-g24": { file: "RoundVerifierK8C128.ts", circuit: { kMax: 8, chunk: 128, updateBits: 8, modelBits: 24 } },
};

const LOCAL_CHAIN_IDS = new Set([31337, 1337]);

type Future = { id: string };
type AnyModule = { id: string; results: Record<string, Future> };

async function importModule(file: string): Promise<AnyModule> {
  const full = path.join(REPO_ROOT, "ignition", "modules", file);
  if (!existsSync(full)) throw new UsageError(`Ignition module ${full} does not exist (this verifier is not available in this checkout)`);
  return ((await import(pathToFileURL(full).href)) as { default: AnyModule }).default;
}

export async function deployContracts(o: DeployOptions): Promise<Deployment> {
  const log = o.log ?? (() => {});
  // Hardhat and Ignition are development tools of this repository: loaded only when deploying.
  const { importUserConfig, createHardhatRuntimeEnvironment } = await import("hardhat/hre");
  const { buildModule } = await import("@nomicfoundation/hardhat-ignition/modules");
  const { HardhatArtifactResolver, errorDeploymentResultToExceptionMessage } = await import("@nomicfoundation/hardhat-ignition/helpers");
  const { deploy, DeploymentResultType } = await import("@nomicfoundation/ignition-core");

  const configPath = path.join(REPO_ROOT, "hardhat.config.ts");
  const hre = await createHardhatRuntimeEnvironment(await importUserConfig(configPath), { config: configPath }, REPO_ROOT);
  const connection = await hre.network.connect({ network: "localhost", override: { url: o.rpcUrl, accounts: [o.privateKey] } });
  const provider = connection.provider;
  const chainId = Number(await provider.request({ method: "eth_chainId" }));
  const accounts = (await provider.request({ method: "eth_accounts" })) as string[];

  const marketModule = await importModule("FedMarket.ts");
  let circuit: CircuitConfig;
  let verifierModule: AnyModule;
  if (o.verifier === "mock") {
    circuit = {
      kMax: o.mockCircuit?.kMax ?? 4,
      chunk: o.mockCircuit?.chunk ?? 16,
      updateBits: o.mockCircuit?.updateBits ?? 16,
      modelBits: o.mockCircuit?.modelBits ?? 32,
    };
    const { kMax, chunk } = circuit;
    verifierModule = buildModule(`MockRoundVerifierK${kMax}C${chunk}`, (m) => ({
      roundVerifier: m.contract("MockRoundVerifier", [BigInt(kMax), BigInt(chunk)]),
    })) as unknown as AnyModule;
  } else {
    const real = REAL_VERIFIERS[o.verifier];
    circuit = real.circuit;
    verifierModule = await importModule(real.file);
  }
  const combined = buildModule(`FedMarketWith${verifierModule.id}`, (m) => {
    const market = m.useModule(marketModule as never) as Record<string, unknown>;
    const verifier = m.useModule(verifierModule as never) as Record<string, unknown>;
    return { ...market, ...verifier } as never;
  }) as unknown as AnyModule;

  const deploymentDir =
    o.deploymentDir ??
    (LOCAL_CHAIN_IDS.has(chainId)
      ? undefined
      : path.join(REPO_ROOT, "ignition", "deployments", `fedmarket-${o.verifier}-chain-${chainId}`));
  log(
    `deploying FedMarket + ${o.verifier} verifier with Ignition to chain ${chainId} from ${accounts[0] ?? "?"}${deploymentDir === undefined ? "" : ` (journal ${deploymentDir})`}`,
  );
  const result = await deploy({
    artifactResolver: new HardhatArtifactResolver(hre.artifacts),
    provider,
    deploymentDir,
    ignitionModule: combined as never,
    deploymentParameters: {},
    accounts,
  });
  if (result.type !== DeploymentResultType.SUCCESSFUL_DEPLOYMENT) {
    throw new Error(`Ignition deployment failed: ${errorDeploymentResultToExceptionMessage(result)}`);
  }
  const address = (name: string): string | undefined => {
    const future = combined.results[name];
    return future === undefined ? undefined : result.contracts[future.id]?.address;
  };
  const market = address("market");
  const roundVerifier = address("roundVerifier");
  if (market === undefined || roundVerifier === undefined) throw new Error("Ignition returned no market or roundVerifier address");
  const chunkVerifier = address("chunkVerifier");
  const batchChunkVerifier = address("batchChunkVerifier");
  const decisionVerifier = address("decisionVerifier");
  await connection.close();
  return {
    chainId: String(chainId),
    market,
    roundVerifier,
    ...(chunkVerifier === undefined ? {} : { chunkVerifier }),
    ...(batchChunkVerifier === undefined ? {} : { batchChunkVerifier }),
    ...(decisionVerifier === undefined ? {} : { decisionVerifier }),
    verifierKind: o.verifier,
    circuit,
  };
}
