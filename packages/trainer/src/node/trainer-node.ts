/**
 * The trainer node: `join` a project, `run` its rounds, report `status`, `claim` credits.
 *
 * One round (`runRound`), resumable at every step through the state file (state.ts):
 *
 *  1. read the project and its open round from chain (by chain time); stop if the project ended,
 *     fail clearly if the window closed or the account is not registered;
 *  2. download the model spec and the global model (CIDs from chain; every blob is verified
 *     against its CID), check the spec against the chain (`D`, scale, clip bound, the verifier's
 *     `kMax`/`chunk`) and the global model against the on-chain model commitment;
 *  3. train on the local data -> clipped float delta, saved (`trained`);
 *  4. quantize + commit (update.ts -> @fedmarket/core), encode the `FMUP` payload, seal it to the
 *     aggregator's and owner's X25519 keys from chain, bound to (chain, market, project, round,
 *     trainer), saved (`sealed`);
 *  5. pin it (`pinned`, CID);
 *  6. check `getTrainer(...).lastSubmittedRoundPlusOne` and pending transactions, then
 *     `submitUpdate(project, round, commitment, cid)` (`submitted`, tx hash), wait (`confirmed`).
 *
 * A crash anywhere resumes at the last completed step; a submission that reached the chain is
 * recognised from `lastSubmittedRoundPlusOne` and its `UpdateSubmitted` event (never sent twice).
 */
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { Signer, TransactionReceipt } from "ethers";
import {
  BlobStoreError, bytes32ToBytes, checkSpecAgainstChain, decodeWeights, encodeUpdatePayload, encodeWeights,
  ETH_TOKEN, FedMarketClient, formatHyperParams, globalModelCommitment, MarketRevertError, parseModelSpec, previousModelOpening, ProjectStatus,
  sealEnvelope, trainingForRound, updateAssociatedData, type BlobStore, type ModelSpec, type ModelSummary, type ProjectInfo,
} from "@fedmarket/protocol";
import { selectBackend, type BackendInfo } from "../backend.ts";
import { loadDataset } from "../data/index.ts";
import type { Dataset } from "../data/dataset.ts";
import { NonFiniteUpdateError, trainLocally } from "../local-training.ts";
import { prepareUpdate } from "../update.ts";
import { attackDelta, attackNeedsTraining, duplicateSubmission, flipLabels, type AttackMode } from "../attacks.ts";
import type { NodeLogger } from "@fedmarket/protocol";
import { writeFileAtomic } from "@fedmarket/protocol";
import { StateStore, type RoundEntry } from "./state.ts";

/** Named points of a round where a test (or FEDMARKET_TEST_CRASH_AT) can simulate a crash. */
export const CHECKPOINTS = ["after-train", "after-seal", "after-pin", "sent-before-state", "after-send", "after-confirm"] as const;
export type Checkpoint = (typeof CHECKPOINTS)[number];

/** A clear, actionable failure of the node (the CLI prints `message` and exits 1). */
export class TrainerNodeError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TrainerNodeError";
    this.code = code;
  }
}

export interface TrainerNodeOptions {
  readonly client: FedMarketClient;
  readonly signer: Signer;
  readonly address: string;
  readonly chainId: bigint;
  readonly store: BlobStore;
  /** Human description of the store, for error messages (e.g. "Kubo at http://..."). */
  readonly storeName: string;
  readonly state: StateStore;
  readonly logger: NodeLogger;
  /** Local training data location (needed by `run`). */
  readonly data?: string;
  readonly seed?: number;
  readonly pollIntervalMs?: number;
  readonly confirmations?: number;
  readonly ipfsTimeoutMs?: number;
  readonly ipfsRetries?: number;
  /** Backend already selected (tests share one); otherwise `selectBackend()` on first use. */
  readonly backend?: BackendInfo;
  /** Called at each checkpoint; throwing (or killing the process) simulates a crash there. */
  readonly onCheckpoint?: (name: Checkpoint) => void | Promise<void>;
  /**
   * TEST/DEMO TOOL ONLY (hidden `--attack <mode>`): behave as a malicious trainer (attacks.ts).
   * `free-rider` submits a zero update; `duplicate` copies the first other submission of the round.
   */
  readonly attack?: AttackMode;
}

