/**
 * Owner-side helpers for local demos, tests and benchmarks (never part of a production package):
 * deploy FedMarket + MockRoundVerifier from the Hardhat artifacts, pin a model spec and its
 * initial weights, create an ETH project and have the aggregator accept it with a BabyJubJub seal
 * key (docs/PROOF-INTERFACE.md, "Sealed updates"); the owner keeps an X25519 key for the wraps.
 *
 * The mock verifier accepts "proofs" that hash the public inputs (contracts/test/mocks), so a
 * local demo needs no proving setup; everything a trainer does is the same as on a real
 * deployment.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { ContractFactory, ZeroAddress, type Signer } from "ethers";
import { REWARD_DECAY_ONE, publicKeyOf, randomScalar, type CurvePoint } from "@fedmarket/core";
import {
  bytesToBytes32,
  chainCircuitParams,
  chainHyperParams,
  FedMarketClient,
  generateKeyPair,
  initialModelCommitment,
  encodeWeights,
  REPO_ROOT,
  validateModelSpec,
  type BlobStore,
  type ChainHyperParams,
  type ModelSpec,
  type X25519KeyPair,
} from "@fedmarket/protocol";
import { initialWeights, type TF } from "@fedmarket/ml";

interface Artifact {
  abi: unknown[];
  bytecode: string;
}

/** Reads a Hardhat artifact (run `npx hardhat build` at the repo root first). */
export function readArtifact(relative: string): Artifact {
  const file = path.join(REPO_ROOT, "artifacts", "contracts", relative);
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Artifact;
  } catch (err) {
    throw new Error(`cannot read ${file} (${(err as Error).message}): run \`npx hardhat build\` at the repository root`);
  }
}

/**
 * The aggregator's seal key pair: the secret scalar `a` (what `fedmarket-aggregator accept` writes to
 * its seal key file, `--seal-key-file`, `FEDMARKET_SEAL_KEY`) and the seal key `A = a * Base8` it registers.
 */
export interface SealKeyPair {
  readonly secret: bigint;
  readonly sealKey: CurvePoint;
}

/** A fresh seal key pair (`secret` defaults to a random scalar in `[1, l)`). */
export function generateSealKeyPair(secret: bigint = randomScalar()): SealKeyPair {
  return { secret, sealKey: publicKeyOf(secret) };
}

/** Deploys FedMarket and a MockRoundVerifier(kMax, chunk); returns their addresses. */
export async function deployMarketWithMockVerifier(
  deployer: Signer,
  kMax: number,
  chunk: number,
): Promise<{ market: string; verifier: string }> {
  const fm = readArtifact("FedMarket.sol/FedMarket.json");
  const mv = readArtifact("test/mocks/MockRoundVerifier.sol/MockRoundVerifier.json");
  const market = await new ContractFactory(fm.abi as never, fm.bytecode, deployer).deploy();
  await market.waitForDeployment();
  const verifier = await new ContractFactory(mv.abi as never, mv.bytecode, deployer).deploy(kMax, chunk);
  await verifier.waitForDeployment();
  return { market: await market.getAddress(), verifier: await verifier.getAddress() };
}

export interface DemoProjectOptions {
  readonly market: string;
  readonly verifier: string;
  readonly owner: Signer;
  readonly aggregator: Signer;
  readonly store: BlobStore;
  readonly tf: TF;
  /** A spec with a circuit section whose kMax/chunk match the verifier. */
  readonly spec: unknown;
  readonly numRounds?: number;
  readonly maxTrainersPerRound?: number;
  readonly byzantineTolerance?: number;
  /** The commit window, seconds. */
  readonly submissionWindow?: number;
  readonly revealWindow?: number;
  readonly aggregationWindow?: number;
  /** Optimistic rounds (IFedMarketOptimistic): the challenge window in seconds; 0 (default) proves every round. */
  readonly challengeWindow?: number;
  /** What a challenger deposits (wei), with `challengeWindow`. */
  readonly challengeDeposit?: bigint;
  readonly rewardPerRound?: bigint;
  /** Each round's reward over the previous one's, in millionths (default 1,000,000: equal rounds). */
  readonly rewardDecayPpm?: number;
  readonly trainerStake?: bigint;
  readonly weightsSeed?: number;
  /** The initial model (the trainable parameters); default: the spec's seeded initial weights (`weightsSeed`). */
  readonly initialWeights?: Float32Array;
  /**
   * The weights of the spec's frozen layers: pinned first, and their CID becomes the pinned spec's
   * `frozenWeights` (so `spec` may leave it out).
   */
  readonly frozenWeights?: Float32Array;
  /** ERC-20 reward token (default: ETH); owner and aggregator must hold enough of it. */
  readonly token?: string;
  /** On-chain initial hyper-parameters and bounds (default: from the spec, `chainHyperParams`). */
  readonly hyperParams?: ChainHyperParams;
  /**
   * Trainers registered (paying the stake, in ETH projects) before the aggregator accepts: the
   * candidates of round 0's draw are the trainers registered when it opens.
   */
  readonly trainers?: readonly Signer[];
  /** Whether the aggregator accepts at once (default true); otherwise call `acceptDemoProject`. */
  readonly accept?: boolean;
}

