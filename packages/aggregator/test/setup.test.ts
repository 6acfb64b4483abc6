/**
 * Setup before the window: the node finds its circuit artifacts and never makes them, so `run`
 * refuses to start (exit 2) when they are missing, naming `fedmarket-aggregator setup`; what the
 * setup plans and prints; and the waits' heartbeat and chain-stall warning in the node's loop.
 * The chain and IPFS are stand-ins here (one layer: the node); the end-to-end runs are in
 * packages/testkit (CLI `setup`, `accept` with its setup, `run`).
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Signer } from "ethers";
import { publicKeyOf } from "@fedmarket/core";
import {
  EXIT_CANNOT_RUN,
  EXIT_FAILED,
  memoryLogger,
  ProjectStatus,
  type BlobStore,
  type ProjectInfo,
  type RoundInfo,
} from "@fedmarket/protocol";
import { K4_TEST_SPEC } from "@fedmarket/protocol/test-specs";
import { AggregatorNode } from "../src/aggregator-node.ts";
import { ArtifactsError, circuitArtifactsStatus, resolveCircuits } from "../src/artifacts.ts";
import type { AggregatorChain } from "../src/chain.ts";
import { AggregatorError, exitCodeOf } from "../src/errors.ts";
import { heartbeatLine, planDevSetup, prepareCircuits, stepLabel } from "../src/prepare.ts";

const SELF = `0x${"aa".repeat(20)}`;
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
const tempDir = async (): Promise<string> => {
  const d = await mkdtemp(path.join(os.tmpdir(), "fedmarket-agg-setup-"));
  dirs.push(d);
  return d;
};

/** The K4/C16 test circuits (D = 12 x 4 + 4 = 52). */
const K4_C16 = K4_TEST_SPEC.circuit;

/** Fake circuit files in `dir` for `names` (what `--circuits` points at). */
async function fakeCircuits(dir: string, names: readonly string[]): Promise<void> {
  for (const n of names) {
    for (const ext of [".wasm", ".zkey"]) await writeFile(path.join(dir, `${n}${ext}`), "");
    await writeFile(path.join(dir, `${n}.vkey.json`), "{}");
  }
}

interface Seen {
  /** `getOpenRound` calls so far. */
  polls: number;
}

/**
 * A node for project 1 (Active, this node its aggregator, K4_TEST_SPEC): round 2 with 3 revealed
 * updates, chain time `chainTime` (its commit window ends at 100, its reveal window at 150).
 */
async function nodeFor(o: {
  chainTime: number;
  circuit?: typeof K4_C16;
  circuitsDir?: string;
  now?: () => number;
  logger?: ReturnType<typeof memoryLogger>;
  onPoll?: () => void;
}): Promise<{ node: AggregatorNode; seen: Seen }> {
  const dataDir = await tempDir();
  const spec = { ...K4_TEST_SPEC, circuit: o.circuit ?? K4_C16 };
  const project = {
    id: 1n,
    status: ProjectStatus.Active,
    statusName: "Active",
    aggregator: SELF,
    specCid: "spec",
    verifier: `0x${"cc".repeat(20)}`,
    currentRound: 2,
    aggregatorSealKey: publicKeyOf(1n),
    params: { modelSize: 52, quantizationScale: 4096n, clipBound: 4096n, byzantineTolerance: 0 },
  } as unknown as ProjectInfo;
  const round = {
    round: 2,
    submissions: 3,
    seed: 1n,
    submissionDeadline: 100,
    revealDeadline: 150,
    aggregationDeadline: 400,
  } as unknown as RoundInfo;
  const seen: Seen = { polls: 0 };
  const chain = {
    client: {
      getProject: async () => project,
      getOpenRound: async () => {
        seen.polls++;
        o.onPoll?.();
        return { project, round, chainTime: o.chainTime };
      },
      verifierConfig: async () => ({ maxTrainers: spec.circuit.kMax, chunkSize: spec.circuit.chunk }),
    },
  } as unknown as AggregatorChain;
  const store = { get: async () => new TextEncoder().encode(JSON.stringify(spec)) } as unknown as BlobStore;
  const node = new AggregatorNode({
    chain,
    signer: {} as Signer,
    address: SELF,
    chainId: 31337n,
    store,
    dataDir,
    logger: o.logger ?? memoryLogger(),
    sealSecret: 1n,
    pollIntervalMs: 1,
    ...(o.circuitsDir === undefined ? {} : { circuitsDir: o.circuitsDir }),
    ...(o.now === undefined ? {} : { now: o.now }),
  });
  return { node, seen };
}

const artifactsRefusal = (pattern: RegExp) => (err: unknown) =>
  err instanceof AggregatorError && err.code === "artifacts" && pattern.test(err.message);

test("# setup: a missing --circuits file is named; resolveCircuits makes nothing and refuses", async () => {
  const dir = await tempDir();
  const status = await circuitArtifactsStatus(K4_C16, { dir });
  assert.deepEqual(status.names, { chunk: "chunk_k4_c16", decision: "decision_k4_c16" });
  assert.deepEqual(status.missing, [
    `chunk_k4_c16: chunk_k4_c16.wasm, chunk_k4_c16.zkey, chunk_k4_c16.vkey.json missing in ${dir}`,
    `decision_k4_c16: decision_k4_c16.wasm, decision_k4_c16.zkey, decision_k4_c16.vkey.json missing in ${dir}`,
  ]);
  await fakeCircuits(dir, ["chunk_k4_c16"]);
  await assert.rejects(
    resolveCircuits(K4_C16, { dir }),
    (err: unknown) => err instanceof ArtifactsError && err.missing.length === 1 && /decision_k4_c16\.wasm/.test(err.message),
  );
  await assert.rejects(prepareCircuits(K4_C16, memoryLogger(), { dir }), /--circuits .* lacks files: decision_k4_c16/);
  await fakeCircuits(dir, ["decision_k4_c16"]);
  assert.equal((await resolveCircuits(K4_C16, { dir })).dev, false);
  const log = memoryLogger();
  assert.equal((await prepareCircuits(K4_C16, log, { dir })).steps, 0);
  assert.match(log.records.at(-1)?.msg ?? "", /has every file of chunk_k4_c16 and decision_k4_c16: nothing to prepare/);
});

