/**
 * The aggregator node: one round of one project, as resumable steps.
 *
 * 1. **wait** until the open round's submission window has closed (chain time);
 *    too few submissions (< f + 3): `skipRound`; aggregation window already closed: `failRound`.
 * 2. **collect** its `UpdateSubmitted` events (bounded block windows from its `RoundOpened` block) -> `slots.json`
 * 3. **open** every slot (fetch, decrypt, decode, check the commitment); failures are excluded with
 *    their reason -> `openings.json`
 * 4. **compute** the round with `@fedmarket/core`'s `simulateRound` (ctx from the chain, checked
 *    against the contract's `roundContext`) -> `input.json` (everything the witnesses derive from)
 *    and `round.json` (the result)
 * 5. **prove** every chunk and the decision in the worker pool, verify each proof locally, one file
 *    per proof -> `proofs/`
 * 6. **pin** the new global model (float32 = quantized / scale) -> `model.json`
 * 7. **submit** chunk proofs in batches (`submitChunkProofs`) and `finalizeRound` -> `txs.json`, `done.json`
 * 8. **report** (with a validation set, after finalization; unproven, best effort) -> `report.json`
 *    (report/round-report-step.ts)
 *
 * Every step's output is written atomically before the next step starts; a restart (also after
 * `kill -9`) re-reads them and continues. Nothing random is used except the proofs' own blinding,
 * and proofs are persisted. The chain is the authority on whether a round is over: before sending
 * anything the node waits for its pending transactions and looks for the round's `RoundFinalized`
 * (or skipped/failed) event, so a round finalized by this or another instance is never finalized twice.
 */
import { readdir, readFile } from "node:fs/promises";
import { Contract, type Signer } from "ethers";
import {
  modelCommitment, simulateRound, SlotStatus, type CircuitConfig, type RoundResult, type RoundSlot,
} from "@fedmarket/core";
import {
  checkSpecAgainstChain, decodeWeights, dequantizeModel, encodeWeights, globalModelCommitment, parseModelSpec,
  ProjectStatus, proofWords, quantizeModel, ROUND_VERIFIER_ABI, type BlobStore, type ProjectInfo, type RoundInfo,
} from "@fedmarket/protocol";
import { nextRoundHyperParams } from "./hyper-params-step.ts";
import { createHash } from "node:crypto";
import path from "node:path";
import { resolveCircuits, type RoundCircuits } from "./artifacts.ts";
import { roundKeccak, type AggregatorChain, type ChunkProofArg, type RoundEnd } from "./chain.ts";
import { collectedFromEvent, openSlot, type CollectedSlot, type SlotOpening } from "./collect.ts";
import { excludeReplays, lastGlobalDelta } from "./free-rider.ts";
import type { NodeLogger } from "@fedmarket/protocol";
import { ProverPool, type CircuitKind, type GeneratedProof } from "./prover-pool.ts";
import { writeFileAtomic } from "@fedmarket/protocol";
import { bigs, RoundFiles, readJson, toJson } from "./store.ts";
import type { Groth16Proof } from "snarkjs";
import type { RoundReportStep } from "./report/round-report-step.ts";

export const CHECKPOINTS = [
  "after-collect", "after-open", "after-compute", "after-first-proof", "after-prove", "after-pin",
  "after-chunk-batch-sent", "after-finalize-sent",
] as const;
export type Checkpoint = (typeof CHECKPOINTS)[number];

export class AggregatorError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "AggregatorError";
    this.code = code;
  }
}

export interface AggregatorNodeOptions {
  readonly chain: AggregatorChain;
  readonly signer: Signer;
  readonly address: string;
  readonly chainId: bigint;
  readonly store: BlobStore;
  readonly dataDir: string;
  readonly logger: NodeLogger;
  /** The aggregator's X25519 secret key (its public key is on chain). */
  readonly secretKey: Uint8Array;
  /** `--circuits` folder; default: the repository's cached dev setup. */
  readonly circuitsDir?: string;
  /** Proving workers (default: one per core). */
  readonly workers?: number;
  /** Chunk proofs per transaction (default 16). */
  readonly chunkBatch?: number;
  readonly confirmations?: number;
  readonly pollIntervalMs?: number;
  readonly ipfsTimeoutMs?: number;
  readonly ipfsRetries?: number;
  /** Test hook: called at each checkpoint (throw to simulate a crash). */
  readonly onCheckpoint?: (name: Checkpoint) => void | Promise<void>;
  /** Learning-rate decay published with each finalization (`--lr-decay`, default 1 = keep). */
  readonly lrDecay?: number;
  /** Unproven GTG-Shapley / leave-one-out round report, made after a round is finalized (`--validation`). */
  readonly roundReport?: RoundReportStep;
}

/** The round's input to the reference computation (`input.json`). */
interface RoundInputFile {
  readonly config: CircuitConfig;
  readonly f: number;
  readonly keccak: string;
  readonly prevModel: string[];
  readonly modelCid: string;
}

/** The reference computation's result (`round.json`). */
interface RoundFile {
  readonly ctx: string;
  readonly chunks: number;
  readonly prevModelCommitment: string;
  readonly newModelCommitment: string;
  readonly newModel: string[];
  readonly commitments: string[];
  readonly status: number[];
  readonly scores: string[];
  readonly outcome: string[];
  readonly chunkSignals: [string, string][];
  readonly decisionSignals: string[];
  /** sha256 of this result (the same on every recomputation). */
  readonly digest: string;
}

