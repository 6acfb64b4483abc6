/**
 * `auditProject`: checks a project from chain logs and IPFS alone (plus, optionally, the owner's
 * X25519 key and a validation set):
 *
 * 1. the spec pinned at `specCid` describes the project on chain (size, scale, clip, verifier);
 * 2. every finalized round's chunk and decision proofs verify, both with snarkjs against the
 *    published verification key and with a static call to the project's on-chain verifier, on
 *    public inputs rebuilt from chain data (proofs.ts);
 * 3. every recorded model commitment (initial and per round) is that of the model pinned at its
 *    CID (fetched and CID-checked, quantized with the spec, committed), and each round starts
 *    from the model the previous one recorded;
 * 4. every `ContributionRecorded` matches the proven outcome and pays `mulDiv(reward, score,
 *    total)`, every payout is `Credited` in the same transaction, and the round's `paid` adds up;
 * 5. the escrow adds up: the project's `budget + roundReward` equals its deposits minus payouts
 *    and refunds; the bond equals what was posted minus slashes and releases; the market holds at
 *    least `totalLiabilities(token)`;
 * 6. with the owner's key: each update decrypts and opens its commitment (an aggregator's
 *    exclusion of an update that opens, or a proven inclusion of one that does not, is reported);
 * 7. with a validation set: the accuracy of every model, for the report's chart.
 *
 * Any mismatch is a failure with a message naming the round, slot, CID or amount; the verdict is
 * "fail" if there is at least one.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { Contract, ZeroAddress, type Provider } from "ethers";
import { commitUpdate, globalDelta, replaysGlobalDelta, type CircuitConfig } from "@fedmarket/core";
import {
  checkSpecAgainstChain, decodeUpdatePayload, decodeWeights, ETH_TOKEN, FedMarketClient, fedMarketInterface, globalModelCommitment,
  openEnvelope, quantizeModel, releaseCurves, updateAssociatedData, validateModelSpec, type BlobStore, type ModelSpec, type NodeLogger, type ProjectInfo,
} from "@fedmarket/protocol";
import type { Dataset } from "@fedmarket/trainer";
import { loadProjectHistory, type ProjectHistory, type RoundHistory } from "../owner/history.ts";
import { REPO_ROOT } from "../owner/deploy.ts";
import { checkRoundProofs, loadVerificationKeys, type VerificationKeys } from "./proofs.ts";
import { writeAuditReport } from "./report.ts";

export const SLOT_STATUS = ["empty", "inlier", "not aggregated", "excluded"] as const;

export interface AuditOptions {
  readonly provider: Provider;
  readonly market: string;
  readonly projectId: bigint;
  readonly store: BlobStore;
  /** The owner's X25519 secret key: decrypt every update and check it opens its commitment. */
  readonly ownerSecretKey?: Uint8Array;
  /** A labelled validation set: accuracy of every recorded model (chart). */
  readonly validation?: Dataset;
  /** Write `audit-report.md` and SVG charts here. */
  readonly outDir?: string;
  /** Published verification keys (default: contracts/verifiers/generated of this repository). */
  readonly vkeyDir?: string;
  /** First block of the event scan (default 0). */
  readonly fromBlock?: number;
  readonly blockRange?: number;
  /** Per-attempt IPFS timeout (default 30 s) and retries (default 2). */
  readonly ipfsTimeoutMs?: number;
  readonly ipfsRetries?: number;
  readonly logger?: NodeLogger;
}

export interface SlotAudit {
  readonly slot: number;
  readonly trainer: string;
  readonly commitment: string;
  readonly cid: string;
  readonly status?: (typeof SLOT_STATUS)[number];
  readonly score?: bigint;
  readonly reward?: bigint;
  /** With the owner's key: did the update decrypt and open its commitment? */
  readonly opens?: boolean;
  /** With the owner's key: is the update a replay of the last global delta (the free-rider rule)? */
  readonly replay?: boolean;
}

