/**
 * Witness-level tests at K_MAX = 8 (generated mains, compiled into the cache) of the sealed-update
 * statement: multi-call state hashing (50 fields), a partial last packed element, three outcome
 * words with an unused slot, f = 2 Byzantine updates beyond the consensus rule's norm cap, the
 * quorum of 2f + 3 valid slots at its boundary, a cluster of copies, eight shared keys in keysHash, an unavailable slot (flagged on chain, not answered: empty,
 * commitment 0), and status 3 for a slot sealed under an ephemeral key off the curve (proven: it has
 * no shared key, so it cannot be decoded) or whose plaintext does not unpack (proven by the chunk
 * proofs' malformation claims: docs/PROOF-INTERFACE.md, "Sealed updates", stage 3).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  SlotStatus,
  cipherChain,
  consensusQuorum,
  sealedCommitment,
  simulateRound,
  type CircuitConfig,
  type RoundSlot,
  type SealedUpdate,
} from "@fedmarket/core";
import { SEAL_SECRET, loadConfigCircuit, releaseCurves, rng, sealedTestSlot, type TestCircuit } from "./harness.ts";

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
  const round = simulateRound({
    config,
    prevModel: Array.from({ length: d }, () => r(-5000, 5000)),
    slots,
    f,
    keccak: 77n << 180n,
    secret: SEAL_SECRET,
  });
  for (const w of round.chunkWitnesses) assert.equal(chunk.violated(await chunk.witness(w.input)), -1);
  const witness = await decision.witness(round.decision.input);
  assert.equal(decision.violated(witness), -1);
  assert.deepEqual(witness.slice(1, 1 + round.decision.publicSignals.length), [...round.decision.publicSignals]);
  return round;
}

/** The inactive branch: every valid slot status 2, scores 0, mask 0, model unchanged. */
function assertNobody(round: ReturnType<typeof simulateRound>): void {
  assert.equal(round.rule.active, false);
  round.rule.valid.forEach((v, k) => {
    if (v) assert.equal(round.rule.status[k], SlotStatus.NotAggregated);
  });
  assert.ok(round.rule.scores.every((x) => x === 0n));
  assert.equal(round.finalState.mask, 0n);
  assert.equal(round.newModelCommitment, round.prevModelCommitment);
}

const d45 = 45;
const r45 = rng(5);
// Honest updates share a direction (plus as much independent noise): pairwise cosines ~ 0.5, so
// they agree in the consensus test without being near-duplicates.
const common = Array.from({ length: d45 }, () => r45(-300, 300));
const honest = (k: number): RoundSlot =>
  sealedTestSlot(
    config,
    common.map((x) => x + r45(-300, 300)),
    BigInt(k + 1),
  );
// Squared norms ~ 2^29.6 per entry against the honest ~ 2^15.6: far beyond the cap of 4 x the median.
const evil = (k: number): RoundSlot =>
  sealedTestSlot(
    config,
    Array.from({ length: d45 }, () => r45(-32768, -20000)),
    BigInt(k + 1),
  );

test("eight slots, f = 2 Byzantine updates beyond the norm cap: not capped, status 2; the six honest ones aggregated", async () => {
  const slots = [honest(0), evil(1), honest(2), honest(3), honest(4), evil(5), honest(6), honest(7)];
  const round = await check(slots, 2, d45);
  assert.deepEqual(round.rule.capped, [true, false, true, true, true, false, true, true]);
  assert.deepEqual(round.rule.status, [1, 2, 1, 1, 1, 2, 1, 1]);
  assert.equal(round.finalState.mask, 0b11011101n);
  assert.equal(round.rule.scores[1], 0n);
  assert.equal(round.rule.scores[5], 0n);
});

test("boundary f = 2: n = 6 = 2f + 2 aggregates nobody (two identical far updates included), n = 7 = 2f + 3 leaves them out (one cluster beyond the norm cap)", async () => {
  assert.equal(consensusQuorum(2), 7);
  const twin = Array.from({ length: d45 }, () => r45(-32768, -20000));
  const clone = (e: bigint): RoundSlot => sealedTestSlot(config, twin, e);
  const below = await check([honest(0), clone(101n), honest(2), honest(3), clone(102n), honest(5)], 2, d45);
  assert.equal(below.rule.validCount, 6);
  assertNobody(below);
  const at = await check([honest(0), clone(101n), honest(2), honest(3), clone(102n), honest(5), honest(6)], 2, d45);
  assert.equal(at.rule.validCount, 7);
  assert.equal(at.rule.active, true);
  // the copies are one cluster (labelled 1) and count once in the median, beyond whose cap they are
  assert.equal(at.rule.label[4], 1);
  assert.equal(at.rule.capped[1], false);
  assert.deepEqual(at.rule.status, [1, 2, 1, 1, 2, 1, 1, 0]);
});

