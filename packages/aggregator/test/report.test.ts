/**
 * The unproven round report: GTG-Shapley against exact Shapley values on small synthetic games
 * (additive and not), its truncation paths and determinism, leave-one-out, and the report step of
 * the node on a tiny real model (logistic regression on 3 classes, 30 CSV samples, TF.js, an
 * embedded Helia store). No proofs, no chain: the step reads round files as the node writes them.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { HeliaBlobStore, memoryLogger } from "@fedmarket/protocol";
import { seededRandom } from "@fedmarket/ml";
import { exactShapley, gtgShapley, type Coalition, type Utility } from "../src/report/gtg-shapley.ts";
import { leaveOneOut } from "../src/report/leave-one-out.ts";
import { ROUND_REPORT_SCHEMA, type RoundReport } from "../src/report/round-report.ts";
import { RoundReporter } from "../src/report/round-report-step.ts";
import { RoundFiles } from "../src/store.ts";
import type { OpeningsFile, SlotOpening } from "../src/steps/open.ts";

const has = (s: Coalition, i: number): boolean => s.includes(i);
const close = (a: readonly number[], b: readonly number[], tol: number, what: string): void => {
  assert.equal(a.length, b.length, what);
  a.forEach((x, i) => assert.ok(Math.abs(x - (b[i] as number)) <= tol, `${what}[${i}]: ${x} vs ${b[i]} (tolerance ${tol})`));
};
const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** Additive: every marginal is the player's weight, so any permutation gives the exact values. */
const WEIGHTS = [0.1, 0.3, -0.05, 0.2];
const additive: Utility = async (s) => 0.4 + sum(s.map((i) => WEIGHTS[i] as number));

/**
 * Not additive: players 0 and 1 are redundant copies (either one brings +0.3), 2 and 3 only help
 * together (+0.1), 3 alone hurts (-0.05).
 */
const redundant: Utility = async (s) =>
  0.5 + (has(s, 0) || has(s, 1) ? 0.3 : 0) + (has(s, 2) && has(s, 3) ? 0.1 : 0) - (has(s, 3) && !has(s, 2) ? 0.05 : 0);

test("GTG-Shapley equals the exact values of an additive game and converges early", async () => {
  const exact = await exactShapley(4, additive);
  close(exact, WEIGHTS, 1e-12, "exact");
  const gtg = await gtgShapley(4, additive, { random: seededRandom(1), eps: 0 });
  close(gtg.values, WEIGHTS, 1e-12, "gtg");
  assert.equal(gtg.converged, true);
  assert.ok(gtg.permutations < 100, `${gtg.permutations} permutations`);
  assert.equal(gtg.permutations % 4, 0, "convergence is checked at the end of full cycles");
});

test("GTG-Shapley approximates the exact values of a non-additive game; values sum to U(all) - U(none)", async () => {
  const exact = await exactShapley(4, redundant);
  // hand check: 0 and 1 share the +0.3; 2 and 3 share +0.1, and 3's -0.05 alone is split too
  close(exact, [0.15, 0.15, 0.05 + 0.025, 0.05 - 0.025], 1e-12, "exact");
  const gtg = await gtgShapley(4, redundant, { random: seededRandom(7), eps: 0, tolerance: 0, maxPermutations: 400 });
  assert.equal(gtg.permutations, 400);
  assert.equal(gtg.converged, false);
  close(gtg.values, exact, 0.02, "gtg vs exact");
  assert.ok(Math.abs(sum(gtg.values) - (gtg.full - gtg.empty)) < 1e-12, "efficiency");
  assert.ok(gtg.utilityEvaluations <= 16);
  const defaults = await gtgShapley(4, redundant, { random: seededRandom(7), eps: 0 });
  assert.equal(defaults.converged, true);
  close(defaults.values, exact, 0.05, "gtg with default convergence vs exact");
});

test("leave-one-out values", async () => {
  close(await leaveOneOut(4, additive), WEIGHTS, 1e-12, "additive");
  // redundant copies lose nothing alone; 2 without 3 loses the pair bonus and brings the penalty
  close(await leaveOneOut(4, redundant), [0, 0, 0.15, 0.1], 1e-12, "redundant");
  assert.deepEqual(await leaveOneOut(0, additive), []);
});

test("between-round truncation: a round that changes nothing within eps values everyone 0", async () => {
  const calls: Coalition[] = [];
  const flat: Utility = async (s) => {
    calls.push(s);
    return 0.5 + (has(s, 1) ? 0.0004 : 0);
  };
  const gtg = await gtgShapley(3, flat, { random: seededRandom(3), eps: 0.001 });
  assert.deepEqual(gtg.values, [0, 0, 0]);
  assert.equal(gtg.truncatedRound, true);
  assert.equal(gtg.permutations, 0);
  assert.deepEqual(calls, [[], [0, 1, 2]]);
});

