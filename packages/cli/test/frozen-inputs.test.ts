/**
 * `project create`'s frozen-layer inputs (--frozen-weights, --pretrained, a spec's own frozenWeights):
 * the pure rules of commands/frozen-inputs.ts, and the command refusing bad input before connecting
 * (a child process, as in operator-ux.test.ts; no chain, no store).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { computeCid, decodeWeights, encodeWeights } from "@fedmarket/protocol";
import { UsageError } from "../src/owner/connect.ts";
import { checkFrozenFlags, checkPinnedFrozenWeights, frozenSpecInputs } from "../src/commands/frozen-inputs.ts";

const BIN = fileURLToPath(new URL("../bin/fedmarket.js", import.meta.url));
const MARKET = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const AGGREGATOR = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

/** Layer 0 frozen: 4 x 3 + 3 = 15 frozen values; layer 1 trainable: 3 x 2 + 2 = 8 = D. */
const SPEC = {
  format: "fedmarket-model-spec/1",
  inputShape: [4],
  labels: ["a", "b"],
  layers: [
    { type: "dense", units: 3, activation: "relu", trainable: false },
    { type: "dense", units: 2, activation: "softmax" },
  ],
  training: { epochs: 1, batchSize: 2, learningRate: 0.1, optimizer: "sgd" },
  quantization: { scale: 1024, clipBound: 0.1 },
} as const;
const FROZEN = 15;
const D = 8;
const FLAGS = { spec: "spec.json" };

const ramp = (n: number, from = 0) => Float32Array.from({ length: n }, (_, i) => (from + i) / 100);
const usage = (pattern: RegExp) => (e: unknown) => e instanceof UsageError && pattern.test(e.message);

let tmp: string;
before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "fedmarket-cli-frozen-"));
});
after(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test("--frozen-weights: the file's CID is inserted as frozenWeights before validation; the rest of the spec is unchanged", async () => {
  const bytes = encodeWeights(ramp(FROZEN));
  const cid = await computeCid(bytes);
  const out = await frozenSpecInputs(SPEC, { ...FLAGS, frozenWeights: "backbone.fmw" }, { frozenWeights: bytes });
  assert.deepEqual(out.specJson, { ...SPEC, frozenWeights: cid });
  assert.equal(out.spec.frozenWeights, cid);
  assert.equal(out.summary.parameters, D);
  assert.equal(out.summary.frozenParameters, FROZEN);
  assert.equal(out.frozenWeights, bytes, "the file is pinned as read");
  assert.equal(out.initialWeights, undefined);
  assert.equal(out.pinnedFrozenCid, undefined, "nothing to fetch: the file is pinned with the spec");
  // The same CID already in the spec is accepted (even in another spelling of it).
  const same = await frozenSpecInputs(
    { ...SPEC, frozenWeights: ` ${cid} ` },
    { ...FLAGS, frozenWeights: "backbone.fmw" },
    { frozenWeights: bytes },
  );
  assert.equal(same.spec.frozenWeights, cid);
});

test("--frozen-weights: a different CID in the spec is refused, naming both CIDs and what to do", async () => {
  const bytes = encodeWeights(ramp(FROZEN));
  const cid = await computeCid(bytes);
  const other = await computeCid(encodeWeights(ramp(FROZEN, 1)));
  await assert.rejects(
    frozenSpecInputs({ ...SPEC, frozenWeights: other }, { ...FLAGS, frozenWeights: "backbone.fmw" }, { frozenWeights: bytes }),
    (e: unknown) =>
      e instanceof UsageError &&
      e.message.startsWith(`--frozen-weights backbone.fmw has CID ${cid}, but --spec spec.json names frozenWeights ${other}: `) &&
      /remove "frozenWeights" from the spec/.test(e.message),
  );
});

test("--frozen-weights: a wrong length names the flag and both counts; a spec without frozen layers refuses the flag", async () => {
  await assert.rejects(
    frozenSpecInputs(SPEC, { ...FLAGS, frozenWeights: "short.fmw" }, { frozenWeights: encodeWeights(ramp(FROZEN - 1)) }),
    usage(/^--frozen-weights short\.fmw holds 14 values, but the frozen layers of --spec spec\.json have 15: /),
  );
  await assert.rejects(
    frozenSpecInputs(SPEC, { ...FLAGS, frozenWeights: "junk.fmw" }, { frozenWeights: new Uint8Array([1, 2, 3]) }),
    usage(/^--frozen-weights junk\.fmw is not a fedmarket weights file/),
  );
  const plain = { ...SPEC, layers: [{ type: "dense", units: 2, activation: "softmax" }] };
  await assert.rejects(
    frozenSpecInputs(plain, { ...FLAGS, frozenWeights: "backbone.fmw" }, { frozenWeights: encodeWeights(ramp(FROZEN)) }),
    usage(/^--frozen-weights backbone\.fmw: --spec spec\.json freezes no layer .*drop --frozen-weights/),
  );
});

test("--pretrained goes with neither --initial-model nor --frozen-weights", async () => {
  assert.throws(
    () => checkFrozenFlags({ pretrained: "p.fmw", initialModel: "m.fmw" }),
    usage(/^--pretrained and --initial-model cannot go together/),
  );
  assert.throws(
    () => checkFrozenFlags({ pretrained: "p.fmw", frozenWeights: "f.fmw" }),
    usage(/^--pretrained and --frozen-weights cannot go together/),
  );
  checkFrozenFlags({ frozenWeights: "f.fmw", initialModel: "m.fmw" });
  const bytes = encodeWeights(ramp(FROZEN + D));
  await assert.rejects(
    frozenSpecInputs(SPEC, { ...FLAGS, pretrained: "p.fmw", initialModel: "m.fmw" }, { pretrained: bytes }),
    usage(/cannot go together/),
  );
});

test("--pretrained: split into the head (the initial model) and the frozen part (pinned, CID inserted)", async () => {
  const full = ramp(FROZEN + D);
  const out = await frozenSpecInputs(SPEC, { ...FLAGS, pretrained: "whole.fmw" }, { pretrained: encodeWeights(full) });
  // Layer 0 (frozen) is the first 15 values, layer 1 (the head) the last 8.
  assert.deepEqual(out.initialWeights, full.slice(FROZEN));
  assert.ok(out.frozenWeights !== undefined);
  assert.deepEqual(decodeWeights(out.frozenWeights, FROZEN), full.slice(0, FROZEN));
  const cid = await computeCid(out.frozenWeights);
  assert.equal(out.spec.frozenWeights, cid);
  assert.deepEqual(out.specJson, { ...SPEC, frozenWeights: cid });
  assert.equal(out.pinnedFrozenCid, undefined);

  // The split itself is injectable; a wrong length is refused before it, naming the expected count.
  const noSplit = () => Promise.reject(new Error("not reached"));
  await assert.rejects(
    frozenSpecInputs(SPEC, { ...FLAGS, pretrained: "head-only.fmw" }, { pretrained: encodeWeights(ramp(D)) }, noSplit),
    usage(/^--pretrained head-only\.fmw holds 8 values, but the layers of --spec spec\.json have 23 \(8 trainable \+ 15 frozen\): /),
  );
  // A spec naming another CID than the pretrained backbone's is refused as with --frozen-weights.
  const other = await computeCid(encodeWeights(ramp(FROZEN, 1)));
  await assert.rejects(
    frozenSpecInputs({ ...SPEC, frozenWeights: other }, { ...FLAGS, pretrained: "whole.fmw" }, { pretrained: encodeWeights(full) }),
    usage(
      new RegExp(
        `^the frozen layers' part of --pretrained whole\\.fmw has CID ${cid}, but --spec spec\\.json names frozenWeights ${other}`,
      ),
    ),
  );
});

test("neither flag: a spec without a CID is told about the flags; a CID in the spec must be fetchable", async () => {
  await assert.rejects(
    frozenSpecInputs(SPEC, FLAGS, {}),
    usage(
      /^--spec spec\.json is not a valid model spec: model spec: frozenWeights: .*; pass --frozen-weights <file> .* or --pretrained <file>/,
    ),
  );
  const bytes = encodeWeights(ramp(FROZEN));
  const cid = await computeCid(bytes);
  const out = await frozenSpecInputs({ ...SPEC, frozenWeights: cid }, FLAGS, {});
  assert.equal(out.pinnedFrozenCid, cid);
  assert.equal(out.frozenWeights, undefined);
  assert.deepEqual(out.specJson, { ...SPEC, frozenWeights: cid }, "published as written");

  await checkPinnedFrozenWeights(out, async (c) => (c === cid ? bytes : Promise.reject(new Error("no such block"))), "the IPFS repo ipfs");
  await assert.rejects(
    checkPinnedFrozenWeights(out, () => Promise.reject(new Error("not found")), "the IPFS repo ipfs"),
    usage(
      new RegExp(`^the spec's frozenWeights ${cid} cannot be fetched from the IPFS repo ipfs: pin it, or pass --frozen-weights <file>`),
    ),
  );
  await assert.rejects(
    checkPinnedFrozenWeights(out, async () => encodeWeights(ramp(3)), "the IPFS repo ipfs"),
    usage(/does not fit its frozen layers: .*pass --frozen-weights <file>/),
  );
});

function run(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: "0", FEDMARKET_RPC_URL: "http://127.0.0.1:1" };
    delete env.FEDMARKET_PRIVATE_KEY;
    const child = spawn(process.execPath, [BIN, ...args], { cwd: tmp, env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, stderr }));
  });
}

