/**
 * The openings check with the owner's key: real sealed updates in an in-memory store, the
 * free-rider rule re-applied to the recorded models, judged against proven outcomes (given here as
 * the proofs fact would give them).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { commitUpdate, globalDelta, quantizeModel, randomSalt, SlotStatus } from "@fedmarket/core";
import { generateKeyPair, sealUpdate, type ProjectHistory } from "@fedmarket/protocol";
import { checkOpenings } from "../src/index.ts";
import {
  auditContext,
  CIRCUIT,
  D,
  finalized,
  MARKET,
  MemoryStore,
  opened,
  pinModel,
  pinSpec,
  PROJECT_ID,
  projectHistory,
  projectInfo,
  proven,
  roundHistory,
  SPEC,
  submission,
  trainer,
  tx,
} from "./fixtures.ts";

const owner = generateKeyPair();

async function seal(store: MemoryStore, slot: number, values: readonly bigint[]): Promise<{ cid: string; commitment: bigint }> {
  const salt = randomSalt();
  const { envelope } = sealUpdate({
    chainId: 31337n,
    market: MARKET,
    projectId: PROJECT_ID,
    round: 1,
    trainer: trainer(slot),
    config: CIRCUIT,
    values,
    salt,
    recipientKeys: [owner.publicKey],
  });
  return { cid: await store.put(envelope), commitment: commitUpdate(values, salt, CIRCUIT.chunk, CIRCUIT.updateBits) };
}

/**
 * Round 0 moved the model from m0 to m1; round 1 (on m1) has four updates: slot 0 honest, slot 1
 * honest, slot 2 a replay of the last global delta m1 - m0, slot 3 bytes that are no envelope.
 */
async function setup(): Promise<{ store: MemoryStore; specCid: string; history: ProjectHistory; cids: string[] }> {
  const store = new MemoryStore();
  const specCid = await pinSpec(store);
  const m0 = await pinModel(store, 1);
  const m1 = await pinModel(store, 2);
  const q = (w: Float32Array): bigint[] => quantizeModel(w, SPEC.quantization.scale, CIRCUIT.modelBits);
  const honest = Array.from({ length: D }, (_, k) => BigInt((k % 7) - 3));
  const updates = [
    await seal(store, 0, honest),
    await seal(store, 1, honest),
    await seal(store, 2, globalDelta(q(m1.weights), q(m0.weights))),
    { cid: await store.put(new Uint8Array(64)), commitment: 9n },
  ];
  const base = projectHistory();
  const history: ProjectHistory = {
    ...base,
    created: base.created === undefined ? undefined : { ...base.created, initialModelCid: m0.cid, initialModelCommitment: m0.commitment },
    rounds: [
      roundHistory({ round: 0, opened: opened(0, 2, 1000n, m0), end: finalized(0, tx(0xf0), { totalScore: 1n, paid: 1n, ...m1 }) }),
      roundHistory({
        round: 1,
        opened: opened(1, 70, 1000n, m1),
        submissions: updates.map((u, k) => submission(1, k, 71 + k, u.commitment, u.cid)),
        end: finalized(1, tx(0xf1), { totalScore: 1n, paid: 1n }),
      }),
    ],
  };
  return { store, specCid, history, cids: updates.map((u) => u.cid) };
}

describe("# checkOpenings", () => {
  it("opens each update as the aggregator does and judges the proven outcomes with the free-rider rule", async () => {
    const { store, specCid, history, cids } = await setup();
    const outcomes = [
      { status: SlotStatus.Inlier, score: 5n }, // opens, honest: nothing to say
      { status: SlotStatus.Excluded, score: 0n }, // opens, no replay: an exclusion the owner cannot explain
      { status: SlotStatus.Inlier, score: 5n }, // a replay let in
      { status: SlotStatus.NotAggregated, score: 0n }, // proven as opening, but does not
    ];
    const ctx = auditContext(
      { history, store, project: projectInfo({ specCid }), ownerSecretKey: owner.secretKey },
      {},
      { roundProofs: async (_ctx, round) => (round === 1 ? proven(outcomes) : undefined) },
    );
    const findings = await checkOpenings(ctx);
    assert.deepEqual(
      findings.map((f) => [f.severity, f.round, f.slot]),
      [
        ["warning", 1, 1],
        ["warning", 1, 2],
        ["failure", 1, 3],
      ],
    );
    assert.equal(
      findings[0]?.message,
      `round 1 slot 1 (${trainer(1)}): excluded by the aggregator, but its update (${cids[1]}) decrypts with the owner's key, opens its commitment and is no replay of the last global delta`,
    );
    assert.equal(
      findings[1]?.message,
      `round 1 slot 2 (${trainer(2)}): aggregated, but its update replays the last global delta (a free rider the aggregator should have excluded)`,
    );
    assert.equal(
      findings[2]?.message,
      `round 1 slot 3 (${trainer(3)}): proven as opening its commitment, but the update at ${cids[3]} does not open it with the owner's key`,
    );

    const openings = await ctx.openings(1);
    assert.deepEqual(
      [0, 1, 2].map((k) => openings?.get(k)),
      [
        { opens: true, replay: false },
        { opens: true, replay: false },
        { opens: true, replay: true },
      ],
    );
    assert.equal(openings?.get(3)?.unusable?.reason, "undecryptable");
  });

  it("does not question the exclusion of a replay or of an update that does not open", async () => {
    const { store, specCid, history } = await setup();
    const outcomes = [0, 1, 2, 3].map((k) => ({ status: k < 2 ? SlotStatus.Inlier : SlotStatus.Excluded, score: k < 2 ? 5n : 0n }));
    const ctx = auditContext(
      { history, store, project: projectInfo({ specCid }), ownerSecretKey: owner.secretKey },
      {},
      { roundProofs: async () => proven(outcomes) },
    );
    assert.deepEqual(await checkOpenings(ctx), []);
  });

  it("without the owner's key says so and opens nothing", async () => {
    const { store, specCid, history } = await setup();
    const ctx = auditContext({ history, store, project: projectInfo({ specCid }) });
    assert.deepEqual(await checkOpenings(ctx), [
      { check: "openings", severity: "info", message: "no owner key: the updates were not opened" },
    ]);
    assert.equal(await ctx.openings(1), undefined);
  });
});
