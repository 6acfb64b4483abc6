/**
 * Witness-level tests at K_MAX = 8 (generated mains, compiled into the cache): multi-call
 * state hashing (48 fields), a partial last packed element, three outcome words with an unused
 * slot, f = 2 Byzantine updates.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { committedSlot, simulateRound, type CircuitConfig, type RoundSlot } from "@fedmarket/core";
import { loadConfigCircuit, releaseCurves, rng, type TestCircuit } from "./harness.ts";

const config: CircuitConfig = { kMax: 8, chunk: 20, updateBits: 16, modelBits: 32 };
let chunk: TestCircuit;
let decision: TestCircuit;

before(async () => {
  chunk = await loadConfigCircuit("chunk", config);
  decision = await loadConfigCircuit("decision", config);
  console.error(`  K_MAX=8 CHUNK=20: chunk ${chunk.r1cs.nConstraints}, decision ${decision.r1cs.nConstraints} constraints`);
});
after(releaseCurves);

async function check(slots: RoundSlot[], f: number, d: number): Promise<ReturnType<typeof simulateRound>> {
  const r = rng(d + f);
  const round = simulateRound({ config, prevModel: Array.from({ length: d }, () => r(-5000, 5000)), slots, f, keccak: 77n << 180n });
  for (const w of round.chunkWitnesses) assert.equal(chunk.violated(await chunk.witness(w.input)), -1);
  const witness = await decision.witness(round.decision.input);
  assert.equal(decision.violated(witness), -1);
  assert.deepEqual(witness.slice(1, 1 + round.decision.publicSignals.length), [...round.decision.publicSignals]);
  return round;
}

test("eight slots, f = 2 Byzantine updates far away", async () => {
  const r = rng(5);
  const d = 45;
  const honest = (k: number): RoundSlot =>
    committedSlot(
      config,
      Array.from({ length: d }, () => r(-400, 400)),
      BigInt(k + 1),
    );
  const evil = (k: number): RoundSlot =>
    committedSlot(
      config,
      Array.from({ length: d }, () => r(-32768, -20000)),
      BigInt(k + 1),
    );
  const slots = [honest(0), evil(1), honest(2), honest(3), honest(4), evil(5), honest(6), honest(7)];
  const round = await check(slots, 2, d);
  assert.deepEqual(round.krum.status, [1, 2, 1, 1, 1, 2, 1, 1]);
});

test("seven slots with a duplicate and an exclusion, f = 1", async () => {
  const r = rng(6);
  const d = 20;
  const mk = (salt: bigint): RoundSlot =>
    committedSlot(
      config,
      Array.from({ length: d }, () => r(-100, 100)),
      salt,
    );
  const dup = mk(9n);
  const slots = [mk(1n), dup, mk(2n), { commitment: 4242n, excluded: true }, mk(3n), dup, mk(4n)];
  const round = await check(slots, 1, d);
  assert.deepEqual(
    round.krum.status.slice(0, 7).map((s, i) => (i === 1 || i === 5 ? s : -1)),
    [-1, 2, -1, -1, -1, 2, -1],
  );
  assert.equal(round.krum.status[3], 3);
  assert.equal(round.krum.status[7], 0);
  assert.equal(round.krum.n, 4);
});