export interface DemoProject {
  readonly projectId: bigint;
  readonly spec: ModelSpec;
  readonly specCid: string;
  readonly modelCid: string;
  readonly modelCommitment: bigint;
  readonly weights: Float32Array;
  /** The owner's X25519 key pair (`ownerEncryptionKey`): each update wraps its ephemeral secret for it. */
  readonly ownerKey: X25519KeyPair;
  /** The aggregator's seal key pair; `acceptDemoProject` registers `aggregatorKey.sealKey`. */
  readonly aggregatorKey: SealKeyPair;
}

/**
 * Pins the spec and initial weights, creates the project, registers `trainers` and has the
 * aggregator accept it (round 0 opens with them as its candidates).
 */
export async function createDemoProject(o: DemoProjectOptions): Promise<DemoProject> {
  const specJson =
    o.frozenWeights === undefined
      ? o.spec
      : { ...(o.spec as Record<string, unknown>), frozenWeights: await o.store.put(encodeWeights(o.frozenWeights)) };
  const { spec, summary } = validateModelSpec(specJson);
  if (spec.circuit === undefined) throw new Error("the spec needs a circuit section");
  const weights = o.initialWeights ?? initialWeights(o.tf, spec, o.weightsSeed ?? spec.seed ?? 1);
  const specCid = await o.store.put(new TextEncoder().encode(JSON.stringify(specJson, null, 2)));
  const modelCid = await o.store.put(encodeWeights(weights));
  const rounds = o.numRounds ?? 3;
  const modelCommitment = initialModelCommitment(weights, spec.quantization.scale, spec.circuit, rounds);
  const ownerKey = generateKeyPair();
  const aggregatorKey = generateSealKeyPair();
  const reward = o.rewardPerRound ?? 10n ** 17n;
  const f = o.byzantineTolerance ?? 0;
  const config = {
    token: o.token ?? ZeroAddress,
    aggregator: await o.aggregator.getAddress(),
    verifier: o.verifier,
    // One round's reward more than the rounds pay: the owner's reference deposit of the last
    // round (commitReference takes the round's reward from the budget; it returns when the
    // reference counts, and the unspent budget is refunded when the project closes).
    budget: reward * BigInt(rounds + 1),
    rewardPerRound: reward,
    rewardDecayPpm: o.rewardDecayPpm ?? REWARD_DECAY_ONE,
    numRounds: rounds,
    maxTrainersPerRound: o.maxTrainersPerRound ?? spec.circuit.kMax,
    submissionWindow: o.submissionWindow ?? 3600,
    revealWindow: o.revealWindow ?? o.submissionWindow ?? 3600,
    aggregationWindow: o.aggregationWindow ?? 3600,
    challengeWindow: o.challengeWindow ?? 0,
    aggregatorBond: 10n ** 16n,
    slashAmount: 10n ** 15n,
    challengeDeposit: o.challengeDeposit ?? 0n,
    trainerStake: o.trainerStake ?? 0n,
    allowlistRoot: `0x${"00".repeat(32)}`,
    ownerEncryptionKey: bytesToBytes32(ownerKey.publicKey),
    initialModelCommitment: modelCommitment,
    params: chainCircuitParams(spec, summary.parameters, f),
    ...(o.hyperParams ?? chainHyperParams(spec)),
    specCid,
    initialModelCid: modelCid,
  };
  const ownerClient = new FedMarketClient(o.market, o.owner);
  const aggClient = new FedMarketClient(o.market, o.aggregator);
  const inEth = config.token === ZeroAddress;
  if (!inEth) {
    await (await ownerClient.approveToken(config.token, config.budget)).wait();
    await (await aggClient.approveToken(config.token, config.aggregatorBond)).wait();
  }
  const tx = await ownerClient.contract.getFunction("createProject").send(config, { value: inEth ? config.budget : 0n });
  await tx.wait();
  const projectId = await ownerClient.projectCount();
  for (const trainer of o.trainers ?? []) {
    const client = new FedMarketClient(o.market, trainer);
    if (!(await client.getTrainer(projectId, await trainer.getAddress())).registered) {
      if (!inEth && config.trainerStake > 0n) await (await client.approveToken(config.token, config.trainerStake)).wait();
      await client.wait(await client.registerTrainer(projectId, [], inEth ? config.trainerStake : 0n));
    }
  }
  const project = { projectId, spec, specCid, modelCid, modelCommitment, weights, ownerKey, aggregatorKey };
  if (o.accept !== false) await acceptDemoProject(o.market, o.aggregator, project);
  return project;
}

/** The appointed aggregator accepts the project's current terms with the demo project's seal key; round 0 opens. */
export async function acceptDemoProject(market: string, aggregator: Signer, project: DemoProject): Promise<void> {
  const client = new FedMarketClient(market, aggregator);
  const p = await client.getProject(project.projectId);
  const terms = { bond: p.aggregatorBond, slashAmount: p.slashAmount };
  const inEth = p.token === ZeroAddress;
  await client.wait(await client.acceptAggregator(project.projectId, project.aggregatorKey.sealKey, terms, inEth));
}

/** Hardhat's default accounts ("test test ... junk"): private key of account `i`. */
export const HARDHAT_KEYS: readonly string[] = [
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
  "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
  "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
  "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
  "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
  "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
  "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
];