export interface RoundAudit {
  readonly round: number;
  readonly state: "open" | "finalized" | "skipped" | "failed";
  readonly submissions: number;
  readonly reward: bigint;
  readonly paid: bigint;
  readonly totalScore: bigint;
  readonly chunkProofs: number;
  readonly proofsVerified: boolean;
  readonly modelCid?: string;
  readonly modelCommitment?: string;
  readonly modelMatches?: boolean;
  readonly inliers: number;
  readonly outliers: number;
  readonly excluded: number;
  /** Accuracy of the round's new model on the validation set. */
  readonly accuracy?: number;
  readonly slots: SlotAudit[];
  readonly failures: string[];
}

export interface TrainerAudit {
  readonly trainer: string;
  readonly rounds: number;
  readonly totalScore: bigint;
  readonly totalPayout: bigint;
}

export interface EscrowAudit {
  readonly token: string;
  readonly deposits: bigint;
  readonly paid: bigint;
  readonly refunded: bigint;
  readonly expectedBudgetAndReserve: bigint;
  readonly budgetAndReserve: bigint;
  readonly bondPosted: bigint;
  readonly expectedBondPosted: bigint;
  readonly marketBalance: bigint;
  readonly totalLiabilities: bigint;
}

export interface AuditReport {
  readonly verdict: "pass" | "fail";
  readonly failures: string[];
  readonly warnings: string[];
  readonly project: {
    readonly id: bigint; readonly market: string; readonly chainId: bigint; readonly owner: string; readonly aggregator: string;
    readonly verifier: string; readonly status: string; readonly specCid: string; readonly circuit?: CircuitConfig;
    readonly verificationKeys?: { readonly chunk: string; readonly decision: string };
  };
  readonly initialModel?: { readonly cid: string; readonly commitment: string; readonly matches: boolean; readonly accuracy?: number };
  readonly rounds: RoundAudit[];
  readonly trainers: TrainerAudit[];
  readonly escrow?: EscrowAudit;
  readonly reportFile?: string;
  readonly charts: string[];
}

const noLogger: NodeLogger = { log: () => {}, progress: () => ({ update: () => {}, stop: () => {} }) };

interface ModelCheck { readonly matches: boolean; readonly weights?: Float32Array }