interface ProofFile { readonly proof: Groth16Proof; readonly publicSignals: string[]; readonly ms: number }
interface TxsFile { readonly batches: { firstChunk: number; count: number; txHash: string }[]; readonly finalize?: string; readonly skip?: string; readonly fail?: string }

export interface DoneFile {
  /** A round whose aggregation window passed before finalization is `failed` (the node calls failRound), with a `note`. */
  readonly kind: "finalized" | "skipped" | "failed";
  readonly by: "self" | "other" | "none";
  readonly txHash?: string;
  readonly blockNumber?: number;
  readonly newModelCommitment?: string;
  readonly newModelCid?: string;
  readonly note?: string;
}

export type RoundOutcome =
  | { readonly kind: "waiting"; readonly round: number; readonly reason: string; readonly untilChainTime?: number }
  | { readonly kind: "ended"; readonly status: string }
  | { readonly kind: "done"; readonly round: number; readonly done: DoneFile };

export interface StepTimes { [step: string]: number }

const sha256 = (s: string): string => createHash("sha256").update(s).digest("hex");

export class AggregatorNode {
  readonly o: AggregatorNodeOptions;
  #pool: ProverPool | undefined;
  #circuits: RoundCircuits | undefined;
  /** The current global model, quantized and checked against its commitment (fetched once per model). */
  #model: { readonly commitment: bigint; readonly values: bigint[] } | undefined;
  #verifierChecked = new Set<string>();
  /** Wall time of each step of the last `runRound` (ms). */
  readonly times: StepTimes = {};

  constructor(o: AggregatorNodeOptions) {
    this.o = o;
  }

  get log(): NodeLogger { return this.o.logger; }

