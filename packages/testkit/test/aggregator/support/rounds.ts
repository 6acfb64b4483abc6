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
  cipherChain,
  publicKeyOf,
  randomScalar,
  rewardShares,
  sealedCommitment as updateCommitment,
  simulateRound,
  unpackOutcome,
  type CircuitConfig,
  type CurvePoint,
  type RoundResult,
  type RoundSlot,
} from "@fedmarket/core";
import {
  answeredReference,
  decisionReference,
  openReference,
  bytes32ToBytes,
  committedModelStep,
  computeCid,
  decodeSealedUpdate,
  decodeWeights,
  encodeSealedUpdate,
  FedMarketClient,
  loadProjectHistory,
  loadRoundHistory,
  publishedSealedUpdate,
  quantizeModel,
  sealedCommitment,
  sealUpdate,
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
  /** The aggregator's seal secret (its seal key is registered on chain). */
  readonly aggregatorKey: { readonly secret: bigint };
}

/**
 * How a submission is made. `honest`: what a trainer does (`sealUpdate` for the project's keys). The
 * others are what the aggregator must exclude, with the update codec's reason:
 *
 * | kind           | what is pinned                                                       | reason        | round slot  |
 * | -------------- | -------------------------------------------------------------------- | ------------- | ----------- |
 * | `garbage-blob` | random bytes, not an `FMSU` blob                                     | `not-opening` | unavailable |
 * | `not-opening`  | a valid sealed update of other values than the committed one         | `not-opening` | unavailable |
 * | `wrong-key`    | an update sealed (and committed) for another seal key: it opens its  | `malformed`   | not decoded |
 * |                | commitment, but decrypts to junk under the project's key             |               |             |
 * | `bad-key`      | an update whose committed ephemeral key `E` is off the curve         | `bad-key`     | not decoded |
 * | `missing`      | nothing (the CID of a blob never pinned)                             | `missing`     | unavailable |
 */
export type SubmissionKind = "honest" | "garbage-blob" | "not-opening" | "wrong-key" | "bad-key" | "missing";

/** A point off BabyJubJub (canonical coordinates): what a `bad-key` submission commits to as `E`. */
export const OFF_CURVE_POINT: CurvePoint = [1n, 2n];

/** A sealed commitment on chain, waiting for its reveal: what `revealUpdateAs` opens. */
export interface PendingReveal {
  readonly signerIndex: number;
  readonly round: number;
  readonly commitment: bigint;
  readonly cid: string;
}