export async function auditProject(o: AuditOptions): Promise<AuditReport> {
  const logger = o.logger ?? noLogger;
  const failures: string[] = [];
  const warnings: string[] = [];
  const client = new FedMarketClient(o.market, o.provider, o.blockRange === undefined ? {} : { blockRange: o.blockRange });
  const chainId = await client.checkNetwork();
  const project = await client.getProject(o.projectId);
  if (project.status === 0) throw new Error(`project ${o.projectId} does not exist on ${client.address}`);
  logger.log("info", "audit.start", `auditing project ${o.projectId} on chain ${chainId}, market ${client.address}`);
  const history = await loadProjectHistory(client, o.projectId, {
    ...(o.fromBlock === undefined ? {} : { fromBlock: o.fromBlock }), ...(o.blockRange === undefined ? {} : { blockRange: o.blockRange }),
  });
  if (history.created === undefined) failures.push(`project ${o.projectId}: no ProjectCreated event at or after block ${o.fromBlock ?? 0} (pass an earlier --from-block)`);
  const fetchOptions = { timeoutMs: o.ipfsTimeoutMs ?? 30_000, retries: o.ipfsRetries ?? 2 };
  const fetchBlob = async (cid: string, what: string): Promise<Uint8Array | undefined> => {
    try {
      return await o.store.get(cid, fetchOptions);
    } catch (err) {
      failures.push(`${what}: cannot fetch ${cid} from IPFS: ${(err as Error).message}`);
      return undefined;
    }
  };

  // 1. The spec and the circuit configuration.
  let spec: ModelSpec | undefined;
  let parameters = 0;
  let circuit: CircuitConfig | undefined;
  const specBytes = await fetchBlob(project.specCid, "model spec");
  const verifierConfig = await client.verifierConfig(project.verifier);
  if (specBytes !== undefined) {
    try {
      const validated = validateModelSpec(JSON.parse(new TextDecoder().decode(specBytes)));
      spec = validated.spec;
      parameters = validated.summary.parameters;
      circuit = checkSpecAgainstChain(spec, parameters, {
        modelSize: project.params.modelSize, quantizationScale: project.params.quantizationScale, clipBound: project.params.clipBound,
        verifierMaxTrainers: verifierConfig.maxTrainers, verifierChunkSize: verifierConfig.chunkSize,
      });
    } catch (err) {
      failures.push(`model spec ${project.specCid}: ${(err as Error).message}`);
    }
  }
  let keys: VerificationKeys | undefined;
  if (circuit !== undefined) {
    try {
      keys = loadVerificationKeys(o.vkeyDir ?? path.join(REPO_ROOT, "contracts", "verifiers", "generated"), circuit);
    } catch (err) {
      failures.push((err as Error).message);
    }
  }

  // Models: fetch (CID-checked), quantize with the spec, commit.
  const checkModel = async (cid: string, commitment: bigint, what: string): Promise<ModelCheck> => {
    const bytes = await fetchBlob(cid, what);
    if (bytes === undefined || spec === undefined || circuit === undefined) return { matches: false };
    try {
      const weights = decodeWeights(bytes, parameters);
      const actual = globalModelCommitment(weights, spec.quantization.scale, circuit);
      if (actual !== commitment) {
        failures.push(`${what}: the model pinned at ${cid} commits to ${actual}, the chain recorded ${commitment}`);
        return { matches: false, weights };
      }
      return { matches: true, weights };
    } catch (err) {
      failures.push(`${what}: the model pinned at ${cid} is not a valid weights file for the spec: ${(err as Error).message}`);
      return { matches: false };
    }
  };
  const accuracyOf = await accuracyEvaluator(o.validation, spec, warnings);

  let initialModel: AuditReport["initialModel"];
  let prevCommitment: bigint | undefined;
  // The recorded models, quantized, each differing from the one before: the last two give the
  // last global delta the free-rider rule compares updates with.
  const models: bigint[][] = [];
  const recordModel = (w: Float32Array | undefined): void => {
    if (w === undefined || circuit === undefined) return;
    models.push(quantizeModel(w, Number(project.params.quantizationScale), circuit.modelBits));
  };
  if (history.created !== undefined) {
    const c = history.created;
    const m = await checkModel(c.initialModelCid, c.initialModelCommitment, "initial model");
    const accuracy = m.weights === undefined ? undefined : accuracyOf(m.weights);
    initialModel = { cid: c.initialModelCid, commitment: c.initialModelCommitment.toString(), matches: m.matches, ...(accuracy === undefined ? {} : { accuracy }) };
    prevCommitment = c.initialModelCommitment;
    recordModel(m.weights);
  }

  // 2-4, 6. Rounds.
  const rounds: RoundAudit[] = [];
  for (const round of history.rounds) {
    logger.log("info", "audit.round", `round ${round.round}: ${round.end?.kind ?? "open"}, ${round.submissions.length} submission(s)`);
    const [before, current] = models.slice(-2);
    const lastGlobalDelta = before === undefined || current === undefined ? undefined : globalDelta(current, before);
    const { audit: ra, weights } = await auditRound({ o, client, chainId, project, kMax: verifierConfig.maxTrainers, history, round, circuit, keys, prevCommitment, checkModel, accuracyOf, warnings, lastGlobalDelta });
    rounds.push(ra);
    failures.push(...ra.failures);
    if (round.end?.kind === "finalized") {
      if (round.end.newModelCommitment !== prevCommitment) recordModel(weights);
      prevCommitment = round.end.newModelCommitment;
    }
  }
  if (prevCommitment !== undefined && prevCommitment !== project.modelCommitment) {
    failures.push(`project: the current model commitment ${project.modelCommitment} is not the last recorded one (${prevCommitment})`);
  }

  // 5. Money.
  const escrow = await auditEscrow(client, history, project, failures, warnings);
  await releaseCurves();

  const trainers = new Map<string, { rounds: number; totalScore: bigint; totalPayout: bigint }>();
  for (const r of rounds) {
    for (const s of r.slots) {
      const t = trainers.get(s.trainer) ?? { rounds: 0, totalScore: 0n, totalPayout: 0n };
      t.rounds++;
      t.totalScore += s.status === "inlier" ? s.score ?? 0n : 0n;
      t.totalPayout += s.reward ?? 0n;
      trainers.set(s.trainer, t);
    }
  }
  const report: AuditReport = {
    verdict: failures.length === 0 ? "pass" : "fail", failures, warnings,
    project: {
      id: o.projectId, market: client.address, chainId, owner: project.owner, aggregator: project.aggregator, verifier: project.verifier,
      status: project.statusName, specCid: project.specCid, ...(circuit === undefined ? {} : { circuit }),
      ...(keys === undefined ? {} : { verificationKeys: { chunk: keys.chunkFile, decision: keys.decisionFile } }),
    },
    ...(initialModel === undefined ? {} : { initialModel }),
    rounds, trainers: [...trainers].map(([trainer, t]) => ({ trainer, ...t })), ...(escrow === undefined ? {} : { escrow }), charts: [],
  };
  logger.log(report.verdict === "pass" ? "info" : "error", "audit.verdict", `audit ${report.verdict}: ${failures.length} failure(s), ${warnings.length} warning(s)`);
  if (o.outDir === undefined) return report;
  await mkdir(o.outDir, { recursive: true });
  return writeAuditReport(report, o.outDir);
}