test("project create: frozen-layer mistakes exit 2 before connecting; good input gets as far as the key", async () => {
  const circuit = { kMax: 4, chunk: 16, updateBits: 16, modelBits: 32 };
  await writeFile(path.join(tmp, "frozen.json"), JSON.stringify({ ...SPEC, circuit }));
  await writeFile(path.join(tmp, "backbone.fmw"), encodeWeights(ramp(FROZEN)));
  await writeFile(path.join(tmp, "short.fmw"), encodeWeights(ramp(FROZEN - 1)));
  const common = [
    "project",
    "create",
    "--market",
    MARKET,
    "--verifier",
    MARKET,
    "--aggregator",
    AGGREGATOR,
    "--out",
    "p.json",
    "--spec",
    "frozen.json",
  ];
  const [noFlag, both, short, ok] = await Promise.all([
    run(common),
    run([...common, "--pretrained", "x.fmw", "--frozen-weights", "backbone.fmw"]),
    run([...common, "--frozen-weights", "short.fmw"]),
    run([...common, "--frozen-weights", "backbone.fmw"]),
  ]);
  assert.equal(noFlag.code, 2, noFlag.stderr);
  assert.match(noFlag.stderr, /^error: --spec frozen\.json is not a valid model spec: .*pass --frozen-weights <file>/);
  assert.equal(both.code, 2, both.stderr);
  assert.match(both.stderr, /^error: --pretrained and --frozen-weights cannot go together/);
  assert.equal(short.code, 2, short.stderr);
  assert.match(short.stderr, /^error: --frozen-weights short\.fmw holds 14 values, but the frozen layers of --spec frozen\.json have 15/);
  assert.equal(ok.code, 2, ok.stderr);
  assert.match(ok.stderr, /^error: no key: set FEDMARKET_PRIVATE_KEY/, "past the frozen-layer checks");
});
