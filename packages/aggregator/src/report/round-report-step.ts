/**
 * The node's round-report step, run after a round is finalized on chain (never before: it must
 * not delay the proofs or the finalization). It reads the round's files (openings, input, result,
 * pinned model), evaluates the coalitions on the owner's validation set with the trainer's
 * TF.js code, writes `report.json` atomically in the round folder, pins it and logs its CID.
 *
 * Best effort: any failure is a warning and the round stays finalized. A round folder that
 * already has `report.json` is skipped, so a restart does not redo (or change) the report; the
 * sampling is seeded from the round's ctx, so a recomputation gives the same values.
 *
 * TF.js is imported on first use only, so an aggregator without a validation set never loads it.
 */
import path from "node:path";
import { SlotStatus, slotStatusName } from "@fedmarket/core";
import {
  blobFetchOptions,
  loadFrozenWeights,
  parseModelSpec,
  writeFileAtomic,
  type BlobStore,
  type ModelSpec,
  type NodeLogger,
} from "@fedmarket/protocol";
import type { Dataset, TF } from "@fedmarket/ml";
import type { RoundFile, RoundInputFile } from "../steps/compute.ts";
import type { OpeningsFile } from "../steps/open.ts";
import type { ModelFile } from "../steps/pin.ts";
import type { DoneFile } from "../steps/settle.ts";
import { bigs, readJson, toJson, type RoundFiles } from "../store.ts";
import { computeRoundReport, type ReportSlot, type RoundReport } from "./round-report.ts";

export const REPORT_FILE = "report.json";
export const DEFAULT_VALIDATION_LIMIT = 1000;

/** What the aggregator node calls once a round is finalized. */
export interface RoundReportStep {
  afterFinalize(projectId: bigint, round: number, files: RoundFiles): Promise<void>;
}

export interface RoundReporterOptions {
  /** The owner's validation data: IDX folder, PNG folder, .csv or .jsonl (the trainer's loaders). */
  readonly validationFile: string;
  /** Samples used (the first n of the file; default 1000). */
  readonly validationLimit?: number;
  /** GTG-Shapley permutation cap (default 100). */
  readonly maxPermutations?: number;
  readonly store: BlobStore;
  readonly logger: NodeLogger;
  /** The project's model spec CID (from the chain). */
  readonly specCidOf: (projectId: bigint) => Promise<string>;
  readonly ipfsTimeoutMs?: number;
  readonly ipfsRetries?: number;
}

type TrainerModule = typeof import("@fedmarket/ml");

interface Evaluator {
  readonly spec: ModelSpec;
  readonly validation: Dataset;
  accuracy(weights: Float32Array): number;
}

export class RoundReporter implements RoundReportStep {
  readonly #o: RoundReporterOptions;
  #trainer: Promise<{ module: TrainerModule; tf: TF }> | undefined;
  readonly #evaluators = new Map<string, Promise<Evaluator>>();

  constructor(options: RoundReporterOptions) {
    this.#o = options;
  }

  async afterFinalize(projectId: bigint, round: number, files: RoundFiles): Promise<void> {
    const log = this.#o.logger;
    try {
      const file = files.file(REPORT_FILE);
      if ((await readJson(file)) !== undefined) {
        log.log("debug", "report.exists", `round ${round}: ${file} exists; not recomputed`, { round, file });
        return;
      }
      const report = await this.build(projectId, round, files);
      if (report === undefined) return;
      const text = toJson(report);
      const cid = await this.#o.store.put(new TextEncoder().encode(text));
      await writeFileAtomic(file, text);
      log.log(
        "info",
        "report.pinned",
        `round ${round}: round report pinned: ${cid} (UNPROVEN Shapley / leave-one-out estimates, accuracy ${report.accuracy.prev.toFixed(4)} -> ${report.accuracy.new.toFixed(4)}, ${report.gtg.permutations} permutation(s), ${report.ms} ms)`,
        {
          round,
          cid,
          file,
          players: report.players.length,
          permutations: report.gtg.permutations,
          converged: report.gtg.converged,
          ms: report.ms,
        },
      );
    } catch (err) {
      log.log(
        "warn",
        "report.failed",
        `round ${round}: the round report (unproven Shapley estimates) could not be made: ${(err as Error).message}. The round itself is finalized; delete nothing, the next round is not affected`,
        {
          round,
          error: err,
        },
      );
    }
  }