/** Accuracy of weights on the validation set (TF.js loaded only when a set is given). */
async function accuracyEvaluator(validation: Dataset | undefined, spec: ModelSpec | undefined, warnings: string[]): Promise<(w: Float32Array) => number | undefined> {
  if (validation === undefined || spec === undefined) return () => undefined;
  const { evaluateAccuracy, selectBackend } = await import("@fedmarket/trainer");
  const backend = await selectBackend({ log: () => {} });
  return (weights) => {
    try {
      return evaluateAccuracy(backend.tf, spec, weights, validation);
    } catch (err) {
      warnings.push(`accuracy: ${(err as Error).message}`);
      return undefined;
    }
  };
}

interface RoundContext {
  readonly o: AuditOptions;
  readonly client: FedMarketClient;
  readonly chainId: bigint;
  readonly project: ProjectInfo;
  /** The verifier's `maxTrainers()`: the decision proof has that many commitment inputs. */
  readonly kMax: number;
  readonly history: ProjectHistory;
  readonly round: RoundHistory;
  readonly circuit: CircuitConfig | undefined;
  readonly keys: VerificationKeys | undefined;
  readonly prevCommitment: bigint | undefined;
  readonly checkModel: (cid: string, commitment: bigint, what: string) => Promise<ModelCheck>;
  readonly accuracyOf: (w: Float32Array) => number | undefined;
  readonly warnings: string[];
  /** The last change of the recorded model before this round (quantized), for the free-rider rule. */
  readonly lastGlobalDelta: bigint[] | undefined;
}

