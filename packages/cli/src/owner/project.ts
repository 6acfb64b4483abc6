/**
 * The owner's project transactions: create (pin the frozen weights, the spec and the initial model, escrow the
 * budget), fund, cancel. Amounts are in the reward token's units (ETH: wei), converted from
 * decimal strings by the commands with the token's `decimals()`.
 */
import { REWARD_DECAY_ONE, consensusQuorum, roundRewardSchedule } from "@fedmarket/core";
import { Contract, ZeroAddress, type Signer, type TransactionReceipt } from "ethers";
import {
  bytesToBytes32,
  chainCircuitParams,
  chainHyperParams,
  decodeWeights,
  encodeWeights,
  FedMarketClient,
  fedMarketInterface,
  initialModelCommitment,
  loadFrozenWeights,
  validateModelSpec,
  type BlobStore,
  type ChainHyperParams,
  type ModelSpec,
} from "@fedmarket/protocol";

const ERC20_DECIMALS_ABI = ["function decimals() view returns (uint8)"] as const;

/** Decimals of the reward token (18 for ETH). */
export async function tokenDecimals(signerOrProvider: Signer | FedMarketClient["provider"], token: string): Promise<number> {
  if (token === ZeroAddress) return 18;
  const erc20 = new Contract(token, ERC20_DECIMALS_ABI, signerOrProvider);
  return Number(await erc20.getFunction("decimals").staticCall());
}

export interface CreateProjectOptions {
  readonly signer: Signer;
  readonly market: string;
  readonly verifier: string;
  readonly aggregator: string;
  readonly store: BlobStore;
  /** The spec as published (pinned byte for byte as JSON). */
  readonly specJson: unknown;
  /** The initial global model (`D` float32 weights). */
  readonly initialWeights: Float32Array;
  /**
   * The frozen layers' weights file (encoded, weights-format.ts) to pin before the spec; its CID
   * must be the spec's `frozenWeights`. Without it, a spec with frozen layers must name a CID the
   * store already holds.
   */
  readonly frozenWeights?: Uint8Array;
  readonly ownerPublicKey: Uint8Array;
  /** The first round's reward. */
  readonly rewardPerRound: bigint;
  /** Each round's reward over the previous one's, in millionths; default 1,000,000 (equal rounds). */
  readonly rewardDecayPpm?: number;
  readonly numRounds: number;
  /** Default: what the rounds reserve, the sum of `roundRewardSchedule`. */
  readonly budget?: bigint;
  /** Default: the verifier's `maxTrainers()`. */
  readonly maxTrainersPerRound?: number;
  /** Tolerated Byzantine trainers `f` (the quorum is `2f + 3`); default the largest with `2f + 3 <= maxTrainersPerRound`. */
  readonly byzantineTolerance?: number;
  /** The commit window, seconds. */
  readonly submissionWindow: number;
  readonly revealWindow: number;
  readonly aggregationWindow: number;
  readonly aggregatorBond: bigint;
  readonly slashAmount: bigint;
  readonly trainerStake: bigint;
  /** ERC-20 reward token; default ETH. */
  readonly token?: string;
  readonly allowlistRoot?: string;
  /** On-chain initial hyper-parameters and their bounds (default: from the spec, `chainHyperParams`). */
  readonly hyperParams?: ChainHyperParams;
}

export interface CreatedProject {
  readonly projectId: bigint;
  readonly specCid: string;
  readonly modelCid: string;
  /** The spec's `frozenWeights` (absent when no layer is frozen). */
  readonly frozenWeightsCid?: string;
  readonly modelCommitment: bigint;
  readonly spec: ModelSpec;
  readonly txHash: string;
  readonly blockNumber: number;
  readonly byzantineTolerance: number;
  readonly budget: bigint;
}

function projectIdFrom(receipt: TransactionReceipt): bigint {
  for (const log of receipt.logs) {
    const parsed = (() => {
      try {
        return fedMarketInterface.parseLog(log);
      } catch {
        return null;
      }
    })();
    if (parsed?.name === "ProjectCreated") return BigInt(parsed.args[0] as bigint);
  }
  throw new Error(`transaction ${receipt.hash} emitted no ProjectCreated event`);
}

