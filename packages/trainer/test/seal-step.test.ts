/**
 * The seal step (steps/seal.ts): the saved delta sealed for the project's aggregator and owner;
 * the ephemeral secret is recorded before the blob is written, so sealing again after a crash
 * writes the same blob (same CID, same commitment); a new delta is sealed under a fresh secret.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { publicKeyOf, randomScalar } from "@fedmarket/core";
import {
  bytesToBytes32,
  computeCid,
  createLogger,
  encodeWeights,
  generateKeyPair,
  openUpdate,
  parseModelSpec,
  type BlobStore,
  type FedMarketClient,
  type OpenUpdateContext,
  type ProjectInfo,
} from "@fedmarket/protocol";
import { StateStore } from "../src/node/state.ts";
import { produceUpdate } from "../src/node/steps/produce.ts";
import { sealRoundUpdate, SEALED_UPDATE_FILE } from "../src/node/steps/seal.ts";
import type { TrainerNodeOptions } from "../src/node/types.ts";
import type { RoundInput, UpdateProducer } from "../src/node/update-producer.ts";
import { quantizeUpdate } from "../src/update.ts";
import { TrainerNodeError } from "../src/node/errors.ts";

// A 4-input, 2-label logistic regression: D = 10, two chunks of 8 at B = 16.
const specText = JSON.stringify({
  format: "fedmarket-model-spec/1",
  inputShape: [4],
  labels: ["a", "b"],
  layers: [{ type: "dense", units: 2, activation: "softmax" }],
  training: { epochs: 1, batchSize: 4, learningRate: 0.1, optimizer: "sgd" },
  quantization: { scale: 4096, clipBound: 1 },
  circuit: { kMax: 4, chunk: 8, updateBits: 16, modelBits: 32 },
});
const { spec, summary } = parseModelSpec(specText, "test spec");
const D = summary.parameters;
const aggregatorSecret = randomScalar();
const owner = generateKeyPair();
const project = {
  id: 5n,
  specCid: "bafk-spec",
  aggregatorSealKey: publicKeyOf(aggregatorSecret),
  ownerEncryptionKey: bytesToBytes32(owner.publicKey),
} as unknown as ProjectInfo;
const ROUND = 2;

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A node's options with only what the seal step reads: the state, the spec from the store, the chain's identity. */
async function options(): Promise<TrainerNodeOptions> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "fedmarket-seal-"));
  dirs.push(dir);
  const store: BlobStore = {
    get: async (cid) => {
      assert.equal(cid, project.specCid);
      return new TextEncoder().encode(specText);
    },
    put: () => Promise.reject(new Error("the seal step uploads nothing")),
    close: async () => {},
  };
  return {
    client: { address: `0x${"aa".repeat(20)}` } as unknown as FedMarketClient,
    address: `0x${"bb".repeat(20)}`,
    chainId: 31337n,
    store,
    storeName: "test store",
    state: await StateStore.open(dir),
    logger: createLogger({ quiet: true }),
  } as unknown as TrainerNodeOptions;
}

async function saveDelta(o: TrainerNodeOptions, delta: Float32Array): Promise<void> {
  const dir = o.state.roundDir(project.id, ROUND);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "delta.fmw"), encodeWeights(delta));
  await o.state.update(project.id, ROUND, { phase: "trained" });
}

const blobOf = async (o: TrainerNodeOptions) =>
  new Uint8Array(await readFile(path.join(o.state.roundDir(project.id, ROUND), SEALED_UPDATE_FILE)));

function context(o: TrainerNodeOptions, commitment: bigint): OpenUpdateContext {
  const circuit = spec.circuit!;
  return {
    chainId: o.chainId,
    market: o.client.address,
    projectId: project.id,
    round: ROUND,
    trainer: o.address,
    config: circuit,
    modelSize: D,
    commitment,
    sealKey: project.aggregatorSealKey,
  };
}