test("f = 3 is never active at K_MAX = 8 (2f + 3 = 9): n = 8 = 2f + 2 aggregates nobody", async () => {
  const round = await check([0, 1, 2, 3, 4, 5, 6, 7].map(honest), 3, d45);
  assert.equal(round.rule.validCount, 8);
  assertNobody(round);
});

test("f = 1: five equal updates (n = 2f + 3) are one cluster with five votes: its representative aggregated once, every member counted, score 0", async () => {
  const u = Array.from({ length: 20 }, (_, i) => BigInt(i % 3) - 1n);
  const round = await check(
    [1n, 2n, 3n, 4n, 5n].map((s) => sealedTestSlot(config, u, s)),
    1,
    20,
  );
  assert.equal(round.rule.n, 1);
  assert.deepEqual(round.rule.label, [0, 0, 0, 0, 0, -1, -1, -1]);
  assert.equal(round.rule.tested, true);
  assert.deepEqual(round.rule.status, [1, 1, 1, 1, 1, 0, 0, 0]);
  assert.equal(round.finalState.mask, 0b1n);
  // no other kept cluster to align with
  assert.ok(round.rule.scores.every((x) => x === 0n));
});

test("seven slots with a duplicate and an unavailable slot (empty: commitment 0), f = 1", async () => {
  const r = rng(6);
  const d = 20;
  // a shared direction again, so that f = 0 aggregates every valid slot
  const base = Array.from({ length: d }, () => r(-100, 100));
  const mk = (e: bigint): RoundSlot =>
    sealedTestSlot(
      config,
      base.map((x) => x + r(-100, 100)),
      e,
    );
  const dup = mk(9n);
  const slots = [mk(1n), dup, mk(2n), { commitment: 4242n, unavailable: true }, mk(3n), dup, mk(4n)];
  // n = 4 < 2f + 3 = 5: nobody aggregated; duplicates status 2, the unavailable and the empty slot 0
  const round = await check(slots, 1, d);
  assert.deepEqual(round.rule.status, [2, 2, 2, 0, 2, 2, 2, 0]);
  assert.equal(round.commitments[3], 0n);
  assert.equal(round.decision.publicSignals[7 + 3], 0n);
  assert.equal(round.rule.validCount, 4);
  assertNobody(round);
  // f = 0: n = 4 >= 3, the four valid slots agree and are aggregated
  const round0 = await check(slots, 0, d);
  assert.deepEqual(round0.rule.status, [1, 2, 1, 0, 1, 2, 1, 0]);
  assert.equal(round0.finalState.mask, 0b01010101n);
});

/** A slot committing to `sealed` as it is (whatever it decrypts to). */
function committedTo(sealed: SealedUpdate): RoundSlot {
  return { commitment: sealedCommitment(cipherChain(sealed.chunks), sealed.ephemeral), sealed };
}

test("eight sealed slots: an ephemeral key off the curve (no shared key) and a plaintext that does not unpack (not decoded) are status 3", async () => {
  const slots = [0, 1, 2, 3, 4, 5, 6, 7].map(honest);
  // Slot 2: its ciphertext and commitment under an ephemeral key off the curve (no shared key).
  const offCurve = slots[2]!.sealed!;
  slots[2] = committedTo({ ephemeral: [1n, 2n], chunks: offCurve.chunks });
  // Slot 5: one ciphertext element replaced: it decrypts to a field element that does not unpack.
  const junk = slots[5]!.sealed!;
  slots[5] = committedTo({ ephemeral: junk.ephemeral, chunks: junk.chunks.map((c, j) => (j === 1 ? [12345n, ...c.slice(1)] : c)) });
  const round = await check(slots, 1, d45);
  assert.deepEqual(round.decoded, [true, true, false, true, true, false, true, true]);
  assert.equal(round.rule.validCount, 6);
  assert.deepEqual(round.rule.status, [1, 1, 3, 1, 1, 3, 1, 1]);
  assert.equal(round.finalState.decoded, 0b11011011n);
});
