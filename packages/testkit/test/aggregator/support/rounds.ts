/**
 * Round helpers for the aggregator's chain tests: committing and revealing sealed updates the way a
 * trainer does (and the ways a faulty or malicious one does), a whole round of them through the
 * shared commit-reveal driver (`commitRevealRound`), an independent reference computation of a
 * round (what the chain must end up with), and running the `fedmarket-aggregator` CLI as a child
 * process.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  commitUpdate,
  randomSalt,
  rewardShares,
  simulateRound,
  type CircuitConfig,
  type RoundResult,
  type RoundSlot,
} from "@fedmarket/core";
import {
  bytes32ToBytes,
  computeCid,
  decodeUpdatePayload,
  decodeWeights,
  encodeUpdatePayload,
  FedMarketClient,
  generateKeyPair,
  openEnvelope,
  quantizeModel,
  sealedCommitment,
  sealEnvelope,
  updateAssociatedData,
} from "@fedmarket/protocol";
import type { Result } from "ethers";
import { HARDHAT_KEYS } from "../../../src/chain/demo-project.ts";
import { roundKeccak } from "@fedmarket/aggregator";
import type { MarketFixture } from "./market-fixture.ts";
import { BIN as BINS, commitRevealRound, marketCalls, type MarketCall } from "../../helpers.ts";

const BIN = BINS.aggregator;

/** The project facts the helpers need (a `DemoProject` has them). */
export interface ProjectRef {
  readonly projectId: bigint;
  readonly aggregatorKey: { readonly secretKey: Uint8Array };
}

/**
 * How a submission is made. `honest`: what a trainer does. The others are what the aggregator
 * must exclude: `garbage-payload` (an envelope that decrypts to bytes that are no update payload),
 * `not-opening` (a valid payload of other values than the committed ones), `wrong-key` (sealed to
 * keys that are not the project's), `missing` (the CID of an envelope that was never pinned).
 */
export type SubmissionKind = "honest" | "garbage-payload" | "not-opening" | "wrong-key" | "missing";

/** A sealed commitment on chain, waiting for its reveal: what `revealUpdateAs` opens. */
export interface PendingReveal {
  readonly signerIndex: number;
  readonly round: number;
  readonly commitment: bigint;
  readonly cid: string;
}

/**
 * The commit half of a submission, as Hardhat account `signerIndex` (registered before the round
 * opened, so that it holds a slot): seals `values` per `kind`, pins the envelope (except
 * `missing`) and commits `sealedCommitment(..., commitment, cid)` in the commit window.
 */
export async function commitUpdateAs(
  fx: MarketFixture,
  project: ProjectRef,
  o: {
    readonly signerIndex: number;
    readonly round: number;
    readonly config: CircuitConfig;
    readonly values: readonly bigint[];
    readonly kind?: SubmissionKind;
  },
): Promise<PendingReveal> {
  const kind = o.kind ?? "honest";
  const signer = fx.signer(o.signerIndex);
  const client = new FedMarketClient(fx.market, signer);
  const draw = await client.slotOf(project.projectId, signer.address);
  assert.ok(
    draw.selected || !draw.seedReady,
    `account ${o.signerIndex} has no slot in round ${o.round}: register it before the round opens`,
  );
  const salt = randomSalt();
  const commitment = commitUpdate(o.values, salt, o.config.chunk, o.config.updateBits);
  const sealed = kind === "not-opening" ? o.values.map((v, i) => (i === 0 ? v + 1n : v)) : o.values;
  const payload =
    kind === "garbage-payload"
      ? new Uint8Array(randomBytes(64))
      : encodeUpdatePayload({ projectId: project.projectId, round: o.round, config: o.config, values: sealed, salt });
  const p = await client.getProject(project.projectId);
  const recipients =
    kind === "wrong-key"
      ? [generateKeyPair().publicKey, generateKeyPair().publicKey]
      : [bytes32ToBytes(p.aggregatorEncryptionKey), bytes32ToBytes(p.ownerEncryptionKey)];
  const envelope = sealEnvelope(payload, recipients, {
    associatedData: updateAssociatedData({
      chainId: fx.chainId,
      market: client.address,
      projectId: project.projectId,
      round: o.round,
      trainer: signer.address,
    }),
  });
  const cid = kind === "missing" ? await computeCid(envelope) : await fx.store.put(envelope);
  const seal = sealedCommitment(fx.chainId, client.address, project.projectId, o.round, signer.address, commitment, cid);
  await client.wait(await client.commitUpdate(project.projectId, o.round, seal));
  return { signerIndex: o.signerIndex, round: o.round, commitment, cid };
}

/** The reveal half (in the reveal window): opens the sealed commitment of `pending`. */
export async function revealUpdateAs(fx: MarketFixture, project: ProjectRef, pending: PendingReveal): Promise<void> {
  const client = new FedMarketClient(fx.market, fx.signer(pending.signerIndex));
  await client.wait(await client.revealUpdate(project.projectId, pending.round, pending.commitment, pending.cid));
}