test("within-permutation truncation: once a prefix reaches U(all), the rest is not evaluated and gets 0", async () => {
  const calls: Coalition[] = [];
  const dominant: Utility = async (s) => {
    calls.push(s);
    return has(s, 0) ? 0.8 : 0.5;
  };
  // the first permutation of the guided sampling starts with player 0
  const one = await gtgShapley(3, dominant, { random: seededRandom(5), eps: 0.001, maxPermutations: 1 });
  assert.deepEqual(calls, [[], [0, 1, 2], [0]]);
  close(one.values, [0.3, 0, 0], 1e-12, "one permutation");
  assert.equal(one.utilityEvaluations, 3);
  const many = await gtgShapley(3, dominant, { random: seededRandom(5), eps: 0.001 });
  close(many.values, [0.3, 0, 0], 1e-12, "dominant player");
});

test("determinism: the same seed gives the same estimate and the same utility calls", async () => {
  const run = async (seed: number): Promise<{ values: number[]; calls: string[] }> => {
    const calls: string[] = [];
    const g = await gtgShapley(
      4,
      async (s) => {
        calls.push(s.join(","));
        return redundant(s);
      },
      { random: seededRandom(seed), eps: 0, tolerance: 0, maxPermutations: 8 },
    );
    return { values: g.values, calls };
  };
  assert.deepEqual(await run(42), await run(42));
  assert.notDeepEqual((await run(42)).calls, (await run(43)).calls);
});

// ---------------------------------------------------------------------------------------------
// The report step on a tiny real model
// ---------------------------------------------------------------------------------------------

const LABELS = ["a", "b", "c"];
const FEATURES = 4;
const SCALE = 4096;
const SPEC = {
  format: "fedmarket-model-spec/1",
  name: "logistic-4-3",
  inputShape: [FEATURES],
  labels: LABELS,
  layers: [{ type: "dense", units: LABELS.length, activation: "softmax" }],
  training: { epochs: 1, batchSize: 8, learningRate: 0.5, optimizer: "sgd" },
  quantization: { scale: SCALE, clipBound: 1 },
  circuit: { kMax: 4, chunk: 16, updateBits: 16, modelBits: 32 },
};
const D = FEATURES * LABELS.length + LABELS.length; // kernel [4, 3] row-major, then bias

/** A quantized delta whose kernel maps feature c to class c with weight `w`. */
function diagonalDelta(w: number): string[] {
  const q = new Array<string>(D).fill("0");
  for (let c = 0; c < LABELS.length; c++) q[c * LABELS.length + c] = String(Math.round(w * SCALE));
  return q;
}

function validationCsv(n: number): string {
  let s = 11;
  const rnd = (): number => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  const rows = [[...Array.from({ length: FEATURES }, (_, j) => `f${j}`), "label"].join(",")];
  for (let i = 0; i < n; i++) {
    const label = i % LABELS.length;
    rows.push(
      [...Array.from({ length: FEATURES }, (_, j) => ((j === label ? 1 : 0) + (rnd() - 0.5) * 0.6).toFixed(4)), LABELS[label]].join(","),
    );
  }
  return `${rows.join("\n")}\n`;
}

let tmp: string;
let store: HeliaBlobStore;
let specCid: string;

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "fedmarket-report-"));
  store = await HeliaBlobStore.create({ dataDir: path.join(tmp, "ipfs") });
  specCid = await store.put(new TextEncoder().encode(JSON.stringify(SPEC)));
  await writeFile(path.join(tmp, "validation.csv"), validationCsv(30));
  await writeFile(path.join(tmp, "bad-labels.csv"), "f0,f1,f2,f3,label\n1,0,0,0,z\n");
});

