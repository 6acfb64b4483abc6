/**
 * The model cache: the model a round opened on and the step committed with it, checked together
 * against the commitment on chain; the step from the project's history (the model it replaced),
 * each model downloaded once while the node runs round after round, and a step that cannot be
 * derived or does not make the commitment refused with the reason.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { modelCommitment } from "@fedmarket/core";
import {
  emptyRoundHistory,
  encodeWeights,
  type BlobStore,
  type ProjectHistory,
  type ProjectInfo,
  type RoundOpenedRecord,
} from "@fedmarket/protocol";
import type { AggregatorChain } from "../src/chain.ts";
import { AggregatorError } from "../src/errors.ts";
import type { StepContext } from "../src/steps/context.ts";
import { ModelCache } from "../src/steps/model-cache.ts";

const CONFIG = { kMax: 4, chunk: 4, updateBits: 8, modelBits: 16 };
const SCALE = 4;
const D = 6;

/** Quantized models: m1 = m0 + s1, m2 = m1 + s2 (the steps of the rounds that produced them). */
const m0 = [4n, -8n, 0n, 12n, 3n, -1n];
const s1 = [1n, 2n, -3n, 0n, 5n, -6n];
const s2 = [-2n, 0n, 7n, 1n, -1n, 4n];
const m1 = m0.map((v, i) => v + s1[i]!);
const m2 = m1.map((v, i) => v + s2[i]!);
const MODELS: Record<string, { values: bigint[]; commitment: bigint }> = {
  m0: { values: m0, commitment: modelCommitment(m0, undefined, CONFIG) },
  m1: { values: m1, commitment: modelCommitment(m1, s1, CONFIG) },
  m2: { values: m2, commitment: modelCommitment(m2, s2, CONFIG) },
};

/** A store of the three models' weights files that records what was downloaded. */
function store(): BlobStore & { readonly gets: string[] } {
  const gets: string[] = [];
  return {
    gets,
    put: () => Promise.reject(new Error("read-only")),
    close: async () => {},
    get: async (cid) => {
      gets.push(cid);
      const model = MODELS[cid];
      if (model === undefined) throw new Error(`no block for ${cid}`);
      return encodeWeights(Float32Array.from(model.values, (q) => Number(q) / SCALE));
    },
  };
}

/** A history whose round `r` opened on `openedOn[r]`. */
function history(openedOn: readonly string[]): ProjectHistory {
  const rounds = openedOn.map((cid, round) => ({
    ...emptyRoundHistory(round),
    opened: { round, modelCid: cid, modelCommitment: MODELS[cid]!.commitment } as RoundOpenedRecord,
  }));
  return { projectId: 1n, fromBlock: 0, toBlock: 100, rounds } as unknown as ProjectHistory;
}

/** Round `round` of a project whose current model is `cid`, with `openedOn` as its history. */
function roundOf(s: BlobStore, openedOn: readonly string[], cid = openedOn.at(-1)!): { ctx: StepContext; project: ProjectInfo } {
  const chain = { history: async () => history(openedOn) } as unknown as AggregatorChain;
  const ctx = { chain, store: s, config: { ipfsRetries: 0 }, round: openedOn.length - 1 } as unknown as StepContext;
  const project = {
    id: 1n,
    modelCid: cid,
    modelCommitment: MODELS[cid]!.commitment,
    params: { modelSize: D, quantizationScale: BigInt(SCALE) },
  } as unknown as ProjectInfo;
  return { ctx, project };
}

describe("# ModelCache", () => {
  it("checks each round's model with its step and downloads each model once, round after round", async () => {
    const s = store();
    const cache = new ModelCache();
    const current = (openedOn: readonly string[]) => {
      const { ctx, project } = roundOf(s, openedOn);
      return cache.current(ctx, project, CONFIG);
    };
    assert.deepEqual(await current(["m0"]), { commitment: MODELS.m0!.commitment, values: m0, step: undefined }, "never changed: step zero");
    assert.deepEqual(await current(["m0", "m1"]), { commitment: MODELS.m1!.commitment, values: m1, step: s1 });
    assert.deepEqual(s.gets, ["m0", "m1"], "the model round 1 replaced is the one round 0 started from: not downloaded again");
    // Round 2 skipped: round 3 opens on m1 again, and round 4 on m2, which replaced m1 (not m0).
    assert.deepEqual((await current(["m0", "m1", "m1"])).step, s1, "the cached model: no download");
    assert.deepEqual((await current(["m0", "m1", "m1", "m2"])).step, s2);
    assert.deepEqual(s.gets, ["m0", "m1", "m2"]);
  });

  it("a fresh node downloads the model the current one replaced", async () => {
    const s = store();
    const { ctx, project } = roundOf(s, ["m0", "m1", "m1", "m2"]);
    assert.deepEqual((await new ModelCache().current(ctx, project, CONFIG)).step, s2);
    assert.deepEqual(s.gets, ["m2", "m1"]);
  });

  it("refuses a model whose step from the model it replaced does not make the commitment on chain", async () => {
    // The history says m2 replaced m0: m2 - m0 is not the step m2 was committed with.
    const { ctx, project } = roundOf(store(), ["m0", "m2"]);
    await assert.rejects(
      new ModelCache().current(ctx, project, CONFIG),
      (err: unknown) =>
        err instanceof AggregatorError &&
        err.code === "model" &&
        /^the global model m2 with its step \(the model minus the one it replaced\) does not match the model commitment on chain/.test(
          err.message,
        ),
    );
  });

  it("a step that cannot be derived is a model error that says why, never zeros", async () => {
    // A history read from after round 0 opened: "never changed" cannot be told from "changed before".
    const { ctx, project } = roundOf(store(), ["m0", "m1"]);
    const full = history(["m0", "m1"]);
    const missing = { ...full, rounds: [emptyRoundHistory(0), ...full.rounds.slice(1)] };
    const partial = { ...ctx, chain: { history: async () => missing } as unknown as AggregatorChain };
    await assert.rejects(
      new ModelCache().current(partial, project, CONFIG),
      (err: unknown) =>
        err instanceof AggregatorError &&
        err.code === "model" &&
        /has no RoundOpened of round 0.*cannot prove round 1 until then$/.test(err.message),
    );
  });

  it("the initial model of a project no round opened on has a zero step", async () => {
    const s = store();
    const { project } = roundOf(s, ["m0"]);
    const initial = await new ModelCache().initial({ store: s, config: {} }, project, CONFIG);
    assert.deepEqual(initial, { commitment: MODELS.m0!.commitment, values: m0, step: undefined });
  });
});