export type RoundOutcome =
  | { readonly kind: "submitted"; readonly round: number; readonly entry: RoundEntry }
  | { readonly kind: "already-submitted"; readonly round: number; readonly entry: RoundEntry }
  | { readonly kind: "ended"; readonly status: string }
  | { readonly kind: "waiting"; readonly reason: string };

interface Downloaded {
  readonly spec: ModelSpec;
  readonly summary: ModelSummary;
  readonly specText: string;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> => new Promise((resolve) => {
  const t = setTimeout(resolve, ms);
  signal?.addEventListener("abort", () => { clearTimeout(t); resolve(); }, { once: true });
});

function fmtEth(wei: bigint): string {
  const s = wei.toString().padStart(19, "0");
  return `${s.slice(0, -18)}.${s.slice(-18).replace(/0+$/, "") || "0"}`;
}

export class TrainerNode {
  readonly o: TrainerNodeOptions;
  #backend: BackendInfo | undefined;
  #datasetCache: { key: string; ds: Dataset } | undefined;

  constructor(options: TrainerNodeOptions) {
    this.o = options;
    this.#backend = options.backend;
  }

  get #log(): NodeLogger { return this.o.logger; }

  async #checkpoint(name: Checkpoint): Promise<void> {
    await this.o.onCheckpoint?.(name);
  }