after(async () => {
  await store?.close();
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

/** The files the node has written when a round of 4 slots is finalized. */
async function writeRound(round: number): Promise<RoundFiles> {
  const files = new RoundFiles(path.join(tmp, "agg"), 1n, round);
  const trainer = (k: number): string => `0x${String(k + 2).repeat(40)}`;
  const opened = (slot: number, update: string[]): SlotOpening => ({
    slot,
    trainer: trainer(slot),
    commitment: String(1000 + slot),
    cid: `cid-${slot}`,
    txHash: `0x${slot}`,
    blockNumber: 5,
    status: "opened",
    update,
    sealed: { ephemeral: ["1", "2"], chunks: [] }, // the report does not read it
  });
  await files.write("input.json", { prevModel: new Array<string>(D).fill("0"), f: 1, modelCid: "prev-cid" });
  await files.write("openings.json", {
    openings: [
      opened(0, diagonalDelta(0.5)),
      opened(1, diagonalDelta(0.4)),
      opened(2, diagonalDelta(-0.6)),
      {
        slot: 3,
        trainer: trainer(3),
        commitment: "1003",
        cid: "cid-3",
        txHash: "0x3",
        blockNumber: 5,
        status: "unavailable",
        reason: "missing",
        detail: "not pinned",
      },
    ],
  } satisfies OpeningsFile);
  await files.write("round.json", {
    ctx: "123456789012345678901234567890",
    status: [1, 1, 2, 3],
    scores: ["4096", "3500", "0", "0"],
    commitments: ["1000", "1001", "1002", "1003"],
    newModelCommitment: "777",
  });
  await files.write("model.json", { cid: "new-model-cid" });
  await files.write("done.json", { kind: "finalized", by: "self", newModelCommitment: "777" });
  return files;
}

test("round report of a tiny real model: schema, unproven label, pinned, skipped on restart, failures are warnings", async () => {
  const logger = memoryLogger();
  const reporter = new RoundReporter({
    validationFile: path.join(tmp, "validation.csv"),
    store,
    logger,
    specCidOf: async () => specCid,
    maxPermutations: 30,
  });
  const files = await writeRound(0);
  await reporter.afterFinalize(1n, 0, files);
  const failed = logger.records.find((r) => r.event === "report.failed");
  assert.equal(failed, undefined, failed?.msg);
  const text = await readFile(files.file("report.json"), "utf8");
  const report = JSON.parse(text) as RoundReport;
  assert.equal(report.schema, ROUND_REPORT_SCHEMA);
  assert.equal(report.unproven, true);
  assert.match(report.note, /not proven/);
  assert.match(report.note, /do not move money/);
  assert.equal(report.project, "1");
  assert.equal(report.round, 0);
  assert.equal(report.modelCid, "new-model-cid");
  assert.deepEqual(report.validation, { samples: 30, source: "validation.csv" });
  assert.deepEqual(
    report.players.map((p) => [p.slot, p.status, p.provenScore]),
    [
      [0, "inlier", "4096"],
      [1, "inlier", "3500"],
      [2, "not-aggregated", "0"],
      [3, "excluded", "0"],
    ],
  );
  const [good, alsoGood, flipped, excluded] = report.players;
  assert.equal(excluded?.shapley, null);
  assert.equal(excluded?.leaveOneOut, null);
  assert.ok((good?.shapley as number) > 0 && (alsoGood?.shapley as number) > 0, JSON.stringify(report.players));
  assert.ok((flipped?.shapley as number) < (good?.shapley as number), JSON.stringify(report.players));
  // the zero model predicts class 0 for everything: one third; the inliers' model separates the classes
  assert.ok(Math.abs(report.accuracy.prev - 1 / 3) < 1e-9, `prev ${report.accuracy.prev}`);
  assert.ok(report.accuracy.new > 0.9, `new ${report.accuracy.new}`);
  const shapleySum = sum(report.players.map((p) => p.shapley ?? 0));
  assert.ok(Math.abs(shapleySum - (report.accuracy.allValid - report.accuracy.prev)) < 1e-9, "efficiency");
  assert.ok(report.gtg.utilityEvaluations <= 8 && report.gtg.permutations >= 3);

  const pinned = logger.records.find((r) => r.event === "report.pinned");
  assert.ok(pinned !== undefined && /round report pinned/.test(pinned.msg));
  const cid = pinned.fields.cid as string;
  assert.equal(new TextDecoder().decode(await store.get(cid)), text);

  // restart: the existing report is kept as is
  await reporter.afterFinalize(1n, 0, files);
  assert.equal(await readFile(files.file("report.json"), "utf8"), text);
  assert.ok(logger.records.some((r) => r.event === "report.exists"));
  // recomputing gives the same values (seeded from the round's ctx); only the timing differs
  const again = await reporter.build(1n, 0, files);
  assert.deepEqual({ ...again, ms: 0 }, { ...report, ms: 0 });

  // a round this node did not compute: nothing to report
  const other = new RoundFiles(path.join(tmp, "agg"), 1n, 5);
  await reporter.afterFinalize(1n, 5, other);
  assert.ok(logger.records.some((r) => r.event === "report.skipped"));

  // bad validation data: a warning, never an exception
  const badLogger = memoryLogger();
  const bad = new RoundReporter({
    validationFile: path.join(tmp, "bad-labels.csv"),
    store,
    logger: badLogger,
    specCidOf: async () => specCid,
  });
  const files1 = await writeRound(1);
  await bad.afterFinalize(1n, 1, files1);
  const warning = badLogger.records.find((r) => r.event === "report.failed");
  assert.equal(warning?.level, "warn");
  await assert.rejects(readFile(files1.file("report.json")), { code: "ENOENT" });
});
