/**
 * Shared test helpers: one backend for the whole test process, package folders, temp folders, and
 * the one way tests drive a round of the commit-reveal protocol on a local chain (`commitRevealRound`:
 * commit phase -> chain time past the commit deadline -> reveal phase -> chain time past the reveal
 * deadline, the aggregator's turn).
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { selectBackend, type BackendInfo } from "@fedmarket/ml";
import { fedMarketInterface, REPO_ROOT, type FedMarketClient } from "@fedmarket/protocol";
import type { RoundOutcome } from "@fedmarket/trainer";
import type { Provider, Result } from "ethers";

/** This package's folder (its scripts are run as child processes by some tests). */
export const PACKAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** The command-line entry points that tests run as child processes, as a user would. */
export const BIN = {
  fedmarket: path.join(REPO_ROOT, "packages", "cli", "bin", "fedmarket.js"),
  trainer: path.join(REPO_ROOT, "packages", "trainer", "bin", "fedmarket-trainer.js"),
  aggregator: path.join(REPO_ROOT, "packages", "aggregator", "bin", "fedmarket-aggregator.js"),
} as const;

let backend: Promise<BackendInfo> | undefined;
/** The backend tests run on (wasm here; override with FEDMARKET_TF_BACKEND). */
export function testBackend(): Promise<BackendInfo> {
  backend ??= selectBackend({ log: () => {} });
  return backend;
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "fedmarket-testkit-test-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// -------------------------------------------------------------------------------------------------
// Rounds on a local chain
// -------------------------------------------------------------------------------------------------

/** A local chain as the round helpers move it: its JSON-RPC (`evm_*`) and a marketplace client to read it. */
export interface RoundChain {
  /** `LocalChain.rpc`, or `(m, p) => provider.send(m, p ?? [])`. */
  rpc(method: string, params?: unknown[]): Promise<unknown>;
  readonly client: FedMarketClient;
}

/** The deadlines of the open round: the end of its commit, reveal and aggregation windows. */
export type RoundDeadline = "commit" | "reveal" | "aggregation";

/**
 * Mines a block at the open round's `deadline` (or, if chain time is already past it, the next
 * block): the window that ends there is closed, the next one open. Exact, whatever the time the
 * parties took in wall-clock time.
 */
export async function passDeadline(chain: RoundChain, projectId: bigint, deadline: RoundDeadline): Promise<void> {
  const open = await chain.client.getOpenRound(projectId);
  const at =
    deadline === "commit"
      ? open.round.submissionDeadline
      : deadline === "reveal"
        ? open.round.revealDeadline
        : open.round.aggregationDeadline;
  if (at > open.chainTime) await chain.rpc("evm_setNextBlockTimestamp", [at]);
  await chain.rpc("evm_mine", []);
}

/**
 * Waits (wall clock, polling) until the aggregator has flagged slots of the open round as not
 * available (`unavailableFlags`: a flag mined, its answer deadline set); returns the flags.
 */
export async function waitForFlags(
  chain: RoundChain,
  projectId: bigint,
  timeoutMs = 120_000,
): Promise<Awaited<ReturnType<FedMarketClient["unavailableFlags"]>>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const flags = await chain.client.unavailableFlags(projectId);
    if (flags.flaggedMask !== 0n && flags.answerDeadline !== 0) return flags;
    if (Date.now() > until) throw new Error(`no slot of project ${projectId}'s open round was flagged within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Mines a block at the open round's answer deadline (the end of the window in which flagged slots
 * may be answered; or the next block if chain time is past it): unanswered flags are final, chunk
 * proofs are taken. The round must have flags.
 */
export async function passAnswerDeadline(chain: RoundChain, projectId: bigint): Promise<void> {
  const [{ answerDeadline }, now] = await Promise.all([chain.client.unavailableFlags(projectId), chain.client.chainTime()]);
  assert.ok(answerDeadline > 0, `project ${projectId}'s open round has no flags, so no answer deadline`);
  if (answerDeadline > now) await chain.rpc("evm_setNextBlockTimestamp", [answerDeadline]);
  await chain.rpc("evm_mine", []);
}

/** What the parties of a round do in each of its two phases. */
export interface RoundPhases<C> {
  /** The commit phase (the commit window is open): every party commits; the result goes to `reveal`. */
  commit(): Promise<C>;
  /** The reveal phase (past the commit deadline): every party reveals what it committed. */
  reveal(committed: C): Promise<void>;
}

/**
 * One round of the commit-reveal protocol as the tests drive it: the commit phase, chain time past
 * the commit deadline, the reveal phase, then (unless `closeReveal` is false) chain time past the
 * reveal deadline, where the aggregator takes over. Returns what the commit phase returned.
 */
export async function commitRevealRound<C>(
  chain: RoundChain,
  projectId: bigint,
  phases: RoundPhases<C>,
  options: { readonly closeReveal?: boolean } = {},
): Promise<C> {
  const committed = await phases.commit();
  await passDeadline(chain, projectId, "commit");
  await phases.reveal(committed);
  if (options.closeReveal !== false) await passDeadline(chain, projectId, "reveal");
  return committed;
}

/** Asserts a trainer's `runRound` outcome kind (`who` names the trainer in the message). */
export function assertOutcome<K extends RoundOutcome["kind"]>(
  outcome: RoundOutcome,
  kind: K,
  who: string,
): asserts outcome is Extract<RoundOutcome, { kind: K }> {
  assert.equal(outcome.kind, kind, `${who}: ${JSON.stringify(outcome, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v))}`);
}

/**
 * The trainer-node half of a round: `run(t)` (one `runRound` of trainer `t`) for every trainer, each
 * outcome asserted to be `kind` (`committed` in the commit phase, `submitted` in the reveal phase).
 */
export async function runTrainers<T>(
  trainers: readonly T[],
  run: (t: T) => Promise<RoundOutcome>,
  kind: "committed" | "submitted",
): Promise<RoundOutcome[]> {
  const outcomes: RoundOutcome[] = [];
  for (const t of trainers) {
    const outcome = await run(t);
    assertOutcome(outcome, kind, `trainer ${String(t)}`);
    outcomes.push(outcome);
  }
  return outcomes;
}

/** A round of trainer nodes only: each commits, then reveals (`commitRevealRound` over `runTrainers`). */
export async function trainersRound<T>(
  chain: RoundChain,
  projectId: bigint,
  trainers: readonly T[],
  run: (t: T) => Promise<RoundOutcome>,
  options: { readonly closeReveal?: boolean } = {},
): Promise<void> {
  await commitRevealRound(
    chain,
    projectId,
    {
      commit: () => runTrainers(trainers, run, "committed"),
      reveal: async () => {
        await runTrainers(trainers, run, "submitted");
      },
    },
    options,
  );
}

/** A marketplace transaction of one account, decoded with the FedMarket ABI. */
export interface MarketCall {
  readonly name: string;
  readonly args: Result;
  readonly hash: string;
}

/** The transactions `from` sent to the marketplace in blocks after `fromBlock`, in order. */
export async function marketCalls(provider: Provider, market: string, from: string, fromBlock: number): Promise<MarketCall[]> {
  const latest = await provider.getBlockNumber();
  const calls: MarketCall[] = [];
  for (let b = fromBlock + 1; b <= latest; b++) {
    const block = await provider.getBlock(b, true);
    assert.ok(block);
    for (const tx of block.prefetchedTransactions) {
      if (tx.from.toLowerCase() !== from.toLowerCase() || tx.to?.toLowerCase() !== market.toLowerCase()) continue;
      const parsed = fedMarketInterface.parseTransaction({ data: tx.data });
      assert.ok(parsed, `transaction ${tx.hash} is a marketplace call`);
      calls.push({ name: parsed.name, args: parsed.args, hash: tx.hash });
    }
  }
  return calls;
}