/** One round's audit, and its new model's weights when they could be read. */
async function auditRound(x: RoundContext): Promise<{ audit: RoundAudit; weights?: Float32Array }> {
  const { round, history } = x;
  const r = round.round;
  const failures: string[] = [];
  const end = round.end;
  const reward = round.opened?.reward ?? 0n;
  if (round.opened !== undefined && x.prevCommitment !== undefined && round.opened.modelCommitment !== x.prevCommitment) {
    failures.push(`round ${r}: opened on model ${round.opened.modelCommitment}, but the last recorded model is ${x.prevCommitment}`);
  }
  const opens = x.o.ownerSecretKey === undefined || x.circuit === undefined ? undefined : await checkOpenings(x, x.o.ownerSecretKey, x.circuit);
  const slots: SlotAudit[] = round.submissions.map((s) => {
    const open = opens?.get(s.slot);
    return {
      slot: s.slot, trainer: s.trainer, commitment: s.commitment.toString(), cid: s.cid,
      ...(open === undefined ? {} : { opens: open.opens, replay: open.replay }),
    };
  });
  const base = { round: r, submissions: round.submissions.length, reward, failures };
  if (end?.kind !== "finalized") {
    if (round.contributions.length > 0) failures.push(`round ${r}: ${round.contributions.length} ContributionRecorded event(s) without a RoundFinalized`);
    return { audit: { ...base, state: end?.kind ?? "open", paid: 0n, totalScore: 0n, chunkProofs: 0, proofsVerified: false, inliers: 0, outliers: 0, excluded: 0, slots } };
  }

  // The proofs, then what they prove: outcomes -> recorded contributions -> credits; openings.
  let chunkProofs = 0;
  let proofsVerified = false;
  if (history.created !== undefined) {
    try {
      const check = await checkRoundProofs({
        provider: x.client.provider, market: x.client.address, chainId: x.chainId, projectId: history.projectId, paramsHash: history.created.paramsHash,
        byzantineTolerance: x.project.params.byzantineTolerance, numChunks: history.created.numChunks, kMax: x.kMax, verifier: x.project.verifier,
        ...(x.keys === undefined ? {} : { keys: x.keys }),
      }, round);
      chunkProofs = check.chunkProofs;
      failures.push(...check.failures);
      proofsVerified = check.failures.length === 0 && x.keys !== undefined;
      failures.push(...await checkPayouts(x, check.outcomes, reward));
      for (const [i, s] of slots.entries()) {
        const outcome = check.outcomes[s.slot];
        if (outcome === undefined) continue;
        const recorded = round.contributions.find((c) => c.slot === s.slot)?.reward ?? 0n;
        slots[i] = { ...s, status: SLOT_STATUS[outcome.status] ?? "empty", score: outcome.score, reward: recorded };
        // An update that opens may still be excluded by the free-rider rule (@fedmarket/core
        // replaysGlobalDelta), which the owner re-checks here; any other such exclusion is suspect.
        if (outcome.status === 3 && s.opens === true && s.replay !== true) {
          x.warnings.push(`round ${r} slot ${s.slot} (${s.trainer}): excluded by the aggregator, but its update (${s.cid}) decrypts with the owner's key, opens its commitment and is no replay of the last global delta`);
        }
        if (outcome.status === 1 && s.replay === true) {
          x.warnings.push(`round ${r} slot ${s.slot} (${s.trainer}): aggregated, but its update replays the last global delta (a free rider the aggregator should have excluded)`);
        }
        if ((outcome.status === 1 || outcome.status === 2) && s.opens === false) {
          failures.push(`round ${r} slot ${s.slot} (${s.trainer}): proven as opening its commitment, but the update at ${s.cid} does not open it with the owner's key`);
        }
      }
    } catch (err) {
      failures.push(`round ${r}: proofs could not be checked: ${(err as Error).message}`);
    }
  }
  const m = await x.checkModel(end.newModelCid, end.newModelCommitment, `round ${r} model`);
  const accuracy = m.weights === undefined ? undefined : x.accuracyOf(m.weights);
  const count = (status: (typeof SLOT_STATUS)[number]): number => slots.filter((s) => s.status === status).length;
  const audit: RoundAudit = {
    ...base, state: "finalized", paid: end.paid, totalScore: end.totalScore, chunkProofs, proofsVerified,
    modelCid: end.newModelCid, modelCommitment: end.newModelCommitment.toString(), modelMatches: m.matches,
    inliers: count("inlier"), outliers: count("not aggregated"), excluded: count("excluded"), ...(accuracy === undefined ? {} : { accuracy }), slots,
  };
  return m.weights === undefined ? { audit } : { audit, weights: m.weights };
}