test("the seal step seals the delta for the aggregator and the owner, and records its secret before the blob", async () => {
  const o = await options();
  const delta = new Float32Array(D).map((_, i) => (i - 5) / 20);
  await saveDelta(o, delta);
  await sealRoundUpdate(o, project, ROUND);
  const entry = o.state.get(project.id, ROUND)!;
  assert.equal(entry.phase, "sealed");
  assert.match(entry.ephemeralSecret ?? "", /^[1-9][0-9]*$/);
  const blob = await blobOf(o);
  const ctx = context(o, BigInt(entry.commitment!));
  const values = quantizeUpdate(delta, spec.quantization, spec.circuit!);
  for (const key of [{ kind: "aggregator", secret: aggregatorSecret } as const, { kind: "owner", secretKey: owner.secretKey } as const]) {
    const opened = openUpdate(blob, key, ctx);
    assert.equal(opened.ok, true, opened.ok ? "" : opened.detail);
    assert.deepEqual(opened.ok && opened.values, values);
  }
});

test("a crash after the blob was written: sealing again writes the same blob, CID and commitment", async () => {
  const o = await options();
  await saveDelta(o, new Float32Array(D).fill(0.25));
  await sealRoundUpdate(o, project, ROUND);
  const first = { entry: o.state.get(project.id, ROUND)!, blob: await blobOf(o) };
  // the state lost the `sealed` record (crash between the blob and the state write): still `trained`
  await o.state.update(project.id, ROUND, { phase: "trained", commitment: undefined });
  await writeFile(path.join(o.state.roundDir(project.id, ROUND), SEALED_UPDATE_FILE), "torn");
  await sealRoundUpdate(o, project, ROUND);
  const second = { entry: o.state.get(project.id, ROUND)!, blob: await blobOf(o) };
  assert.equal(second.entry.phase, "sealed");
  assert.equal(second.entry.ephemeralSecret, first.entry.ephemeralSecret);
  assert.equal(second.entry.commitment, first.entry.commitment);
  assert.deepEqual(second.blob, first.blob);
  assert.equal(await computeCid(second.blob), await computeCid(first.blob));
});

test("a new delta (the produce step) clears the secret: it is sealed under a fresh one", async () => {
  const o = await options();
  const delta = new Float32Array(D).fill(-0.5);
  await saveDelta(o, delta);
  await sealRoundUpdate(o, project, ROUND);
  const first = o.state.get(project.id, ROUND)!;
  const producer: UpdateProducer = { produce: async () => ({ delta, samples: 1 }) };
  await produceUpdate(o, producer, project, ROUND, {} as RoundInput);
  assert.equal(o.state.get(project.id, ROUND)!.ephemeralSecret, undefined);
  await sealRoundUpdate(o, project, ROUND);
  const second = o.state.get(project.id, ROUND)!;
  assert.notEqual(second.ephemeralSecret, first.ephemeralSecret);
  assert.notEqual(second.commitment, first.commitment);
  // what the state file holds after a reload
  const reloaded = await StateStore.open(o.state.dir);
  assert.equal(reloaded.get(project.id, ROUND)!.ephemeralSecret, second.ephemeralSecret);
});

test("a project without a registered seal key or owner key: a clear no-key error, nothing written", async () => {
  for (const [p, detail] of [
    [{ ...project, aggregatorSealKey: [0n, 0n] }, /has no registered aggregator seal key/],
    [{ ...project, ownerEncryptionKey: `0x${"00".repeat(32)}` }, /owner of project 5 has published no encryption key/],
  ] as const) {
    const o = await options();
    await saveDelta(o, new Float32Array(D));
    await assert.rejects(sealRoundUpdate(o, p as ProjectInfo, ROUND), (err: unknown) => {
      return err instanceof TrainerNodeError && err.code === "no-key" && detail.test(err.message);
    });
    assert.equal(o.state.get(project.id, ROUND)!.phase, "trained");
    assert.equal(o.state.get(project.id, ROUND)!.ephemeralSecret, undefined);
  }
});