  /** The report of a finalized round from its files; undefined (logged) when this node did not compute the round. */
  async build(projectId: bigint, round: number, files: RoundFiles): Promise<RoundReport | undefined> {
    const [input, result, openings, model, done] = await Promise.all([
      files.read<RoundInputFile>("input.json"),
      files.read<RoundFile>("round.json"),
      files.read<OpeningsFile>("openings.json"),
      files.read<ModelFile>("model.json"),
      files.read<DoneFile>("done.json"),
    ]);
    if (input === undefined || result === undefined || openings === undefined || model === undefined) {
      this.#o.logger.log("debug", "report.skipped", `round ${round}: no round report (this node did not compute the round)`, { round });
      return undefined;
    }
    if (done?.newModelCommitment !== undefined && done.newModelCommitment !== result.newModelCommitment) {
      this.#o.logger.log(
        "warn",
        "report.skipped",
        `round ${round}: no round report: the model finalized on chain is not the one this node computed`,
        { round },
      );
      return undefined;
    }
    const evaluator = await this.#evaluator(await this.#o.specCidOf(projectId));
    const { seededRandom } = (await this.#loadTrainer()).module;
    const duplicated = (c: string): boolean => result.commitments.filter((x) => x === c).length > 1;
    const slots: ReportSlot[] = openings.openings.map((o) => ({
      slot: o.slot,
      trainer: o.trainer,
      status: slotStatusName(result.status[o.slot] ?? SlotStatus.Empty),
      provenScore: result.scores[o.slot] ?? "0",
      // Players are the valid updates: opened and not sharing their commitment with another slot.
      ...(o.status === "opened" && !duplicated(o.commitment) ? { update: bigs(o.update) } : {}),
    }));
    return computeRoundReport({
      project: projectId.toString(),
      round,
      modelCid: model.cid,
      prevModel: bigs(input.prevModel),
      scale: evaluator.spec.quantization.scale,
      slots,
      validation: { samples: evaluator.validation.count, source: path.basename(evaluator.validation.source) },
      accuracy: (w) => evaluator.accuracy(w),
      // ctx binds chain, market, project, round and f: a per-round seed every restart reproduces.
      random: seededRandom(Number(BigInt(result.ctx) % 2n ** 32n)),
      gtg: this.#o.maxPermutations === undefined ? {} : { maxPermutations: this.#o.maxPermutations },
    });
  }

  #loadTrainer(): Promise<{ module: TrainerModule; tf: TF }> {
    this.#trainer ??= (async () => {
      const module = await import("@fedmarket/ml");
      const { tf } = await module.selectBackend({ log: (m) => this.#o.logger.log("debug", "report.backend", m) });
      return { module, tf };
    })();
    return this.#trainer;
  }

  #evaluator(specCid: string): Promise<Evaluator> {
    let e = this.#evaluators.get(specCid);
    if (e === undefined) {
      e = this.#makeEvaluator(specCid);
      this.#evaluators.set(specCid, e);
      e.catch(() => this.#evaluators.delete(specCid)); // retry next round
    }
    return e;
  }

  async #makeEvaluator(specCid: string): Promise<Evaluator> {
    const bytes = await this.#o.store.get(specCid, blobFetchOptions(this.#o));
    const { spec, summary } = parseModelSpec(new TextDecoder().decode(bytes), `model spec ${specCid}`);
    // A spec that freezes layers names their weights: the accuracy is that of backbone + head.
    const frozenWeights = await loadFrozenWeights(spec, summary, (cid) => this.#o.store.get(cid, blobFetchOptions(this.#o)));
    const { module, tf } = await this.#loadTrainer();
    const all = await module.loadDataset(this.#o.validationFile, { inputShape: spec.inputShape, labels: spec.labels });
    const limit = this.#o.validationLimit ?? DEFAULT_VALIDATION_LIMIT;
    // The first `limit` samples: deterministic, so a restart evaluates the same set.
    const validation =
      all.count <= limit
        ? all
        : module.selectSamples(
            all,
            Array.from({ length: limit }, (_, i) => i),
          );
    return {
      spec,
      validation,
      accuracy: (w) => module.evaluateAccuracy(tf, spec, w, validation, frozenWeights === undefined ? {} : { frozenWeights }),
    };
  }
}
