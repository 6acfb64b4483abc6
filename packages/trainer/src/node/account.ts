/**
 * The trainer's account operations, outside any round: `join` (register, paying the stake),
 * `status` (project, open round, this account, the local state) and `claim` (withdraw credits,
 * release the stake once the project ended).
 */
import { ETH_TOKEN, ProjectStatus } from "@fedmarket/protocol";
import { projectOrThrow } from "./chain-io.ts";
import { TrainerNodeError } from "./errors.ts";
import type { TrainerNodeOptions } from "./types.ts";

/** What `join` did: `registered` false when the account already was. */
export interface JoinResult {
  readonly registered: boolean;
  readonly txHash?: string;
  readonly stake: bigint;
}
/** What `claim` withdrew, and the transactions it sent. */
export interface ClaimResult {
  readonly withdrawn: bigint;
  readonly txHashes: string[];
}

function fmtEth(wei: bigint): string {
  const s = wei.toString().padStart(19, "0");
  return `${s.slice(0, -18)}.${s.slice(-18).replace(/0+$/, "") || "0"}`;
}

/** Registers the account in the project, paying the stake if one is required. Idempotent. */
export async function join(o: TrainerNodeOptions, projectId: bigint, allowlistProof: readonly string[] = []): Promise<JoinResult> {
  const p = await projectOrThrow(o, projectId);
  const me = await o.client.getTrainer(projectId, o.address);
  if (me.registered) {
    o.logger.log("info", "join.already", `${o.address} is already registered in project ${projectId}`, { projectId, stake: me.stake });
    return { registered: false, stake: me.stake };
  }
  if (p.status === ProjectStatus.Completed || p.status === ProjectStatus.Cancelled) {
    throw new TrainerNodeError("project-ended", `project ${projectId} is ${p.statusName}: it takes no new trainers`);
  }
  if (p.token !== ETH_TOKEN && p.trainerStake > 0n) {
    const { balance, allowance } = await o.client.tokenFunds(p.token, o.address);
    if (balance < p.trainerStake) {
      throw new TrainerNodeError(
        "insufficient-funds",
        `registering needs a stake of ${p.trainerStake} of token ${p.token}; ${o.address} holds ${balance}`,
      );
    }
    if (allowance < p.trainerStake) {
      o.logger.log("info", "join.approve", `approving the marketplace for the stake of ${p.trainerStake} of token ${p.token}`, {
        projectId,
        token: p.token,
        stake: p.trainerStake,
      });
      await o.client.wait(await o.client.approveToken(p.token, p.trainerStake), o.confirmations ?? 1);
    }
  } else if (p.trainerStake > 0n) {
    const balance = await o.client.provider.getBalance(o.address);
    if (balance < p.trainerStake) {
      throw new TrainerNodeError(
        "insufficient-funds",
        `registering needs a stake of ${fmtEth(p.trainerStake)} ETH plus gas; ${o.address} has ${fmtEth(balance)} ETH`,
      );
    }
  }
  o.logger.log(
    "info",
    "join.send",
    `registering ${o.address} in project ${projectId}${p.trainerStake > 0n ? ` (stake ${fmtEth(p.trainerStake)} ETH)` : ""}`,
    { projectId, stake: p.trainerStake },
  );
  const tx = await o.client.registerTrainer(projectId, allowlistProof, p.token === ETH_TOKEN ? p.trainerStake : 0n);
  await o.client.wait(tx, o.confirmations ?? 1);
  o.logger.log("info", "join.done", `registered in project ${projectId} (tx ${tx.hash})`, { projectId, txHash: tx.hash });
  return { registered: true, txHash: tx.hash, stake: p.trainerStake };
}

/** Project, open round, this account and the local state, as one JSON-able record. */
export async function status(o: TrainerNodeOptions, projectId: bigint): Promise<Record<string, unknown>> {
  const open = await o.client.getOpenRound(projectId);
  const p = open.project;
  if (p.status === ProjectStatus.None) throw new TrainerNodeError("unknown-project", `project ${projectId} does not exist`);
  const me = await o.client.getTrainer(projectId, o.address);
  const credit = await o.client.creditOf(p.token, o.address);
  const local = Object.values(o.state.state.rounds).filter((e) => e.projectId === projectId.toString());
  return {
    chainId: o.chainId.toString(),
    market: o.client.address,
    trainer: o.address,
    project: {
      id: projectId.toString(),
      status: p.statusName,
      cancelRequested: p.cancelRequested,
      owner: p.owner,
      aggregator: p.aggregator,
      token: p.token,
      rounds: `${p.currentRound}/${p.numRounds}`,
      budget: p.budget.toString(),
      rewardPerRound: p.rewardPerRound.toString(),
      rewardDecayPpm: p.rewardDecayPpm,
      trainerStake: p.trainerStake.toString(),
      modelCid: p.modelCid,
      specCid: p.specCid,
      modelSize: p.params.modelSize,
    },
    round: {
      round: open.round.round,
      submissions: open.round.submissions,
      maxTrainers: p.maxTrainersPerRound,
      submissionDeadline: new Date(open.round.submissionDeadline * 1000).toISOString(),
      aggregationDeadline: new Date(open.round.aggregationDeadline * 1000).toISOString(),
      chainTime: new Date(open.chainTime * 1000).toISOString(),
      submissionOpen: open.submissionOpen,
      secondsLeft: open.secondsLeft,
    },
    me: {
      registered: me.registered,
      stake: me.stake.toString(),
      lastSubmittedRound: me.lastSubmittedRoundPlusOne === 0 ? null : me.lastSubmittedRoundPlusOne - 1,
      credit: credit.toString(),
    },
    local,
  };
}

/** Withdraws the account's credits in the project's token (and releases its stake if asked). */
export async function claim(o: TrainerNodeOptions, projectId: bigint, options: { releaseStake?: boolean } = {}): Promise<ClaimResult> {
  const p = await projectOrThrow(o, projectId);
  const txHashes: string[] = [];
  if (options.releaseStake) {
    const me = await o.client.getTrainer(projectId, o.address);
    if (me.stake > 0n && (p.status === ProjectStatus.Completed || p.status === ProjectStatus.Cancelled)) {
      const tx = await o.client.releaseStake(projectId);
      await o.client.wait(tx, o.confirmations ?? 1);
      txHashes.push(tx.hash);
      o.logger.log("info", "claim.stake", `stake ${me.stake} released (tx ${tx.hash})`, { txHash: tx.hash });
    } else if (me.stake > 0n) {
      o.logger.log("warn", "claim.stake", `the stake is released only when project ${projectId} has ended (it is ${p.statusName})`);
    }
  }
  const credit = await o.client.creditOf(p.token, o.address);
  if (credit === 0n) {
    o.logger.log("info", "claim.none", `nothing to withdraw for ${o.address} in ${p.token === ETH_TOKEN ? "ETH" : p.token}`);
    return { withdrawn: 0n, txHashes };
  }
  const tx = await o.client.withdraw(p.token);
  await o.client.wait(tx, o.confirmations ?? 1);
  txHashes.push(tx.hash);
  o.logger.log(
    "info",
    "claim.done",
    `withdrew ${p.token === ETH_TOKEN ? `${fmtEth(credit)} ETH` : `${credit} of ${p.token}`} (tx ${tx.hash})`,
    { amount: credit, txHash: tx.hash },
  );
  return { withdrawn: credit, txHashes };
}