/** With the owner's key: slot -> does the update decrypt and open its commitment, and is it a replay? */
async function checkOpenings(x: RoundContext, secretKey: Uint8Array, circuit: CircuitConfig): Promise<Map<number, { opens: boolean; replay: boolean }>> {
  const out = new Map<number, { opens: boolean; replay: boolean }>();
  for (const s of x.round.submissions) {
    let bytes: Uint8Array;
    try {
      bytes = await x.o.store.get(s.cid, { timeoutMs: x.o.ipfsTimeoutMs ?? 30_000, retries: x.o.ipfsRetries ?? 2 });
    } catch {
      out.set(s.slot, { opens: false, replay: false });
      continue;
    }
    try {
      const plain = openEnvelope(bytes, secretKey, {
        associatedData: updateAssociatedData({ chainId: x.chainId, market: x.client.address, projectId: x.history.projectId, round: x.round.round, trainer: s.trainer }),
      });
      const payload = decodeUpdatePayload(plain);
      const opens = commitUpdate(payload.values, payload.salt, circuit.chunk, circuit.updateBits) === s.commitment;
      const replay = opens && x.lastGlobalDelta !== undefined && replaysGlobalDelta(payload.values, x.lastGlobalDelta);
      out.set(s.slot, { opens, replay });
    } catch {
      out.set(s.slot, { opens: false, replay: false });
    }
  }
  return out;
}

/** `ContributionRecorded` == proven outcome, reward == mulDiv(reward, score, total), Credited in the same tx. */
async function checkPayouts(x: RoundContext, outcomes: readonly { status: number; score: bigint }[], reward: bigint): Promise<string[]> {
  const failures: string[] = [];
  const { round } = x;
  const r = round.round;
  const end = round.end;
  if (end?.kind !== "finalized" || outcomes.length === 0) return failures;
  let total = 0n;
  for (let slot = 0; slot < round.submissions.length; slot++) {
    const o = outcomes[slot];
    if (o?.status === 1) total += o.score;
  }
  if (total !== end.totalScore) failures.push(`round ${r}: RoundFinalized reports a total score of ${end.totalScore}, the proven inlier scores add up to ${total}`);
  const receipt = await x.client.provider.getTransactionReceipt(end.transactionHash);
  const credits = new Map<string, bigint>();
  for (const log of receipt?.logs ?? []) {
    if (log.address.toLowerCase() !== x.client.address.toLowerCase()) continue;
    const parsed = (() => { try { return fedMarketInterface.parseLog(log); } catch { return null; } })();
    if (parsed?.name !== "Credited") continue;
    const account = String(parsed.args[1]).toLowerCase();
    credits.set(account, (credits.get(account) ?? 0n) + BigInt(parsed.args[2] as bigint));
  }
  const expectedCredits = new Map<string, bigint>();
  let paid = 0n;
  for (const s of round.submissions) {
    const o = outcomes[s.slot];
    if (o === undefined) continue;
    const c = round.contributions.find((k) => k.slot === s.slot);
    const expected = o.status === 1 && o.score !== 0n && total > 0n ? (reward * o.score) / total : 0n;
    paid += expected;
    if (c === undefined) { failures.push(`round ${r} slot ${s.slot} (${s.trainer}): no ContributionRecorded event`); continue; }
    if (c.trainer.toLowerCase() !== s.trainer.toLowerCase()) failures.push(`round ${r} slot ${s.slot}: ContributionRecorded names ${c.trainer}, the submission was ${s.trainer}`);
    if (c.status !== o.status || c.score !== o.score) {
      failures.push(`round ${r} slot ${s.slot} (${s.trainer}): recorded ${SLOT_STATUS[c.status] ?? c.status} with score ${c.score}, the proof says ${SLOT_STATUS[o.status] ?? o.status} with score ${o.score}`);
    }
    if (c.reward !== expected) failures.push(`round ${r} slot ${s.slot} (${s.trainer}): credited ${c.reward}, the proven share is mulDiv(${reward}, ${o.score}, ${total}) = ${expected}`);
    const key = s.trainer.toLowerCase();
    if (expected > 0n) expectedCredits.set(key, (expectedCredits.get(key) ?? 0n) + expected);
  }
  if (paid !== end.paid) failures.push(`round ${r}: RoundFinalized reports ${end.paid} paid, the proven shares add up to ${paid}`);
  // The last round's finalization also closes the project: the unspent budget goes back to the
  // owner and the bond to the aggregator, as the ProjectClosed event in the same transaction says.
  const closed = x.history.closed;
  if (closed !== undefined && closed.transactionHash === end.transactionHash) {
    for (const [account, amount] of [[x.project.owner, closed.budgetRefunded], [x.project.aggregator, closed.bondReleased]] as const) {
      const key = account.toLowerCase();
      if (amount > 0n) expectedCredits.set(key, (expectedCredits.get(key) ?? 0n) + amount);
    }
  }
  for (const [account, amount] of expectedCredits) {
    const got = credits.get(account) ?? 0n;
    if (got !== amount) failures.push(`round ${r}: ${account} was Credited ${got} in the finalization, its proven share (plus any closing refund) is ${amount}`);
  }
  for (const [account, amount] of credits) {
    if (!expectedCredits.has(account)) failures.push(`round ${r}: ${account} was Credited ${amount} in the finalization without a proven share`);
  }
  return failures;
}