/**
 * The commit half of a submission, as Hardhat account `signerIndex` (registered before the round
 * opened, so that it holds a slot): seals `values` per `kind`, pins the blob (except `missing`)
 * and commits `sealedCommitment(..., commitment, cid)` in the commit window.
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
  const p = await client.getProject(project.projectId);
  const seal = (values: readonly bigint[], sealKey: CurvePoint = p.aggregatorSealKey): { blob: Uint8Array; commitment: bigint } =>
    sealUpdate({
      chainId: fx.chainId,
      market: client.address,
      projectId: project.projectId,
      round: o.round,
      trainer: signer.address,
      config: o.config,
      values,
      sealKey,
      ownerKey: bytes32ToBytes(p.ownerEncryptionKey),
    });
  let { blob, commitment } = seal(o.values);
  if (kind === "garbage-blob") blob = new Uint8Array(randomBytes(64));
  else if (kind === "not-opening") blob = seal(o.values.map((v, i) => (i === 0 ? (v === 0n ? 1n : 0n) : v))).blob;
  else if (kind === "wrong-key") ({ blob, commitment } = seal(o.values, publicKeyOf(randomScalar())));
  else if (kind === "bad-key") {
    const decoded = decodeSealedUpdate(blob);
    const sealed = { ephemeral: OFF_CURVE_POINT, chunks: decoded.sealed.chunks };
    blob = encodeSealedUpdate({ ...decoded, sealed });
    commitment = updateCommitment(cipherChain(sealed.chunks), sealed.ephemeral);
  }
  const cid = kind === "missing" ? await computeCid(blob) : await fx.store.put(blob);
  const sealedSeal = sealedCommitment(fx.chainId, client.address, project.projectId, o.round, signer.address, commitment, cid);
  await client.wait(await client.commitUpdate(project.projectId, o.round, sealedSeal));
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
 * An independent reference computation of a project's open round (not through the update codec):
 * the chain's events, each blob fetched and decoded (or, for a flagged slot whose update was
 * published on chain in answer, that data), anything that cannot be fetched or decoded or whose
 * ciphertext and `E` do not give the revealed commitment unavailable (an empty slot, as once
 * flagged and not answered), then `simulateRound` on the round's model and the step committed with it
 * with the aggregator's seal secret (which decides on its own which slots decode).
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
  const quantized = async (cid: string): Promise<bigint[]> =>
    quantizeModel(decodeWeights(await fx.store.get(cid)), o.scale, o.config.modelBits);
  const prev = await quantized(p.modelCid);
  // The step committed with it (the last global delta), as every node derives it from the history.
  const prevStep = await committedModelStep(await loadProjectHistory(client, project.projectId), o.round, prev, (opened) =>
    quantized(opened.modelCid),
  );
  const events = await client.updateRevealed({ projectId: project.projectId, round: o.round });
  // From the round's history, which joins an answer published in parts (UpdatePartPublished).
  const { publications: published } = await loadRoundHistory(client, project.projectId, o.round);
  const slots: RoundSlot[] = [];
  for (const ev of events.sort((a, b) => a.slot - b.slot)) {
    while (slots.length < ev.slot) slots.push({ commitment: 0n });
    const answer = published.find((p) => p.slot === ev.slot);
    if (answer !== undefined) {
      slots.push({ commitment: ev.commitment, sealed: publishedSealedUpdate(answer, o.config, o.modelSize).sealed });
      continue;
    }
    try {
      const { sealed } = decodeSealedUpdate(await fx.store.get(ev.cid, { timeoutMs: 500, retries: 0 }), {
        config: o.config,
        modelSize: o.modelSize,
      });
      if (updateCommitment(cipherChain(sealed.chunks), sealed.ephemeral) !== ev.commitment) throw new Error("does not open");
      slots.push({ commitment: ev.commitment, sealed });
    } catch {
      slots.push({ commitment: ev.commitment, unavailable: true });
    }
  }
  // The owner's reference, when the contract passes it: from the answer on chain, else the blob.
  const history = await loadRoundHistory(client, project.projectId, o.round);
  const commitment = decisionReference(history);
  const expected = { projectId: project.projectId, round: o.round, commitment, modelSize: o.modelSize, circuit: o.config };
  const answered = history.referenceAnswered;
  const reference =
    commitment === 0n
      ? undefined
      : answered !== undefined
        ? answeredReference(history.referenceAnswerParts ?? [], answered, expected)
        : openReference(await fx.store.get(history.referencePublished?.cid as string), expected);
  return simulateRound({
    config: o.config,
    prevModel: prev,
    ...(prevStep === undefined ? {} : { prevStep }),
    slots,
    f: o.f,
    keccak: roundKeccak(fx.chainId, client.address, project.projectId, o.round, p.paramsHash),
    secret: project.aggregatorKey.secret,
    ...(reference === undefined ? {} : { reference: { values: reference.values, salt: reference.salt } }),
  });
}

/**
 * What each trainer of the round must have been credited: the contract's split (core `rewardShares`)
 * of the proven outcomes (by score; a zero total, e.g. one kept cluster of near-identical updates, is
 * split by status).
 */
export function expectedCredits(result: RoundResult, reward: bigint): bigint[] {
  return rewardShares(reward, unpackOutcome(result.outcome, result.commitments.length)).rewards;
}

export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs `fedmarket-aggregator` as account 1 with the project's seal key (`FEDMARKET_SEAL_KEY`; killed after 180 s). */
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
        FEDMARKET_SEAL_KEY: project.aggregatorKey.secret.toString(16).padStart(64, "0"),
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