test("# setup: a configuration with no circuit in the repository cannot be set up (named, with --circuits as the way out)", async () => {
  await assert.rejects(
    prepareCircuits({ ...K4_C16, chunk: 8 }, memoryLogger()),
    (err: unknown) =>
      err instanceof ArtifactsError && /no circuit chunk_k4_c8: circuits\/main\/chunk_k4_c8\.circom does not exist/.test(err.message),
  );
});

test("# setup: the plan is compile then keys, per circuit, only what is missing; the lines say step k/N", () => {
  const plan = planDevSetup([
    { name: "chunk_k8_c128_b8_g24", isCompiled: false, hasKeys: false },
    { name: "decision_k8_c128_b8_g24", isCompiled: true, hasKeys: false },
  ]);
  assert.deepEqual(plan, [
    { kind: "compile", circuit: "chunk_k8_c128_b8_g24" },
    { kind: "keys", circuit: "chunk_k8_c128_b8_g24" },
    { kind: "keys", circuit: "decision_k8_c128_b8_g24" },
  ]);
  assert.deepEqual(planDevSetup([{ name: "chunk_k4_c16", isCompiled: true, hasKeys: true }]), [], "cached: nothing to do");
  assert.equal(stepLabel({ kind: "compile", circuit: "chunk_k4_c16" }), "compiling chunk_k4_c16 (circom)");
  assert.equal(
    heartbeatLine(
      2,
      3,
      { kind: "keys", circuit: "chunk_k8_c128_b8_g24" },
      75_000,
      "zkey new chunk_k8_c128_b8_g24: Writing points B2 (31154)",
    ),
    "setup 2/3: still making the keys of chunk_k8_c128_b8_g24, 1 min 15 s so far (last: zkey new chunk_k8_c128_b8_g24: Writing points B2 (31154))",
  );
  assert.equal(heartbeatLine(1, 3, { kind: "compile", circuit: "x" }, 15_000), "setup 1/3: still compiling x, 15 s so far");
});

test("# run: refuses before its first round, even in the commit window, naming the setup command (exit 2)", async () => {
  const { node, seen } = await nodeFor({ chainTime: 50, circuitsDir: await tempDir() });
  await assert.rejects(
    node.run(1n, { once: true }),
    artifactsRefusal(
      /^project 1 cannot be proven here: circuit files missing: chunk_k4_c16: .*fedmarket-aggregator setup --project 1 --circuits /,
    ),
  );
  assert.equal(seen.polls, 0, "no round was looked at");
  const err = await node.run(1n, { once: true }).catch((e: unknown) => e);
  assert.equal(exitCodeOf(err, true), EXIT_CANNOT_RUN);
});

test("# runRound: a round ready to aggregate without prepared DEV circuits is refused, nothing done, naming `fedmarket-aggregator setup`", async () => {
  // No dev setup exists for K4/C8 (no main file): the same refusal as an unprepared cache.
  const { node } = await nodeFor({ chainTime: 200, circuit: { ...K4_C16, chunk: 8 } });
  await assert.rejects(
    node.runRound(1n),
    artifactsRefusal(/Nothing was done; prepare them first, before any aggregation window: `fedmarket-aggregator setup --project 1`/),
  );
});

test("# exit codes: unprepared artifacts, usage and configuration errors could not run (2); a failed proof failed (1)", () => {
  assert.equal(exitCodeOf(new AggregatorError("artifacts", "x"), true), EXIT_CANNOT_RUN);
  assert.equal(exitCodeOf(new AggregatorError("usage", "x"), false), EXIT_CANNOT_RUN);
  assert.equal(exitCodeOf(new AggregatorError("config", "x"), true), EXIT_CANNOT_RUN);
  assert.equal(exitCodeOf(new AggregatorError("proof", "x"), true), EXIT_FAILED);
});

test("# run: waiting for the reveal deadline: a line at once, a heartbeat, one warning when chain time stands still", async () => {
  const dir = await tempDir();
  await fakeCircuits(dir, ["chunk_k4_c16", "decision_k4_c16"]);
  let wall = 0;
  const stop = new AbortController();
  const logger = memoryLogger();
  const { node } = await nodeFor({
    chainTime: 50, // the reveal deadline is 100 s of chain time away, and chain time never moves
    circuitsDir: dir,
    logger,
    now: () => wall,
    onPoll: () => {
      wall += 10_000;
      if (logger.records.some((r) => r.level === "warn") || wall > 1_000_000) stop.abort();
    },
  });
  const out = await node.run(1n, { signal: stop.signal });
  assert.equal(out.kind, "waiting");
  const waits = logger.records.filter((r) => r.event === "round.waiting").map((r) => r.msg);
  assert.equal(waits[0], "waiting for the reveal deadline of round 2: 100 s left (chain time); then this node aggregates the round");
  assert.ok(waits.length >= 2 && waits.length <= 5, `a heartbeat at most every 30 s of wall time: ${waits.length} lines`);
  const warnings = logger.records.filter((r) => r.level === "warn");
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0]?.event, "chain.stalled");
  assert.match(warnings[0]?.msg ?? "", /chain time has not moved for 1[34]0 s .*evm_mine.*evm_setIntervalMining/);
});