async function auditEscrow(
  client: FedMarketClient, h: ProjectHistory, project: ProjectInfo, failures: string[], warnings: string[],
): Promise<EscrowAudit | undefined> {
  if (h.created === undefined) return undefined;
  const deposits = h.created.budget + h.funded.reduce((a, f) => a + f.amount, 0n);
  const paid = h.rounds.reduce((a, r) => a + (r.end?.kind === "finalized" ? r.end.paid : 0n), 0n);
  // A cancellation with the round kept open refunds the budget at once; otherwise ProjectClosed does.
  const refunded = (h.cancelled?.roundStillOpen === true ? h.cancelled.refunded : 0n) + (h.closed?.budgetRefunded ?? 0n);
  const expected = deposits - paid - refunded;
  const actual = project.budget + project.roundReward;
  if (actual !== expected) {
    failures.push(`escrow: project ${h.projectId} holds budget ${project.budget} + reserved ${project.roundReward} = ${actual}, but deposits ${deposits} - payouts ${paid} - refunds ${refunded} = ${expected}`);
  }
  // The bond: posted - slashed - returned on re-appointment - released at the end.
  let returned = 0n;
  for (const a of h.appointed) {
    const receipt = await client.provider.getTransactionReceipt(a.transactionHash);
    for (const log of receipt?.logs ?? []) {
      if (log.address.toLowerCase() !== client.address.toLowerCase()) continue;
      const parsed = (() => { try { return fedMarketInterface.parseLog(log); } catch { return null; } })();
      if (parsed?.name === "Credited") returned += BigInt(parsed.args[2] as bigint);
    }
  }
  const slashed = h.rounds.reduce((a, r) => a + (r.end?.kind === "failed" ? r.end.slashed : 0n), 0n);
  const expectedBond = h.accepted.reduce((a, x) => a + x.amount, 0n) - slashed - returned - (h.closed?.bondReleased ?? 0n);
  if (project.bondPosted !== expectedBond) {
    failures.push(`escrow: the aggregator's bond is ${project.bondPosted}, but posted - slashed - returned - released = ${expectedBond}`);
  }
  const token = project.token;
  const liabilities = BigInt(await client.contract.getFunction("totalLiabilities").staticCall(token) as bigint);
  const balance = token === ZeroAddress || token === ETH_TOKEN
    ? await client.provider.getBalance(client.address)
    : BigInt(await new Contract(token, ["function balanceOf(address) view returns (uint256)"], client.provider).getFunction("balanceOf").staticCall(client.address) as bigint);
  if (balance < liabilities) failures.push(`escrow: the market holds ${balance} of ${token === ZeroAddress ? "ETH" : token} but owes totalLiabilities ${liabilities}`);
  else if (balance > liabilities) warnings.push(`escrow: the market holds ${balance - liabilities} more than it owes (tokens or ETH sent to it outside the contract's functions)`);
  return {
    token, deposits, paid, refunded, expectedBudgetAndReserve: expected, budgetAndReserve: actual,
    bondPosted: project.bondPosted, expectedBondPosted: expectedBond, marketBalance: balance, totalLiabilities: liabilities,
  };
}