/** Pins the frozen weights (if any), the spec and the initial model, creates the project and escrows its budget. */
export async function createProject(o: CreateProjectOptions): Promise<CreatedProject> {
  const { spec, summary } = validateModelSpec(o.specJson);
  if (spec.circuit === undefined)
    throw new Error('the model spec has no "circuit" section (kMax, chunk, updateBits, modelBits): trainers and the aggregator need it');
  if (o.initialWeights.length !== summary.parameters) {
    throw new Error(`the initial model has ${o.initialWeights.length} weights, the spec's model has ${summary.parameters}`);
  }
  if (o.frozenWeights !== undefined) {
    if (summary.frozenParameters === 0) throw new Error("frozen weights were given, but the spec freezes no layer (no trainable: false)");
    try {
      decodeWeights(o.frozenWeights, summary.frozenParameters);
    } catch (err) {
      throw new Error(
        `the frozen weights do not fit the spec's frozen layers (${summary.frozenParameters} values): ${(err as Error).message}`,
      );
    }
  }
  const client = new FedMarketClient(o.market, o.signer);
  const verifierConfig = await client.verifierConfig(o.verifier);
  if (verifierConfig.maxTrainers !== spec.circuit.kMax || verifierConfig.chunkSize !== spec.circuit.chunk) {
    throw new Error(
      `the verifier at ${o.verifier} is compiled for kMax ${verifierConfig.maxTrainers} / chunk ${verifierConfig.chunkSize}, the spec's circuit says kMax ${spec.circuit.kMax} / chunk ${spec.circuit.chunk}`,
    );
  }
  const maxTrainers = o.maxTrainersPerRound ?? verifierConfig.maxTrainers;
  const f = o.byzantineTolerance ?? Math.max(0, Math.floor((maxTrainers - 3) / 2));
  const quorum = consensusQuorum(f);
  if (maxTrainers < quorum) throw new Error(`--max-trainers ${maxTrainers} is below 2f + 3 = ${quorum} (the consensus rule's quorum)`);
  let modelCommitment: bigint;
  try {
    modelCommitment = initialModelCommitment(o.initialWeights, spec.quantization.scale, spec.circuit, o.numRounds);
  } catch (err) {
    // the model's headroom (docs/PROOF-INTERFACE.md): --rounds, the initial weights or the spec's circuit
    throw new Error(`the project does not fit its circuit's model headroom (--rounds, the initial weights): ${(err as Error).message}`);
  }
  // The frozen weights go first: a spec naming a CID nobody can fetch would strand every trainer.
  if (o.frozenWeights !== undefined) {
    const frozenCid = await o.store.put(o.frozenWeights);
    if (frozenCid !== spec.frozenWeights)
      throw new Error(
        `the frozen weights were pinned as ${frozenCid}, but the spec's frozenWeights is ${spec.frozenWeights}: put that CID in the spec`,
      );
  } else if (summary.frozenParameters > 0) {
    try {
      await loadFrozenWeights(spec, summary, (cid) => o.store.get(cid));
    } catch (err) {
      throw new Error(`the spec's frozenWeights ${spec.frozenWeights} is not available from the store: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  const specCid = await o.store.put(new TextEncoder().encode(JSON.stringify(o.specJson, null, 2)));
  const modelCid = await o.store.put(encodeWeights(o.initialWeights));
  const token = o.token ?? ZeroAddress;
  const decay = o.rewardDecayPpm ?? REWARD_DECAY_ONE;
  const budget = o.budget ?? roundRewardSchedule(o.rewardPerRound, decay, o.numRounds).reduce((a, b) => a + b, 0n);
  const config = {
    token,
    aggregator: o.aggregator,
    verifier: o.verifier,
    budget,
    rewardPerRound: o.rewardPerRound,
    rewardDecayPpm: decay,
    numRounds: o.numRounds,
    maxTrainersPerRound: maxTrainers,
    submissionWindow: o.submissionWindow,
    revealWindow: o.revealWindow,
    aggregationWindow: o.aggregationWindow,
    challengeWindow: 0,
    aggregatorBond: o.aggregatorBond,
    slashAmount: o.slashAmount,
    challengeDeposit: 0n,
    trainerStake: o.trainerStake,
    allowlistRoot: o.allowlistRoot ?? `0x${"00".repeat(32)}`,
    ownerEncryptionKey: bytesToBytes32(o.ownerPublicKey),
    initialModelCommitment: modelCommitment,
    params: chainCircuitParams(spec, summary.parameters, f),
    ...(o.hyperParams ?? chainHyperParams(spec)),
    specCid,
    initialModelCid: modelCid,
  };
  const inEth = token === ZeroAddress;
  if (!inEth) await client.wait(await client.approveToken(token, budget));
  const receipt = await send(client, "createProject", [config], inEth ? budget : 0n);
  return {
    projectId: projectIdFrom(receipt),
    specCid,
    modelCid,
    ...(spec.frozenWeights === undefined ? {} : { frozenWeightsCid: spec.frozenWeights }),
    modelCommitment,
    spec,
    txHash: receipt.hash,
    blockNumber: receipt.blockNumber,
    byzantineTolerance: f,
    budget,
  };
}

/** Sends through the shared client (simulated first, reverts decoded, retried) and waits. */
async function send(client: FedMarketClient, name: string, args: readonly unknown[], value = 0n): Promise<TransactionReceipt> {
  return client.wait(await client.send(name, args, { value }));
}

/**
 * Adds `amount` of the project's `token` to its budget (anyone may fund a project; a third party's
 * deposit is refunded to it pro rata when the project ends, through `claimRefund`). `client` is
 * connected to the funder's signer.
 */
export async function fundProject(client: FedMarketClient, projectId: bigint, token: string, amount: bigint): Promise<TransactionReceipt> {
  const inEth = token === ZeroAddress;
  if (!inEth) await client.wait(await client.approveToken(token, amount));
  return send(client, "fundProject", [projectId, amount], inEth ? amount : 0n);
}

/**
 * Cancels the project (owner only; `client` connected to the owner's signer). Below quorum the open
 * round's reward is split among its submitters and the project closes; with a quorum the round runs
 * to its end first. The unspent budget is refunded pro rata: the owner's part is credited, third-party
 * funders claim theirs.
 */
export async function cancelProject(client: FedMarketClient, projectId: bigint): Promise<TransactionReceipt> {
  return send(client, "cancelProject", [projectId]);
}