  async #project(projectId: bigint): Promise<ProjectInfo> {
    const p = await this.o.client.getProject(projectId);
    if (p.status === ProjectStatus.None) {
      throw new TrainerNodeError("unknown-project", `project ${projectId} does not exist on the marketplace ${this.o.client.address} (chain ${this.o.chainId}): check --project, --market and --rpc-url`);
    }
    return p;
  }

  // -------------------------------------------------------------------------------------------
  // join
  // -------------------------------------------------------------------------------------------

  /** Registers the account in the project, paying the stake if one is required. Idempotent. */
  async join(projectId: bigint, allowlistProof: readonly string[] = []): Promise<{ registered: boolean; txHash?: string; stake: bigint }> {
    const p = await this.#project(projectId);
    const me = await this.o.client.getTrainer(projectId, this.o.address);
    if (me.registered) {
      this.#log.log("info", "join.already", `${this.o.address} is already registered in project ${projectId}`, { projectId, stake: me.stake });
      return { registered: false, stake: me.stake };
    }
    if (p.status === ProjectStatus.Completed || p.status === ProjectStatus.Cancelled) {
      throw new TrainerNodeError("project-ended", `project ${projectId} is ${p.statusName}: it takes no new trainers`);
    }
    if (p.token !== ETH_TOKEN && p.trainerStake > 0n) {
      const { balance, allowance } = await this.o.client.tokenFunds(p.token, this.o.address);
      if (balance < p.trainerStake) {
        throw new TrainerNodeError("insufficient-funds", `registering needs a stake of ${p.trainerStake} of token ${p.token}; ${this.o.address} holds ${balance}`);
      }
      if (allowance < p.trainerStake) {
        this.#log.log("info", "join.approve", `approving the marketplace for the stake of ${p.trainerStake} of token ${p.token}`, { projectId, token: p.token, stake: p.trainerStake });
        await this.o.client.wait(await this.o.client.approveToken(p.token, p.trainerStake), this.o.confirmations ?? 1);
      }
    } else if (p.trainerStake > 0n) {
      const balance = await this.o.client.provider.getBalance(this.o.address);
      if (balance < p.trainerStake) {
        throw new TrainerNodeError("insufficient-funds", `registering needs a stake of ${fmtEth(p.trainerStake)} ETH plus gas; ${this.o.address} has ${fmtEth(balance)} ETH`);
      }
    }
    this.#log.log("info", "join.send", `registering ${this.o.address} in project ${projectId}${p.trainerStake > 0n ? ` (stake ${fmtEth(p.trainerStake)} ETH)` : ""}`, { projectId, stake: p.trainerStake });
    const tx = await this.o.client.registerTrainer(projectId, allowlistProof, p.token === ETH_TOKEN ? p.trainerStake : 0n);
    await this.o.client.wait(tx, this.o.confirmations ?? 1);
    this.#log.log("info", "join.done", `registered in project ${projectId} (tx ${tx.hash})`, { projectId, txHash: tx.hash });
    return { registered: true, txHash: tx.hash, stake: p.trainerStake };
  }

  // -------------------------------------------------------------------------------------------
  // run
  // -------------------------------------------------------------------------------------------

  async #fetch(cid: string, what: string): Promise<Uint8Array> {
    try {
      return await this.o.store.get(cid, { timeoutMs: this.o.ipfsTimeoutMs ?? 30_000, retries: this.o.ipfsRetries ?? 3 });
    } catch (err) {
      if (err instanceof BlobStoreError) {
        throw new TrainerNodeError("ipfs", `cannot download the ${what} ${cid} from ${this.o.storeName}: ${err.message}. Is IPFS reachable? Check --ipfs-api (or --ipfs-repo) and that the blob is pinned`, { cause: err });
      }
      throw err;
    }
  }

  async #downloadSpec(p: ProjectInfo): Promise<Downloaded> {
    const specText = new TextDecoder().decode(await this.#fetch(p.specCid, "model spec"));
    const { spec, summary } = parseModelSpec(specText, `model spec ${p.specCid}`);
    return { spec, summary, specText };
  }

  async #loadData(spec: ModelSpec): Promise<Dataset> {
    if (this.o.data === undefined) throw new TrainerNodeError("no-data", "no training data: pass --data <folder or file>");
    const key = `${this.o.data}|${JSON.stringify(spec.inputShape)}|${spec.labels.join(",")}`;
    if (this.#datasetCache?.key === key) return this.#datasetCache.ds;
    let ds: Dataset;
    try {
      ds = await loadDataset(this.o.data, { inputShape: spec.inputShape, labels: spec.labels });
    } catch (err) {
      throw new TrainerNodeError("bad-data", `cannot use the training data: ${(err as Error).message}`, { cause: err });
    }
    this.#datasetCache = { key, ds };
    return ds;
  }

  async #tf(): Promise<BackendInfo> {
    this.#backend ??= await selectBackend({ log: (m) => this.#log.log("info", "backend", m) });
    return this.#backend;
  }

  /** TEST/DEMO attack `free-rider`: `g_r - g_{r-1}` from the RoundOpened models, if the model ever changed. */
  async #lastGlobalDelta(p: ProjectInfo, round: number, global: Float32Array): Promise<Float32Array | undefined> {
    const before = previousModelOpening(await this.o.client.roundOpened(p.id), round, p.modelCommitment);
    if (before === undefined) return undefined;
    const previous = decodeWeights(await this.#fetch(before.modelCid, "previous global model"), global.length);
    return global.map((w, i) => w - (previous[i] as number));
  }

  /** Step 2-3: download, check against chain, train, save the delta. */
  async #train(p: ProjectInfo, round: number): Promise<void> {
    const bar = this.#log.progress("download", 2, "blobs");
    const { spec, summary } = await this.#downloadSpec(p);
    bar.update(1, { info: "spec" });
    const verifier = await this.o.client.verifierConfig(p.verifier);
    const circuit = checkSpecAgainstChain(spec, summary.parameters, {
      ...p.params, verifierMaxTrainers: verifier.maxTrainers, verifierChunkSize: verifier.chunkSize,
    });
    const modelBytes = await this.#fetch(p.modelCid, "global model");
    bar.update(2, { info: "model" });
    bar.stop();
    const global = decodeWeights(modelBytes, summary.parameters);
    if (globalModelCommitment(global, spec.quantization.scale, circuit) !== p.modelCommitment) {
      throw new TrainerNodeError("model-mismatch", `the global model ${p.modelCid} does not match the model commitment on chain (${p.modelCommitment}); refusing to train on it`);
    }
    this.#log.log("info", "round.downloaded", `round ${round}: model ${spec.name ?? "?"} (${summary.parameters} parameters) downloaded and verified`, { projectId: p.id, round, parameters: summary.parameters });
    const attack = this.o.attack;
    if (attack !== undefined && !attackNeedsTraining(attack)) {
      // free-rider (a duplicator never gets here): no training; replays the last global delta once
      // the model has changed (public: consecutive global models), else a zero update
      const lastGlobalDelta = await this.#lastGlobalDelta(p, round, global);
      const dir = this.o.state.roundDir(p.id, round);
      await mkdir(dir, { recursive: true });
      await writeFileAtomic(path.join(dir, "delta.fmw"), encodeWeights(attackDelta(attack, new Float32Array(summary.parameters), {
        clipBound: spec.quantization.clipBound, ...(lastGlobalDelta === undefined ? {} : { lastGlobalDelta }),
      })));
      await this.o.state.update(p.id, round, { phase: "trained", samples: 0, note: `attack ${attack}` });
      this.#log.log("warn", "attack", `round ${round}: ATTACK ${attack}: ${lastGlobalDelta === undefined ? "zero update" : "copy of the last global delta"}, no training`, { projectId: p.id, round, attack });
      return;
    }
    const loaded = await this.#loadData(spec);
    const dataset = attack === "label-flip" ? flipLabels(loaded, spec.labels.length) : loaded;
    const { tf } = await this.#tf();
    // The round's hyper-parameters are on chain (the aggregator may have decayed the learning
    // rate within the project's bounds); the spec's training values only seed round 0.
    const training = trainingForRound(spec.training, p.hyperParams);
    this.#log.log("info", "round.hyperparams", `round ${round}: training with the round's on-chain hyper-parameters: ${formatHyperParams(p.hyperParams)}`, {
      projectId: p.id, round, learningRate: training.learningRate, epochs: training.epochs, batchSize: training.batchSize,
    });
    const batches = Math.ceil(dataset.count / training.batchSize) * training.epochs;
    const tbar = this.#log.progress("training", batches, "batches");
    let done = 0;
    let result;
    try {
      result = await trainLocally({
        tf, spec: { ...spec, training }, globalWeights: global, dataset, seed: this.o.seed ?? round,
        onProgress: (pr) => {
          if (pr.phase === "batch") { done++; tbar.update(done, { info: `epoch ${pr.epoch + 1}/${pr.epochs} loss ${pr.loss.toFixed(4)}` }); }
          else this.#log.log("debug", "train.epoch", `epoch ${pr.epoch + 1}/${pr.epochs}: loss ${pr.loss.toFixed(4)}`, { epoch: pr.epoch, loss: pr.loss });
        },
      });
    } catch (err) {
      tbar.stop();
      if (err instanceof NonFiniteUpdateError) throw new TrainerNodeError("non-finite", `${err.message}; nothing was published. Check the data and the spec's learning rate`, { cause: err });
      throw err;
    }
    tbar.stop();
    const dir = this.o.state.roundDir(p.id, round);
    await mkdir(dir, { recursive: true });
    const delta = attack === undefined ? result.delta
      : attackDelta(attack, result.delta, { seed: this.o.seed ?? round, clipBound: spec.quantization.clipBound });
    if (attack !== undefined) this.#log.log("warn", "attack", `round ${round}: ATTACK ${attack} applied to the update`, { projectId: p.id, round, attack });
    await writeFileAtomic(path.join(dir, "delta.fmw"), encodeWeights(delta));
    const finalLoss = result.epochLosses.at(-1) ?? Number.NaN;
    await this.o.state.update(p.id, round, { phase: "trained", samples: result.samples, finalLoss });
    this.#log.log("info", "round.trained", `round ${round}: trained on ${result.samples} samples, ${result.epochs} epoch(s), loss ${finalLoss.toFixed(4)}, ${Math.round(result.samplesPerSecond)} samples/s (${result.backend}); ${result.clippedCount} coordinates clipped`, {
      projectId: p.id, round, samples: result.samples, loss: finalLoss, samplesPerSecond: result.samplesPerSecond, clipped: result.clippedCount,
    });
  }

  /** Step 4: quantize, commit, encode, seal, save. */
  async #seal(p: ProjectInfo, round: number): Promise<void> {
    const { spec, summary } = await this.#downloadSpec(p);
    const circuit = spec.circuit;
    if (circuit === undefined) throw new TrainerNodeError("spec", "the model spec has no circuit section");
    const dir = this.o.state.roundDir(p.id, round);
    const delta = decodeWeights(await readFile(path.join(dir, "delta.fmw")), summary.parameters); // rejects NaN/Inf
    const update = prepareUpdate(delta, spec.quantization, circuit);
    const payload = encodeUpdatePayload({ projectId: p.id, round, config: circuit, values: update.quantized, salt: update.salt });
    const keys = [p.aggregatorEncryptionKey, p.ownerEncryptionKey].map((k, i) => {
      const bytes = bytes32ToBytes(k);
      if (bytes.every((x) => x === 0)) {
        throw new TrainerNodeError("no-key", `the ${i === 0 ? "aggregator" : "owner"} of project ${p.id} has published no encryption key; cannot encrypt the update`);
      }
      return bytes;
    });
    const associatedData = updateAssociatedData({ chainId: this.o.chainId, market: this.o.client.address, projectId: p.id, round, trainer: this.o.address });
    const envelope = sealEnvelope(payload, keys, { associatedData });
    await writeFileAtomic(path.join(dir, "update.fmev"), envelope);
    await this.o.state.update(p.id, round, { phase: "sealed", commitment: update.commitment.toString() });
    this.#log.log("info", "round.sealed", `round ${round}: update quantized (${update.quantized.length} values, ${circuit.updateBits} bits), committed and encrypted (${envelope.length} bytes)`, {
      projectId: p.id, round, commitment: update.commitment, bytes: envelope.length,
    });
  }

  /** Step 5: pin the sealed update. */
  async #pin(p: ProjectInfo, round: number): Promise<void> {
    const envelope = await readFile(path.join(this.o.state.roundDir(p.id, round), "update.fmev"));
    const bar = this.#log.progress("upload", envelope.length, "bytes");
    let cid: string;
    try {
      cid = await this.o.store.put(new Uint8Array(envelope));
    } catch (err) {
      bar.stop();
      throw new TrainerNodeError("ipfs", `cannot pin the update to ${this.o.storeName}: ${(err as Error).message}. Is IPFS reachable? The update is kept; run again to retry`, { cause: err });
    }
    bar.update(envelope.length);
    bar.stop();
    await this.o.state.update(p.id, round, { phase: "pinned", cid });
    this.#log.log("info", "round.pinned", `round ${round}: update pinned as ${cid}`, { projectId: p.id, round, cid });
  }

  /** TEST/DEMO attack `duplicate`: adopt another trainer's commitment and CID of this round as ours (`pinned`). */
  async #duplicate(p: ProjectInfo, round: number): Promise<RoundEntry> {
    const events = await this.o.client.updateSubmitted({ projectId: p.id, round });
    let copy;
    try {
      copy = duplicateSubmission([...events].sort((a, b) => a.slot - b.slot), this.o.address);
    } catch (err) {
      throw new TrainerNodeError("attack", `round ${round}: ${(err as Error).message}; run again after another trainer submitted`, { cause: err });
    }
    this.#log.log("warn", "attack", `round ${round}: ATTACK duplicate: copying commitment ${copy.commitment.toString().slice(0, 12)}... and ${copy.cid}`, { projectId: p.id, round, attack: "duplicate" });
    return this.o.state.update(p.id, round, { phase: "pinned", commitment: copy.commitment.toString(), cid: copy.cid });
  }

  /** Records a submission found on chain (after a crash between sending and writing the state). */
  async #adoptOnChain(p: ProjectInfo, round: number): Promise<RoundEntry> {
    const entry = this.o.state.get(p.id, round);
    const events = await this.o.client.updateSubmitted({ projectId: p.id, round, trainer: this.o.address });
    const ev = events.at(-1);
    if (ev !== undefined && entry?.commitment !== undefined && entry.commitment !== ev.commitment.toString()) {
      this.#log.log("warn", "round.foreign", `round ${round}: the submission on chain (commitment ${ev.commitment}) is not the one in the state file; another process uses this key?`, { projectId: p.id, round });
    }
    return this.o.state.update(p.id, round, {
      phase: "confirmed",
      ...(ev === undefined ? { note: "found on chain (lastSubmittedRoundPlusOne)" } : {
        txHash: ev.transactionHash, blockNumber: ev.blockNumber, slot: ev.slot, commitment: ev.commitment.toString(), cid: ev.cid,
      }),
    });
  }

  /** Waits until no transaction of this account is pending (a previous run's may be in flight). */
  async #waitNoPending(): Promise<void> {
    const provider = this.o.client.provider;
    for (let i = 0; i < 120; i++) {
      const [latest, pending] = await Promise.all([
        provider.getTransactionCount(this.o.address, "latest"), provider.getTransactionCount(this.o.address, "pending"),
      ]);
      if (pending <= latest) return;
      if (i === 0) this.#log.log("info", "tx.pending", `waiting for ${pending - latest} pending transaction(s) of ${this.o.address} to be mined`);
      await sleep(1_000);
    }
    throw new TrainerNodeError("pending", `transactions of ${this.o.address} stay pending; check the node and gas price, then run again`);
  }

  /** Step 6: submit (after checking the chain), wait for the receipt. */
  async #submit(p: ProjectInfo, round: number): Promise<RoundEntry> {
    let entry = this.o.state.get(p.id, round) as RoundEntry;
    if (entry.txHash !== undefined) {
      const receipt = await this.o.client.provider.getTransactionReceipt(entry.txHash);
      if (receipt !== null && receipt.status === 1) return this.#confirm(p, round, receipt);
    }
    await this.#waitNoPending();
    const me = await this.o.client.getTrainer(p.id, this.o.address);
    if (me.lastSubmittedRoundPlusOne === round + 1) return this.#adoptOnChain(p, round);
    const commitment = BigInt(entry.commitment as string);
    const cid = entry.cid as string;
    this.#log.log("info", "round.submit", `round ${round}: submitting commitment ${commitment.toString().slice(0, 12)}... with ${cid}`, { projectId: p.id, round, commitment, cid });
    let tx;
    try {
      tx = await this.o.client.submitUpdate(p.id, round, commitment, cid);
    } catch (err) {
      throw this.#explain(err, p, round);
    }
    await this.#checkpoint("sent-before-state");
    entry = await this.o.state.update(p.id, round, { phase: "submitted", txHash: tx.hash });
    await this.#checkpoint("after-send");
    let receipt: TransactionReceipt;
    try {
      receipt = await this.o.client.wait(tx, this.o.confirmations ?? 1);
    } catch (err) {
      throw this.#explain(err, p, round);
    }
    return this.#confirm(p, round, receipt);
  }

  async #confirm(p: ProjectInfo, round: number, receipt: TransactionReceipt): Promise<RoundEntry> {
    let slot: number | undefined;
    for (const log of receipt.logs) {
      try {
        const parsed = this.o.client.contract.interface.parseLog(log);
        if (parsed?.name === "UpdateSubmitted") slot = Number(parsed.args[3]);
      } catch { /* another contract's log */ }
    }
    const entry = await this.o.state.update(p.id, round, {
      phase: "confirmed", txHash: receipt.hash, blockNumber: receipt.blockNumber, ...(slot === undefined ? {} : { slot }),
    });
    this.#log.log("info", "round.confirmed", `round ${round}: submission confirmed in block ${receipt.blockNumber}${slot === undefined ? "" : `, slot ${slot}`} (tx ${receipt.hash})`, {
      projectId: p.id, round, txHash: receipt.hash, block: receipt.blockNumber, slot,
    });
    return entry;
  }

  #explain(err: unknown, p: ProjectInfo, round: number): unknown {
    if (err instanceof MarketRevertError) {
      const code = err.errorName === "SubmissionWindowClosed" || err.errorName === "WrongRound" ? "window-closed"
        : err.errorName === "NotRegistered" ? "not-registered" : "revert";
      return new TrainerNodeError(code, `round ${round} of project ${p.id}: ${err.message}`, { cause: err });
    }
    return err;
  }

  /**
   * Does (or resumes) the open round of `projectId`: see the module comment. Throws
   * `TrainerNodeError` with code `window-closed`, `not-registered`, `ipfs`, `bad-data`, ... .
   */
  async runRound(projectId: bigint): Promise<RoundOutcome> {
    const open = await this.o.client.getOpenRound(projectId);
    const p = open.project;
    if (p.status === ProjectStatus.Completed || p.status === ProjectStatus.Cancelled) return { kind: "ended", status: p.statusName };
    if (p.status === ProjectStatus.AwaitingAggregator) return { kind: "waiting", reason: "the project waits for its aggregator to post a bond" };
    const me = await this.o.client.getTrainer(projectId, this.o.address);
    if (!me.registered) {
      throw new TrainerNodeError("not-registered", `${this.o.address} is not registered in project ${projectId}: run \`fedmarket-trainer join --project ${projectId}\` first`);
    }
    const round = open.round.round;
    let entry = this.o.state.get(projectId, round);
    if (me.lastSubmittedRoundPlusOne === round + 1) {
      if (entry?.phase !== "confirmed") entry = await this.#adoptOnChain(p, round);
      return { kind: "already-submitted", round, entry };
    }
    if (p.cancelRequested) return { kind: "waiting", reason: "the owner is cancelling the project" };
    if (!open.submissionOpen) {
      if (entry !== undefined && entry.phase !== "missed") await this.o.state.update(projectId, round, { phase: "missed", note: "submission window closed" });
      throw new TrainerNodeError("window-closed", `the submission window of round ${round} of project ${projectId} closed at ${new Date(open.round.submissionDeadline * 1000).toISOString()} (chain time ${new Date(open.chainTime * 1000).toISOString()}); nothing was submitted. Wait for the next round: \`fedmarket-trainer run\` does`);
    }
    this.#log.log("info", "round.open", `project ${projectId}, round ${round}: submission window open for ${open.secondsLeft} s${entry ? ` (resuming at phase ${entry.phase})` : ""}`, {
      projectId, round, secondsLeft: open.secondsLeft, phase: entry?.phase,
    });
    if (this.o.attack === "duplicate" && (entry === undefined || entry.phase === "missed")) entry = await this.#duplicate(p, round);
    if (entry === undefined || entry.phase === "missed") { await this.#train(p, round); await this.#checkpoint("after-train"); entry = this.o.state.get(projectId, round); }
    if (entry?.phase === "trained") { await this.#seal(p, round); await this.#checkpoint("after-seal"); entry = this.o.state.get(projectId, round); }
    if (entry?.phase === "sealed") { await this.#pin(p, round); await this.#checkpoint("after-pin"); entry = this.o.state.get(projectId, round); }
    if (entry?.phase === "pinned" || entry?.phase === "submitted") {
      entry = await this.#submit(p, round);
      await this.#checkpoint("after-confirm");
    }
    return { kind: "submitted", round, entry: entry as RoundEntry };
  }

  /**
   * Loops over rounds until the project ends (or `once`: after one submission attempt).
   * Between rounds it polls the chain every `pollIntervalMs`. A closed window is logged and the
   * node waits for the next round; other errors propagate.
   */
  async run(projectId: bigint, options: { once?: boolean; signal?: AbortSignal } = {}): Promise<RoundOutcome> {
    const poll = this.o.pollIntervalMs ?? 5_000;
    let lastLogged = "";
    for (;;) {
      if (options.signal?.aborted) return { kind: "waiting", reason: "stopped" };
      let outcome: RoundOutcome;
      try {
        outcome = await this.runRound(projectId);
      } catch (err) {
        if (err instanceof TrainerNodeError && err.code === "window-closed" && !options.once) {
          const key = `closed:${(await this.o.client.getCurrentRound(projectId)).round}`;
          if (key !== lastLogged) this.#log.log("warn", "round.missed", err.message);
          lastLogged = key;
          await sleep(poll, options.signal);
          continue;
        }
        throw err;
      }
      if (outcome.kind === "ended") {
        this.#log.log("info", "project.ended", `project ${projectId} is ${outcome.status}; nothing more to do (\`fedmarket-trainer claim\` withdraws credits)`, { projectId });
        return outcome;
      }
      if (options.once) return outcome;
      const key = outcome.kind === "waiting" ? `waiting:${outcome.reason}` : `done:${outcome.round}`;
      if (key !== lastLogged) {
        this.#log.log("info", "round.wait", outcome.kind === "waiting" ? `waiting: ${outcome.reason}` : `round ${outcome.round} done; waiting for the next round`, { projectId });
        lastLogged = key;
      }
      await sleep(poll, options.signal);
    }
  }

  // -------------------------------------------------------------------------------------------
  // status, claim
  // -------------------------------------------------------------------------------------------

  async status(projectId: bigint): Promise<Record<string, unknown>> {
    const open = await this.o.client.getOpenRound(projectId);
    const p = open.project;
    if (p.status === ProjectStatus.None) throw new TrainerNodeError("unknown-project", `project ${projectId} does not exist`);
    const me = await this.o.client.getTrainer(projectId, this.o.address);
    const credit = await this.o.client.creditOf(p.token, this.o.address);
    const local = Object.values(this.o.state.state.rounds).filter((e) => e.projectId === projectId.toString());
    return {
      chainId: this.o.chainId.toString(), market: this.o.client.address, trainer: this.o.address,
      project: {
        id: projectId.toString(), status: p.statusName, cancelRequested: p.cancelRequested, owner: p.owner, aggregator: p.aggregator,
        token: p.token, rounds: `${p.currentRound}/${p.numRounds}`, budget: p.budget.toString(), rewardPerRound: p.rewardPerRound.toString(),
        trainerStake: p.trainerStake.toString(), modelCid: p.modelCid, specCid: p.specCid, modelSize: p.params.modelSize,
      },
      round: {
        round: open.round.round, submissions: open.round.submissions, maxTrainers: p.maxTrainersPerRound,
        submissionDeadline: new Date(open.round.submissionDeadline * 1000).toISOString(),
        aggregationDeadline: new Date(open.round.aggregationDeadline * 1000).toISOString(),
        chainTime: new Date(open.chainTime * 1000).toISOString(), submissionOpen: open.submissionOpen, secondsLeft: open.secondsLeft,
      },
      me: {
        registered: me.registered, stake: me.stake.toString(),
        lastSubmittedRound: me.lastSubmittedRoundPlusOne === 0 ? null : me.lastSubmittedRoundPlusOne - 1, credit: credit.toString(),
      },
      local,
    };
  }

  /** Withdraws the account's credits in the project's token (and releases its stake if asked). */
  async claim(projectId: bigint, options: { releaseStake?: boolean } = {}): Promise<{ withdrawn: bigint; txHashes: string[] }> {
    const p = await this.#project(projectId);
    const txHashes: string[] = [];
    if (options.releaseStake) {
      const me = await this.o.client.getTrainer(projectId, this.o.address);
      if (me.stake > 0n && (p.status === ProjectStatus.Completed || p.status === ProjectStatus.Cancelled)) {
        const tx = await this.o.client.releaseStake(projectId);
        await this.o.client.wait(tx, this.o.confirmations ?? 1);
        txHashes.push(tx.hash);
        this.#log.log("info", "claim.stake", `stake ${me.stake} released (tx ${tx.hash})`, { txHash: tx.hash });
      } else if (me.stake > 0n) {
        this.#log.log("warn", "claim.stake", `the stake is released only when project ${projectId} has ended (it is ${p.statusName})`);
      }
    }
    const credit = await this.o.client.creditOf(p.token, this.o.address);
    if (credit === 0n) {
      this.#log.log("info", "claim.none", `nothing to withdraw for ${this.o.address} in ${p.token === ETH_TOKEN ? "ETH" : p.token}`);
      return { withdrawn: 0n, txHashes };
    }
    const tx = await this.o.client.withdraw(p.token);
    await this.o.client.wait(tx, this.o.confirmations ?? 1);
    txHashes.push(tx.hash);
    this.#log.log("info", "claim.done", `withdrew ${p.token === ETH_TOKEN ? `${fmtEth(credit)} ETH` : `${credit} of ${p.token}`} (tx ${tx.hash})`, { amount: credit, txHash: tx.hash });
    return { withdrawn: credit, txHashes };
  }
}