/** One update of `submitRoundAs`: who sends it, its values and how it is sealed. */
export interface RoundUpdate {
  readonly signerIndex: number;
  readonly values: readonly bigint[];
  readonly kind?: SubmissionKind;
}

/**
 * A whole round of protocol-level submissions (`commitRevealRound`): every update committed, the
 * commit window closed, every update revealed, the reveal window closed (`closeReveal: false`
 * leaves it open). The aggregator's turn comes next.
 */
export async function submitRoundAs(
  fx: MarketFixture,
  project: ProjectRef,
  o: { readonly round: number; readonly config: CircuitConfig; readonly updates: readonly RoundUpdate[]; readonly closeReveal?: boolean },
): Promise<void> {
  await commitRevealRound(
    fx.roundChain,
    project.projectId,
    {
      commit: async () => {
        const pending: PendingReveal[] = [];
        for (const u of o.updates) pending.push(await commitUpdateAs(fx, project, { ...u, round: o.round, config: o.config }));
        return pending;
      },
      reveal: async (pending) => {
        for (const p of pending) await revealUpdateAs(fx, project, p);
      },
    },
    o.closeReveal === undefined ? {} : { closeReveal: o.closeReveal },
  );
}

/** Deterministic pseudo-random integers (a linear congruential generator: tests only). */
export function seededInts(seed: number, count: number, limit: number): bigint[] {
  let s = seed >>> 0;
  return Array.from({ length: count }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return BigInt((s % (2 * limit + 1)) - limit);
  });
}

/**
 * An independent reference computation of a project's open round: the chain's events, the
 * envelopes decrypted with the aggregator's key, anything that does not open its commitment
 * excluded, then `simulateRound`.
 */
export async function referenceRound(
  fx: MarketFixture,
  project: ProjectRef,
  o: {
    readonly round: number;
    readonly config: CircuitConfig;
    readonly scale: number;
    readonly f: number;
    readonly modelSize: number;
  },
): Promise<RoundResult> {
  const client = new FedMarketClient(fx.market, fx.provider);
  const p = await client.getProject(project.projectId);
  const prev = quantizeModel(decodeWeights(await fx.store.get(p.modelCid)), o.scale, o.config.modelBits);
  const events = await client.updateRevealed({ projectId: project.projectId, round: o.round });
  const slots: RoundSlot[] = [];
  for (const ev of events.sort((a, b) => a.slot - b.slot)) {
    try {
      const plain = openEnvelope(await fx.store.get(ev.cid, { timeoutMs: 500, retries: 0 }), project.aggregatorKey.secretKey, {
        associatedData: updateAssociatedData({
          chainId: fx.chainId,
          market: client.address,
          projectId: project.projectId,
          round: o.round,
          trainer: ev.trainer,
        }),
      });
      const u = decodeUpdatePayload(plain, { projectId: project.projectId, round: o.round, config: o.config, count: o.modelSize });
      if (commitUpdate(u.values, u.salt, o.config.chunk, o.config.updateBits) !== ev.commitment) throw new Error("does not open");
      slots.push({ commitment: ev.commitment, update: u.values, salt: u.salt });
    } catch {
      slots.push({ commitment: ev.commitment, excluded: true });
    }
  }
  return simulateRound({
    config: o.config,
    prevModel: prev,
    slots,
    f: o.f,
    keccak: roundKeccak(fx.chainId, client.address, project.projectId, o.round, p.paramsHash),
  });
}

/** What each trainer of the round must have been credited: the contract's split (core `rewardShares`) of the proven scores. */
export function expectedCredits(result: RoundResult, reward: bigint): bigint[] {
  // Multi-Krum scores are already 0 for every slot that is not an inlier.
  return rewardShares(reward, result.krum.scores).rewards;
}

export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs `fedmarket-aggregator` as account 1 with the project's X25519 key (killed after 180 s). */
export function runAggregatorCli(
  fx: MarketFixture,
  project: ProjectRef,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<CliRun> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: {
        ...process.env,
        FEDMARKET_RPC_URL: fx.chain.url,
        FEDMARKET_MARKET: fx.market,
        FEDMARKET_PRIVATE_KEY: HARDHAT_KEYS[1] as string,
        FEDMARKET_X25519_KEY: Buffer.from(project.aggregatorKey.secretKey).toString("hex"),
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => {
      stdout += b.toString();
    });
    child.stderr.on("data", (b: Buffer) => {
      stderr += b.toString();
    });
    const timer = setTimeout(() => {
      stderr += "\n[test: killed after 180 s]";
      child.kill("SIGKILL");
    }, 180_000);
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** A transaction of the aggregator account, decoded with the FedMarket ABI. */
export type AggregatorCall = MarketCall;

/** The aggregator account's marketplace transactions mined after block `fromBlock`, in order. */
export function aggregatorCalls(fx: MarketFixture, fromBlock: number): Promise<AggregatorCall[]> {
  return marketCalls(fx.provider, fx.market, fx.signer(1).address, fromBlock);
}

/** The outcome words a `finalizeRound` call submitted. */
export function finalizedOutcomes(call: AggregatorCall): string[] {
  return [...((call.args[4] as Result).getValue("outcomes") as Result)].map(String);
}