  async #checkpoint(name: Checkpoint): Promise<void> {
    await this.o.onCheckpoint?.(name);
  }

  async #timed<T>(step: string, fn: () => Promise<T>): Promise<T> {
    const t = Date.now();
    try {
      return await fn();
    } finally {
      this.times[step] = (this.times[step] ?? 0) + Date.now() - t;
    }
  }

  async close(): Promise<void> {
    await this.#pool?.close();
    this.#pool = undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Project facts: spec, circuit configuration, verifier check
  // -------------------------------------------------------------------------------------------

  async #fetch(cid: string, what: string): Promise<Uint8Array> {
    try {
      return await this.o.store.get(cid, { timeoutMs: this.o.ipfsTimeoutMs ?? 30_000, retries: this.o.ipfsRetries ?? 3 });
    } catch (err) {
      throw new AggregatorError("ipfs", `cannot download the ${what} ${cid}: ${(err as Error).message}. Is IPFS reachable (--ipfs-api / --ipfs-repo)?`, { cause: err });
    }
  }

  /** The project's circuit configuration from its spec, checked against the chain and the verifier. */
  async circuitConfig(project: ProjectInfo): Promise<CircuitConfig> {
    const text = new TextDecoder().decode(await this.#fetch(project.specCid, "model spec"));
    const { spec, summary } = parseModelSpec(text, `model spec ${project.specCid}`);
    const v = await this.o.chain.client.verifierConfig(project.verifier);
    return checkSpecAgainstChain(spec, summary.parameters, {
      modelSize: project.params.modelSize, quantizationScale: project.params.quantizationScale, clipBound: project.params.clipBound,
      verifierMaxTrainers: v.maxTrainers, verifierChunkSize: v.chunkSize,
    });
  }

  async #circuitsFor(config: CircuitConfig): Promise<RoundCircuits> {
    if (this.#circuits === undefined) {
      this.#circuits = await resolveCircuits(config, {
        ...(this.o.circuitsDir === undefined ? {} : { dir: this.o.circuitsDir }),
        log: (m) => this.log.log("info", "circuits", m),
      });
      if (this.#circuits.dev) {
        this.log.log("warn", "circuits.dev", "using the DEV setup of the circuits (public toxic waste: NOT FOR PRODUCTION); pass --circuits <dir> for a ceremony's keys");
      }
    }
    return this.#circuits;
  }

  async #poolFor(config: CircuitConfig): Promise<ProverPool> {
    if (this.#pool === undefined) {
      const circuits = await this.#circuitsFor(config);
      this.#pool = new ProverPool(circuits, this.o.workers);
      this.log.log("debug", "prover.pool", `${this.#pool.size} proving worker(s)`, { workers: this.#pool.size });
    }
    return this.#pool;
  }

  /**
   * Refuses to work for a project whose on-chain verifier does not match the local verification
   * keys: compares `maxTrainers`/`chunkSize`/`decisionInputCount`, then proves a trivial round
   * (one chunk, all slots empty) locally and checks both proofs with the on-chain verifier
   * (`eth_call`). The result is cached in `<data>/verifier-checks.json` by chain, verifier code
   * and key digests.
   */
  async checkVerifier(project: ProjectInfo, config: CircuitConfig): Promise<void> {
    const circuits = await this.#circuitsFor(config);
    const provider = this.o.chain.client.provider;
    const adapter = new Contract(project.verifier, ROUND_VERIFIER_ABI, provider);
    const code = await provider.getCode(project.verifier);
    if (code === "0x") throw new AggregatorError("verifier", `no contract at the project's verifier ${project.verifier}`);
    const key = sha256([this.o.chainId, project.verifier.toLowerCase(), sha256(code), sha256(JSON.stringify(circuits.chunk.vkey)), sha256(JSON.stringify(circuits.decision.vkey))].join(":"));
    if (this.#verifierChecked.has(key)) return;
    const cacheFile = path.join(this.o.dataDir, "verifier-checks.json");
    const cache = (await readJson<Record<string, string>>(cacheFile)) ?? {};
    if (cache[key] !== undefined) { this.#verifierChecked.add(key); return; }

    const [k, c, n] = await Promise.all(["maxTrainers", "chunkSize", "decisionInputCount"].map(async (f) => Number(await adapter.getFunction(f).staticCall() as bigint)));
    const wantInputs = 4 + config.kMax + Math.ceil(config.kMax / 3);
    if (k !== config.kMax || c !== config.chunk || n !== wantInputs) {
      throw new AggregatorError("verifier", `the project's verifier ${project.verifier} is for K_MAX ${k}, CHUNK ${c}, ${n} decision inputs; the local circuits are K_MAX ${config.kMax}, CHUNK ${config.chunk}, ${wantInputs} inputs`);
    }
    const started = Date.now();
    const trivial = simulateRound({ config, prevModel: new Array<bigint>(config.chunk).fill(0n), slots: [], f: 0, keccak: 0n });
    const pool = await this.#poolFor(config);
    const [chunkProof, decisionProof] = await Promise.all([
      pool.prove("chunk", trivial.chunkWitnesses[0]!.input), pool.prove("decision", trivial.decision.input),
    ]);
    const [accIn, accOut] = trivial.chunkWitnesses[0]!.publicSignals;
    const okChunk = Boolean(await adapter.getFunction("verifyChunk").staticCall(proofWords(chunkProof.proof), accIn, accOut));
    const okDecision = Boolean(await adapter.getFunction("verifyDecision").staticCall(proofWords(decisionProof.proof), [...trivial.decision.publicSignals]));
    if (!okChunk || !okDecision) {
      throw new AggregatorError("verifier", `the project's verifier ${project.verifier} rejects proofs made with the local ${!okChunk ? circuits.chunk.vkeyFile : circuits.decision.vkeyFile}: ` +
        "the proving keys do not belong to the verifier on chain. Use the keys of the verifier's setup (--circuits <dir>)");
    }
    cache[key] = new Date().toISOString();
    await writeFileAtomic(cacheFile, toJson(cache));
    this.#verifierChecked.add(key);
    this.log.log("info", "verifier.ok", `the on-chain verifier ${project.verifier} accepts proofs of the local keys (checked in ${((Date.now() - started) / 1000).toFixed(1)} s)`, { verifier: project.verifier });
  }

  // -------------------------------------------------------------------------------------------
  // The round
  // -------------------------------------------------------------------------------------------

  /**
   * Processes the project's open round if its submission window has closed; returns at once with
   * `waiting` otherwise. Every step resumes from the files of a previous (crashed) run.
   */
  async runRound(projectId: bigint): Promise<RoundOutcome> {
    const { project, round, chainTime } = await this.o.chain.client.getOpenRound(projectId);
    if (project.status === ProjectStatus.None) throw new AggregatorError("unknown-project", `project ${projectId} does not exist`);
    // First what a crash left unrecorded, also when that round's end closed the project.
    const settled = await this.#settlePast(projectId, round.round);
    if (settled !== undefined) return settled;
    if (project.status === ProjectStatus.Completed || project.status === ProjectStatus.Cancelled) return { kind: "ended", status: project.statusName };
    if (project.aggregator.toLowerCase() !== this.o.address.toLowerCase()) {
      throw new AggregatorError("not-aggregator", `${this.o.address} is not the aggregator of project ${projectId} (it is ${project.aggregator}): use the appointed aggregator's key`);
    }
    if (project.status === ProjectStatus.AwaitingAggregator) {
      return { kind: "waiting", round: round.round, reason: "the project waits for its aggregator to accept (acceptAggregator: post the bond and the encryption key)" };
    }
    const r = round.round;
    const files = new RoundFiles(this.o.dataDir, projectId, r);
    const done = await files.read<DoneFile>("done.json");
    if (done !== undefined) return { kind: "done", round: r, done };
    if (chainTime < round.submissionDeadline) {
      return { kind: "waiting", round: r, reason: `submission window of round ${r} open for ${round.submissionDeadline - chainTime} s more`, untilChainTime: round.submissionDeadline };
    }
    const quorum = project.params.byzantineTolerance + 3;
    if (round.submissions < quorum) return { kind: "done", round: r, done: await this.#skip(projectId, r, round, quorum, files) };
    const config = await this.circuitConfig(project);
    await this.checkVerifier(project, config);
    return { kind: "done", round: r, done: await this.#aggregate(project, round, config, files, chainTime) };
  }

  /**
   * A round this node started but did not record as done, which is no longer open (e.g. killed
   * right after sending finalizeRound): record how it ended from the chain events.
   */
  async #settlePast(projectId: bigint, openRound: number): Promise<RoundOutcome | undefined> {
    let names: string[];
    try {
      names = await readdir(path.join(this.o.dataDir, `p${projectId}`));
    } catch {
      return undefined;
    }
    let last: RoundOutcome | undefined;
    for (const r of names.map((n) => /^r(\d+)$/.exec(n)?.[1]).filter((x): x is string => x !== undefined).map(Number).sort((a, b) => a - b)) {
      if (r >= openRound) continue;
      const files = new RoundFiles(this.o.dataDir, projectId, r);
      if (await files.read<DoneFile>("done.json") !== undefined) continue;
      await this.o.chain.waitForPending(this.o.address);
      if (await this.o.chain.roundEnd(projectId, r) === undefined) continue;
      const txs = await files.read<TxsFile>("txs.json");
      last = { kind: "done", round: r, done: await this.#recordEnd(projectId, r, files, txs?.finalize) };
    }
    return last;
  }

  async #skip(projectId: bigint, r: number, round: RoundInfo, quorum: number, files: RoundFiles): Promise<DoneFile> {
    await this.o.chain.waitForPending(this.o.address);
    const ended = await this.o.chain.roundEnd(projectId, r);
    if (ended === undefined) {
      this.log.log("info", "round.skip", `round ${r} has ${round.submissions} submission(s), fewer than f + 3 = ${quorum}: skipping it`, { round: r, submissions: round.submissions });
      const tx = await this.o.chain.skipRound(projectId);
      await files.write("txs.json", { batches: [], skip: tx.hash } satisfies TxsFile);
      await this.o.chain.wait(tx, this.o.confirmations ?? 1);
    }
    return this.#recordEnd(projectId, r, files);
  }

  /**
   * The aggregation window closed before this node finalized: nothing can be submitted any more.
   * The bond is slashed whoever calls failRound, so the node calls it itself: the round's trainers
   * get their share of the slash at once and the owner can appoint an aggregator for the next round.
   */
  async #fail(projectId: bigint, r: number, round: RoundInfo, files: RoundFiles): Promise<DoneFile> {
    this.log.log("error", "round.missed", `round ${r}: the aggregation window closed at chain time ${round.aggregationDeadline} before finalization; failing the round (the bond is slashed)`, { round: r });
    await this.o.chain.waitForPending(this.o.address);
    let ours: string | undefined;
    if ((await this.o.chain.roundEnd(projectId, r)) === undefined) {
      try {
        const tx = await this.o.chain.failRound(projectId);
        ours = tx.hash;
        await files.write("txs.json", { batches: [], fail: tx.hash } satisfies TxsFile);
        await this.o.chain.wait(tx, this.o.confirmations ?? 1);
      } catch (err) {
        // someone else failed it first: the chain says so below
        if ((await this.o.chain.roundEnd(projectId, r)) === undefined) throw err;
      }
    }
    return this.#recordEnd(projectId, r, files, ours, `missed the aggregation window (closed at chain time ${round.aggregationDeadline})`);
  }

  async #recordEnd(projectId: bigint, r: number, files: RoundFiles, ours?: string, note?: string): Promise<DoneFile> {
    const end = await this.o.chain.roundEnd(projectId, r);
    if (end === undefined) throw new AggregatorError("internal", `round ${r} of project ${projectId} has not ended on chain`);
    const by = await this.#whoSent(end, ours);
    const done: DoneFile = {
      kind: end.kind, by, txHash: end.txHash, blockNumber: end.blockNumber,
      ...(end.kind === "finalized" ? { newModelCommitment: end.newModelCommitment.toString(), newModelCid: end.newModelCid } : {}),
      ...(note === undefined ? {} : { note }),
    };
    await files.write("done.json", done);
    this.log.log("info", `round.${end.kind}`, `round ${r} of project ${projectId} ${end.kind}${by === "other" ? " by another account or instance" : ""} in tx ${end.txHash} (block ${end.blockNumber})`, { round: r, ...done });
    // After done.json, so the report can never delay or undo the finalization; it only logs failures.
    if (end.kind === "finalized") await this.o.roundReport?.afterFinalize(projectId, r, files);
    return done;
  }

  async #whoSent(end: RoundEnd, ours?: string): Promise<"self" | "other"> {
    if (ours !== undefined && ours.toLowerCase() === end.txHash.toLowerCase()) return "self";
    const tx = await this.o.chain.client.provider.getTransaction(end.txHash);
    return tx !== null && tx.from.toLowerCase() === this.o.address.toLowerCase() ? "self" : "other";
  }

  async #aggregate(project: ProjectInfo, round: RoundInfo, config: CircuitConfig, files: RoundFiles, chainTime: number): Promise<DoneFile> {
    const projectId = project.id;
    const r = round.round;
    // A previous run (or another instance) may have finalized it already.
    const ended = await this.o.chain.roundEnd(projectId, r);
    if (ended !== undefined) return this.#recordEnd(projectId, r, files);
    if (chainTime >= round.aggregationDeadline) return this.#fail(projectId, r, round, files);
    const slots = await this.#timed("collect", () => this.#collect(projectId, r, round, files));
    const openings = await this.#timed("open", () => this.#open(project, r, config, slots, files));
    const { result } = await this.#timed("compute", () => this.#compute(project, r, config, openings, files));
    const proofs = await this.#timed("prove", () => this.#prove(config, result, files));
    const cid = await this.#timed("pin", () => this.#pin(project, config, result, files));
    return this.#timed("submit", () => this.#submit(project, r, result, proofs, cid, files));
  }

  async #collect(projectId: bigint, r: number, round: RoundInfo, files: RoundFiles): Promise<CollectedSlot[]> {
    const have = await files.read<{ slots: CollectedSlot[] }>("slots.json");
    if (have !== undefined) return have.slots;
    const fromBlock = (await this.o.chain.roundOpenedBlock(projectId, r)) ?? 0;
    const events = await this.o.chain.client.updateSubmitted({ projectId, round: r }, { fromBlock });
    const slots = events.map(collectedFromEvent).sort((a, b) => a.slot - b.slot);
    if (slots.length !== round.submissions) {
      throw new AggregatorError("events", `round ${r} has ${round.submissions} submissions on chain but ${slots.length} UpdateSubmitted events were found from block ${fromBlock}: the RPC node may lag or prune logs; retry, or use an archive endpoint`);
    }
    for (const s of slots) {
      const stored = await this.o.chain.client.getSubmission(projectId, r, s.slot);
      if (stored.commitment.toString() !== s.commitment || stored.trainer.toLowerCase() !== s.trainer.toLowerCase()) {
        throw new AggregatorError("events", `slot ${s.slot} of round ${r}: the UpdateSubmitted event does not match getSubmission`);
      }
    }
    await files.write("slots.json", { projectId: projectId.toString(), round: r, fromBlock, slots });
    this.log.log("info", "round.collected", `round ${r}: ${slots.length} submission(s) collected`, { round: r, submissions: slots.length });
    await this.#checkpoint("after-collect");
    return slots;
  }

  async #open(project: ProjectInfo, r: number, config: CircuitConfig, slots: readonly CollectedSlot[], files: RoundFiles): Promise<SlotOpening[]> {
    const have = await files.read<{ openings: SlotOpening[] }>("openings.json");
    if (have !== undefined) return have.openings;
    const bar = this.log.progress("fetch", slots.length, "updates");
    let n = 0;
    const ctx = {
      chainId: this.o.chainId, market: this.o.chain.client.address, projectId: project.id, round: r, config, modelSize: project.params.modelSize,
      secretKey: this.o.secretKey, store: this.o.store, timeoutMs: this.o.ipfsTimeoutMs ?? 30_000, retries: this.o.ipfsRetries ?? 3,
    };
    const opened = await Promise.all(slots.map(async (s) => {
      const o = await openSlot(s, ctx);
      bar.update(++n);
      return o;
    }));
    bar.stop();
    const openings = excludeReplays(opened, await this.#lastGlobalDelta(project, r, config));
    for (const o of openings) {
      if (o.status === "excluded") {
        this.log.log("warn", "slot.excluded", `round ${r} slot ${o.slot} (${o.trainer}) excluded: ${o.reason}: ${o.detail}`, { round: r, slot: o.slot, trainer: o.trainer, reason: o.reason, detail: o.detail, cid: o.cid });
      }
    }
    await files.write("openings.json", { openings });
    const excluded = openings.filter((o) => o.status === "excluded").length;
    this.log.log("info", "round.opened", `round ${r}: ${openings.length - excluded} update(s) opened, ${excluded} excluded`, { round: r, opened: openings.length - excluded, excluded });
    await this.#checkpoint("after-open");
    return openings;
  }

  /** The previous round's global delta (free-rider rule), from RoundOpened events and IPFS. */
  async #lastGlobalDelta(project: ProjectInfo, r: number, config: CircuitConfig): Promise<bigint[] | undefined> {
    const scale = Number(project.params.quantizationScale);
    return lastGlobalDelta({
      client: this.o.chain.client, projectId: project.id, round: r,
      currentModel: await this.#prevModel(project, config), currentCommitment: project.modelCommitment,
      fetchModel: async (cid) => quantizeModel(decodeWeights(await this.#fetch(cid, "earlier global model"), project.params.modelSize), scale, config.modelBits),
    });
  }

  async #prevModel(project: ProjectInfo, config: CircuitConfig): Promise<bigint[]> {
    if (this.#model?.commitment === project.modelCommitment) return this.#model.values;
    const weights = decodeWeights(await this.#fetch(project.modelCid, "global model"), project.params.modelSize);
    const scale = Number(project.params.quantizationScale);
    const q = quantizeModel(weights, scale, config.modelBits);
    if (modelCommitment(q, config.chunk, config.modelBits) !== project.modelCommitment) {
      throw new AggregatorError("model", `the global model ${project.modelCid} does not match the model commitment on chain: cannot prove this round`);
    }
    this.#model = { commitment: project.modelCommitment, values: q };
    return q;
  }

  async #compute(project: ProjectInfo, r: number, config: CircuitConfig, openings: readonly SlotOpening[], files: RoundFiles): Promise<{ input: RoundInputFile; result: RoundResult }> {
    let input = await files.read<RoundInputFile>("input.json");
    if (input === undefined) {
      const keccak = roundKeccak(this.o.chainId, this.o.chain.client.address, project.id, r, project.paramsHash);
      const prevModel = await this.#prevModel(project, config);
      input = { config, f: project.params.byzantineTolerance, keccak: keccak.toString(), prevModel: prevModel.map(String), modelCid: project.modelCid };
      await files.write("input.json", input);
    }
    const slots: RoundSlot[] = [];
    for (const o of openings) {
      while (slots.length < o.slot) slots.push({ commitment: 0n });
      slots.push(o.status === "opened"
        ? { commitment: BigInt(o.commitment), update: bigs(o.update), salt: BigInt(o.salt) }
        : { commitment: BigInt(o.commitment), excluded: true });
    }
    const result = simulateRound({ config: input.config, prevModel: bigs(input.prevModel), slots, f: input.f, keccak: BigInt(input.keccak) });
    const summary: Omit<RoundFile, "digest"> = {
      ctx: result.ctx.toString(), chunks: result.chunks, prevModelCommitment: result.prevModelCommitment.toString(),
      newModelCommitment: result.newModelCommitment.toString(), newModel: result.newModel.map(String),
      commitments: result.commitments.map(String), status: result.krum.status.map(Number), scores: result.krum.scores.map(String),
      outcome: result.outcome.map(String), chunkSignals: result.chunkWitnesses.map((w) => [w.publicSignals[0].toString(), w.publicSignals[1].toString()]),
      decisionSignals: result.decision.publicSignals.map(String),
    };
    const digest = sha256(toJson(summary));
    const have = await files.read<RoundFile>("round.json");
    if (have !== undefined) {
      if (have.digest !== digest) throw new AggregatorError("internal", `recomputing round ${r} gave a different result than ${files.file("round.json")}; delete the round folder to start it over`);
      return { input, result };
    }
    if (result.prevModelCommitment !== project.modelCommitment) throw new AggregatorError("model", "internal: the previous model commitment does not match the chain");
    const onChainCtx = await this.o.chain.roundContext(project.id, r);
    if (onChainCtx !== result.ctx) throw new AggregatorError("ctx", `the round context ${result.ctx} differs from the contract's roundContext ${onChainCtx}: wrong chain id or market address?`);
    await files.write("round.json", { ...summary, digest } satisfies RoundFile);
    const statusNames = ["empty", "inlier", "not aggregated", "excluded"];
    this.log.log("info", "round.computed", `round ${r}: ${result.chunks} chunk(s); slots ${result.krum.status.map((s, k) => `${k}: ${statusNames[s] ?? s}${s === SlotStatus.Inlier ? ` (score ${result.krum.scores[k]})` : ""}`).join(", ")}`, {
      round: r, chunks: result.chunks, status: result.krum.status, scores: result.krum.scores, newModelCommitment: result.newModelCommitment,
    });
    await this.#checkpoint("after-compute");
    return { input, result };
  }

  async #prove(config: CircuitConfig, result: RoundResult, files: RoundFiles): Promise<{ chunks: bigint[][]; decision: bigint[] }> {
    const expected = (kind: CircuitKind, j: number): string[] =>
      kind === "chunk" ? result.chunkWitnesses[j]!.publicSignals.map(String) : result.decision.publicSignals.map(String);
    const fileOf = (kind: CircuitKind, j: number): string => (kind === "chunk" ? files.chunkProofFile(j) : files.decisionProofFile());
    const jobs: { kind: CircuitKind; j: number }[] = [
      ...result.chunkWitnesses.map((_, j) => ({ kind: "chunk" as const, j })), { kind: "decision", j: 0 },
    ];
    const words = new Map<string, bigint[]>();
    const todo: { kind: CircuitKind; j: number }[] = [];
    for (const job of jobs) {
      const have = await readJson<ProofFile>(fileOf(job.kind, job.j));
      if (have !== undefined && JSON.stringify(have.publicSignals) === JSON.stringify(expected(job.kind, job.j))) {
        words.set(`${job.kind}:${job.j}`, proofWords(have.proof));
      } else {
        todo.push(job);
      }
    }
    if (todo.length > 0) {
      const pool = await this.#poolFor(config);
      const bar = this.log.progress("prove", jobs.length, "proofs");
      let n = jobs.length - todo.length;
      bar.update(n);
      let first = true;
      const started = Date.now();
      let chain = Promise.resolve();
      await Promise.all(todo.map(async (job) => {
        const input = job.kind === "chunk" ? result.chunkWitnesses[job.j]!.input : result.decision.input;
        const p: GeneratedProof = await pool.prove(job.kind, input);
        const want = expected(job.kind, job.j);
        if (JSON.stringify(p.publicSignals) !== JSON.stringify(want)) {
          throw new AggregatorError("proof", `the ${job.kind} proof ${job.j} has public signals ${p.publicSignals.join(",")}, expected ${want.join(",")}`);
        }
        if (!(await pool.verify(job.kind, p.publicSignals, p.proof))) {
          throw new AggregatorError("proof", `the ${job.kind} proof ${job.j} does not verify with the local verification key`);
        }
        await writeFileAtomic(fileOf(job.kind, job.j), toJson({ proof: p.proof, publicSignals: p.publicSignals, ms: p.ms } satisfies ProofFile));
        words.set(`${job.kind}:${job.j}`, proofWords(p.proof));
        bar.update(++n, { info: `${job.kind} ${job.kind === "chunk" ? job.j : ""}` });
        this.log.log("debug", "proof.done", `${job.kind} proof ${job.j} in ${p.ms} ms`, { circuit: job.kind, index: job.j, ms: p.ms });
        if (first) {
          first = false;
          chain = chain.then(() => this.#checkpoint("after-first-proof"));
          await chain;
        }
      }));
      bar.stop();
      this.log.log("info", "round.proved", `${todo.length} proof(s) made and verified locally in ${((Date.now() - started) / 1000).toFixed(1)} s (${jobs.length - todo.length} reused)`, {
        proofs: todo.length, reused: jobs.length - todo.length, ms: Date.now() - started,
      });
      await this.#checkpoint("after-prove");
    }
    return {
      chunks: result.chunkWitnesses.map((_, j) => words.get(`chunk:${j}`) as bigint[]),
      decision: words.get("decision:0") as bigint[],
    };
  }

  async #pin(project: ProjectInfo, config: CircuitConfig, result: RoundResult, files: RoundFiles): Promise<string> {
    const have = await files.read<{ cid: string }>("model.json");
    const scale = Number(project.params.quantizationScale);
    const weights = dequantizeModel(result.newModel, scale);
    if (globalModelCommitment(weights, scale, config) !== result.newModelCommitment) {
      throw new AggregatorError("model", "internal: the published weights do not quantize to the proven model commitment");
    }
    const bytes = encodeWeights(weights);
    let cid: string;
    try {
      cid = await this.o.store.put(bytes); // idempotent: same bytes, same CID (re-pinned after a crash)
    } catch (err) {
      throw new AggregatorError("ipfs", `cannot pin the new global model: ${(err as Error).message}. Is IPFS reachable?`, { cause: err });
    }
    if (have !== undefined && have.cid !== cid) throw new AggregatorError("internal", `the new model's CID ${cid} differs from the recorded ${have.cid}`);
    if (have === undefined) {
      await files.write("model.json", { cid, bytes: bytes.length, newModelCommitment: result.newModelCommitment.toString() });
      this.log.log("info", "model.pinned", `new global model pinned: ${cid}`, { cid });
      await this.#checkpoint("after-pin");
    }
    return cid;
  }

  async #submit(project: ProjectInfo, r: number, result: RoundResult, proofs: { chunks: bigint[][]; decision: bigint[] }, cid: string, files: RoundFiles): Promise<DoneFile> {
    const projectId = project.id;
    const chain = this.o.chain;
    const txs: TxsFile = (await files.read<TxsFile>("txs.json")) ?? { batches: [] };
    // A transaction sent before a crash may still be pending: let it land, then ask the chain.
    await chain.waitForPending(this.o.address);
    if ((await chain.roundEnd(projectId, r)) !== undefined) return this.#recordEnd(projectId, r, files, txs.finalize);
    const roundNow = await chain.client.getCurrentRound(projectId);
    if (roundNow.round !== r) throw new AggregatorError("internal", `round ${r} is no longer open (round ${roundNow.round} is) but no event says how it ended`);
    const chunkArgs: ChunkProofArg[] = proofs.chunks.map((proof, j) => ({ proof, accOut: result.chunkWitnesses[j]!.publicSignals[1] }));
    // Continue the on-chain accumulator if it is ours, else restart at chunk 0.
    let next = roundNow.chunksVerified;
    if (next > 0) {
      const ours = result.chunkWitnesses[next - 1]?.publicSignals[1];
      if (ours !== roundNow.accumulator) next = 0;
    }
    const batch = Math.max(1, this.o.chunkBatch ?? 16);
    const confirmations = this.o.confirmations ?? 1;
    // Leave at most one batch for finalizeRound itself.
    while (result.chunks - next > batch) {
      const part = chunkArgs.slice(next, next + batch);
      const tx = await chain.submitChunkProofs(projectId, r, next, part);
      txs.batches.push({ firstChunk: next, count: part.length, txHash: tx.hash });
      await files.write("txs.json", txs);
      this.log.log("info", "tx.chunks", `chunk proofs ${next}..${next + part.length - 1} sent: ${tx.hash}`, { firstChunk: next, count: part.length, txHash: tx.hash });
      await this.#checkpoint("after-chunk-batch-sent");
      await chain.wait(tx, confirmations);
      next += part.length;
    }
    const nextHyperParams = await nextRoundHyperParams(project, r, this.o.lrDecay ?? 1, files, this.log);
    const tx = await chain.finalizeRound(projectId, r, next, chunkArgs.slice(next), {
      newModelCommitment: result.newModelCommitment, outcomes: result.outcome, proof: proofs.decision, newModelCid: cid, nextHyperParams,
    });
    await this.#checkpoint("after-finalize-sent");
    await files.write("txs.json", { ...txs, finalize: tx.hash } satisfies TxsFile);
    this.log.log("info", "tx.finalize", `finalizeRound sent: ${tx.hash}`, { txHash: tx.hash, chunksInTx: result.chunks - next });
    const receipt = await chain.wait(tx, confirmations);
    this.log.log("debug", "tx.finalize.mined", `finalizeRound mined in block ${receipt.blockNumber}, ${receipt.gasUsed} gas`, { gasUsed: receipt.gasUsed, blockNumber: receipt.blockNumber });
    return this.#recordEnd(projectId, r, files, tx.hash);
  }

  // -------------------------------------------------------------------------------------------
  // Loop, status, prove-only
  // -------------------------------------------------------------------------------------------

  /** Runs rounds until the project ends (or `once`: until one round is done), polling chain time. */
  async run(projectId: bigint, options: { once?: boolean; signal?: AbortSignal } = {}): Promise<RoundOutcome> {
    let lastWaiting = "";
    for (;;) {
      if (options.signal?.aborted) return { kind: "waiting", round: -1, reason: "stopped" };
      const out = await this.runRound(projectId);
      if (out.kind === "ended") return out;
      if (out.kind === "done") {
        if (options.once) return out;
        // the next round opens in the same transaction; loop at once
        const p = await this.o.chain.client.getProject(projectId);
        if (p.currentRound === out.round && p.status === ProjectStatus.Active) await this.#sleep(options.signal);
        continue;
      }
      if (out.reason !== lastWaiting) {
        this.log.log("info", "round.waiting", out.reason, { round: out.round });
        lastWaiting = out.reason;
      }
      await this.#sleep(options.signal);
    }
  }

  #sleep(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, this.o.pollIntervalMs ?? 5_000);
      signal?.addEventListener("abort", () => { clearTimeout(t); resolve(); }, { once: true });
    });
  }

  /** What the data folder and the chain say about a round (default: the open one). */
  async status(projectId: bigint, round?: number): Promise<Record<string, unknown>> {
    const { project, round: open, chainTime } = await this.o.chain.client.getOpenRound(projectId);
    const r = round ?? open.round;
    const files = new RoundFiles(this.o.dataDir, projectId, r);
    const [slots, openings, roundFile, model, txs, done] = await Promise.all([
      files.read<{ slots: CollectedSlot[] }>("slots.json"), files.read<{ openings: SlotOpening[] }>("openings.json"),
      files.read<RoundFile>("round.json"), files.read<{ cid: string }>("model.json"), files.read<TxsFile>("txs.json"), files.read<DoneFile>("done.json"),
    ]);
    let proofs = 0;
    if (roundFile !== undefined) {
      for (let j = 0; j < roundFile.chunks; j++) if (await readJson(files.chunkProofFile(j)) !== undefined) proofs++;
      if (await readJson(files.decisionProofFile()) !== undefined) proofs++;
    }
    const step = done !== undefined ? `done (${done.kind})` : txs?.finalize !== undefined ? "finalize sent" : model !== undefined ? "pinned"
      : roundFile !== undefined && proofs === roundFile.chunks + 1 ? "proved" : roundFile !== undefined ? `proving (${proofs}/${roundFile.chunks + 1})`
        : openings !== undefined ? "opened" : slots !== undefined ? "collected" : "not started";
    return {
      project: projectId, status: project.statusName, openRound: open.round, round: r, chainTime,
      submissionDeadline: r === open.round ? open.submissionDeadline : undefined, aggregationDeadline: r === open.round ? open.aggregationDeadline : undefined,
      submissions: r === open.round ? open.submissions : slots?.slots.length, chunksVerifiedOnChain: r === open.round ? open.chunksVerified : undefined,
      step, excluded: openings?.openings.filter((o) => o.status === "excluded").map((o) => ({ slot: o.slot, reason: o.reason })),
      slotStatus: roundFile?.status, scores: roundFile?.scores, modelCid: model?.cid, txs, done, dataDir: files.dir,
    };
  }

  /**
   * Collects, opens, computes and proves round `round` (the open round, after its submission
   * window) without submitting anything; returns the folder with the proofs.
   */
  async proveRound(projectId: bigint, round: number): Promise<{ dir: string; chunks: number }> {
    const { project, round: open, chainTime } = await this.o.chain.client.getOpenRound(projectId);
    if (open.round !== round) throw new AggregatorError("round", `round ${round} is not the open round of project ${projectId} (round ${open.round} is): only the open round can be proven (its commitments and model are on chain)`);
    if (chainTime < open.submissionDeadline) throw new AggregatorError("round", `the submission window of round ${round} is open for ${open.submissionDeadline - chainTime} s more; prove it after it closes`);
    const config = await this.circuitConfig(project);
    const files = new RoundFiles(this.o.dataDir, projectId, round);
    const slots = await this.#timed("collect", () => this.#collect(projectId, round, open, files));
    const openings = await this.#timed("open", () => this.#open(project, round, config, slots, files));
    const { result } = await this.#timed("compute", () => this.#compute(project, round, config, openings, files));
    await this.#timed("prove", () => this.#prove(config, result, files));
    return { dir: files.dir, chunks: result.chunks };
  }
}

/** Reads a 32-byte X25519 secret key file (raw 32 bytes, or 64 hex characters with optional 0x). */
export async function readSecretKeyFile(file: string): Promise<Uint8Array> {
  const raw = await readFile(file);
  if (raw.length === 32) return new Uint8Array(raw);
  const text = raw.toString("utf8").trim().replace(/^0x/, "");
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Uint8Array.from(Buffer.from(text, "hex"));
  throw new AggregatorError("config", `${file} is not an X25519 secret key (32 raw bytes or 64 hex characters)`);
}

