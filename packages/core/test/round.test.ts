import { test } from "node:test";
import assert from "node:assert/strict";
import {
  SUBGROUP_ORDER,
  aggregate,
  buildDecisionInput,
  cipherChain,
  encryptChunk,
  flagsOf,
  gramMatrix,
  modelCommitment,
  consensusDecision,
  padToChunks,
  publicKeyOf,
  referenceChunks,
  referenceCommitment,
  sealedCommitment,
  sealedSlot,
  simulateRound,
  unpackOutcome,
  type CircuitConfig,
  type DecisionOpenings,
  type DecisionPublic,
  type RoundSlot,
} from "../src/index.ts";

const config: CircuitConfig = { kMax: 4, chunk: 5, updateBits: 8, modelBits: 16 };
const SECRET = 4242424242n;
const A = publicKeyOf(SECRET);

function rnd(n: number, amp: number): bigint[] {
  return Array.from({ length: n }, () => BigInt(Math.floor(Math.random() * (2 * amp + 1)) - amp));
}

test("a round agrees with the whole-vector computation", () => {
  const d = 12; // 3 chunks, last one padded
  const prev = rnd(d, 1000);
  const updates = [rnd(d, 20), rnd(d, 20), rnd(d, 20), rnd(d, 120)];
  const slots = updates.map((u) => sealedSlot(config, u, A));
  const r = simulateRound({ config, prevModel: prev, slots, f: 0, keccak: 123n << 100n, secret: SECRET });
  assert.equal(r.chunks, 3);
  assert.equal(r.chunkWitnesses.length, 3);
  assert.equal(r.chunkWitnesses[0]?.publicSignals[0], 0n);
  for (let j = 1; j < 3; j++) {
    assert.equal(r.chunkWitnesses[j]?.publicSignals[0], r.chunkWitnesses[j - 1]?.publicSignals[1]);
  }
  assert.deepEqual(r.decoded, [true, true, true, true]);
  assert.deepEqual(r.updates, updates);
  const rule = consensusDecision({
    commitments: r.commitments,
    excluded: [false, false, false, false],
    gram: gramMatrix(updates.map((u) => padToChunks(u, 5))),
    f: 0,
  });
  assert.deepEqual(r.rule.status, rule.status);
  assert.deepEqual(flagsOf(r.finalState.mask, 4), rule.aggregated);
  assert.equal(r.finalState.decoded, 0b1111n);
  assert.deepEqual(r.newModel, aggregate(prev, updates, rule.aggregated, 16));
  assert.equal(r.newModelCommitment, modelCommitment(r.newModel, r.step, config));
  assert.deepEqual(
    r.step,
    r.newModel.map((g, x) => g - (prev[x] as bigint)),
  );
  assert.equal(r.prevModelCommitment, modelCommitment(prev, undefined, config));
  assert.deepEqual(
    unpackOutcome(r.outcome, 4).map((s) => s.score),
    rule.scores,
  );
  assert.equal(r.decision.publicSignals.length, 4 + 2 + 1 + 4 + 2);
  assert.deepEqual(r.decision.publicSignals.slice(4, 7), [...A, 0n]);
  assert.equal(r.decision.publicSignals[3], r.chunkWitnesses[2]?.publicSignals[1]);
  assert.equal(r.reference, 0n);
  assert.deepEqual(r.alignment, [0n, 0n, 0n, 0n]);

  // With the owner's reference: the rule judges by it; the decision receives its commitment, and
  // the state carries v's chain (opened with the salt) and every <u_k, v>.
  const v = rnd(d, 127);
  const salt = 987654321n;
  const withRef = simulateRound({
    config,
    prevModel: prev,
    slots,
    f: 0,
    keccak: 123n << 100n,
    secret: SECRET,
    reference: { values: v, salt },
  });
  assert.equal(withRef.reference, referenceCommitment(v, salt, config));
  assert.equal(withRef.decision.publicSignals[6], withRef.reference);
  assert.ok(withRef.rule.byReference && !r.rule.byReference);
  assert.deepEqual(
    withRef.rule,
    consensusDecision({
      commitments: withRef.commitments,
      excluded: withRef.decoded.map((x) => !x),
      gram: gramMatrix(updates),
      f: 0,
      reference: { alignment: withRef.alignment, norm2: withRef.referenceNorm, size: d },
    }),
  );
  assert.deepEqual(
    withRef.alignment,
    updates.map((u) => u.reduce((a, x, i) => a + x * (v[i] as bigint), 0n)),
  );
  assert.deepEqual(withRef.finalState.alignment, withRef.alignment);
  assert.equal(
    withRef.referenceNorm,
    v.reduce((s, x) => s + x * x, 0n),
  );
  assert.equal(r.referenceNorm, 0n);
  assert.equal(withRef.finalState.referenceChain, cipherChain(referenceChunks(v, config)));
  assert.equal(withRef.decision.input["referenceSalt"], salt);
  assert.throws(
    () => simulateRound({ config, prevModel: prev, slots, f: 0, keccak: 1n, secret: SECRET, reference: { values: v.slice(1), salt } }),
    /the reference has 11 values but the model has 12 parameters/,
  );
  assert.throws(
    () =>
      buildDecisionInput(
        config,
        { ...publicOf(withRef), reference: withRef.reference + 1n },
        withRef.finalState,
        openingsOf(withRef),
        withRef.rule,
      ),
    /do not open the reference commitment/,
  );
});

/** The decision's public part of a simulated round (to rebuild its input with one field changed). */
function publicOf(r: ReturnType<typeof simulateRound>): DecisionPublic {
  const s = r.decision.publicSignals;
  return {
    ctx: s[0]!,
    prevModel: s[1]!,
    newModel: s[2]!,
    sealKey: [s[4]!, s[5]!],
    reference: s[6]!,
    commitments: r.commitments,
    outcome: r.outcome,
  };
}

/** The decision's openings of a simulated round. */
function openingsOf(r: ReturnType<typeof simulateRound>): DecisionOpenings {
  const ephemeral = r.decision.input["ephemeral"] as readonly (readonly bigint[])[];
  return {
    secret: r.decision.input["secret"] as bigint,
    ephemerals: ephemeral.map((e) => [e[0]!, e[1]!] as const),
    referenceSalt: r.decision.input["referenceSalt"] as bigint,
  };
}

test("the next round opens the model with its step, and measures every update against that last delta", () => {
  const d = 12;
  const prev = rnd(d, 1000);
  // updates that agree (a common direction plus noise), so the rule aggregates them and the step is not zero
  const common = rnd(d, 20).map((x) => (x === 0n ? 7n : x));
  const first = simulateRound({
    config,
    prevModel: prev,
    slots: [0, 1, 2, 3].map(() =>
      sealedSlot(
        config,
        common.map((x) => x + BigInt(Math.floor(Math.random() * 5)) - 2n),
        A,
      ),
    ),
    f: 0,
    keccak: 1n << 100n,
    secret: SECRET,
  });
  const updates = [rnd(d, 20), rnd(d, 20), rnd(d, 20), rnd(d, 20)];
  const inner = (a: readonly bigint[], b: readonly bigint[]): bigint => a.reduce((s, x, i) => s + x * (b[i] as bigint), 0n);
  const next = simulateRound({
    config,
    prevModel: first.newModel,
    prevStep: first.step,
    slots: updates.map((u) => sealedSlot(config, u, A)),
    f: 0,
    keccak: 2n << 100n,
    secret: SECRET,
  });
  // the model the contract recorded is the one the next round's chunk proofs open
  assert.equal(next.prevModelCommitment, first.newModelCommitment);
  assert.ok(first.step.some((x) => x !== 0n));
  assert.deepEqual(
    next.deltaAlignment,
    updates.map((u) => inner(u, first.step)),
  );
  assert.equal(next.deltaNorm, inner(first.step, first.step));
  assert.equal(next.deltaReference, 0n);
  // without the step the same model is another commitment: a round cannot open it
  const stepless = simulateRound({ config, prevModel: first.newModel, slots: [], f: 0, keccak: 3n << 100n, secret: SECRET });
  assert.notEqual(stepless.prevModelCommitment, first.newModelCommitment);
  assert.deepEqual(stepless.step, new Array<bigint>(d).fill(0n));
  assert.throws(
    () => simulateRound({ config, prevModel: first.newModel, prevStep: first.step.slice(1), slots: [], f: 0, keccak: 3n, secret: SECRET }),
    /prevStep has 11 values, the model 12/,
  );
});

test("not the committed data is refused; an unavailable slot is an empty slot (commitment 0)", () => {
  const good = sealedSlot(config, rnd(5, 3), A);
  const other = sealedSlot(config, rnd(5, 3), A);
  const swapped: RoundSlot = { commitment: good.commitment, ...(other.sealed ? { sealed: other.sealed } : {}) };
  assert.throws(
    () => simulateRound({ config, prevModel: rnd(5, 3), slots: [good, swapped], f: 0, keccak: 1n, secret: SECRET }),
    /does not open/,
  );
  const prevModel = rnd(5, 3);
  const run = (slots: RoundSlot[]) => simulateRound({ config, prevModel, slots, f: 0, keccak: 1n, secret: SECRET });
  // Flagged on chain and not answered: whatever the input carries, the slot is empty.
  const flagged = run([good, { ...swapped, unavailable: true }, { commitment: 77n, unavailable: true }, { ...other, unavailable: true }]);
  const empty = run([good, { commitment: 0n }, { commitment: 0n }, { commitment: 0n }]);
  assert.deepEqual(flagged.rule.status, [2, 0, 0, 0]);
  assert.deepEqual(flagged.decoded, [true, false, false, false]);
  assert.deepEqual(flagged.commitments, [good.commitment, 0n, 0n, 0n]);
  // The same outcome, public inputs (the contract passes commitment 0) and witnesses as empty slots.
  assert.deepEqual(flagged.outcome, empty.outcome);
  assert.deepEqual(flagged.decision.publicSignals, empty.decision.publicSignals);
  assert.deepEqual(flagged.decision.publicSignals.slice(7, 11), [good.commitment, 0n, 0n, 0n]);
  assert.deepEqual(flagged.decision.input, empty.decision.input);
  assert.deepEqual(flagged.chunkWitnesses, empty.chunkWitnesses);
  assert.deepEqual(flagged, empty);
  // No "unavailable" opening reaches the decision proof.
  assert.equal("unavailable" in flagged.decision.input, false);
  // An unavailable slot holding another slot's commitment does not make that slot a duplicate.
  const twin = run([good, { ...good, unavailable: true }]);
  assert.deepEqual(twin.rule.duplicate, [false, false, false, false]);
  assert.deepEqual(twin.rule.status, [2, 0, 0, 0]);
  // Paid nothing: an inlier round with three updates and an unavailable fourth.
  // Three updates that agree without being near-duplicates (cosine 0.8): the consensus test keeps all three clusters.
  const three = [0, 1, 2].map((i) =>
    sealedSlot(
      config,
      [6n, 0n, 0n, 0n, 0n].map((x, j) => (j === i + 1 ? 3n : x)),
      A,
    ),
  );
  const paid = run([...three, { ...other, unavailable: true }]);
  assert.deepEqual(paid.rule.status, [1, 1, 1, 0]);
  assert.equal(paid.rule.scores[3], 0n);
  assert.deepEqual(paid.newModel, run(three).newModel);
});

test("malformed sealed updates are excluded: a key off the curve, a plaintext that does not unpack", () => {
  const good = sealedSlot(config, rnd(5, 3), A);
  // Ephemeral key off the curve, committed as such.
  const chunks = good.sealed!.chunks;
  const offCurve: RoundSlot = { commitment: sealedCommitment(cipherChain(chunks), [1n, 2n]), sealed: { ephemeral: [1n, 2n], chunks } };
  // A valid key but junk plaintext (a value beyond 8 bits in the packed element).
  const e = 77n;
  const shared = publicKeyOf((8n * e * SECRET) % SUBGROUP_ORDER);
  const junk = [encryptChunk([1n << 250n], shared, 0)];
  const junkSlot: RoundSlot = {
    commitment: sealedCommitment(cipherChain(junk), publicKeyOf(e)),
    sealed: { ephemeral: publicKeyOf(e), chunks: junk },
  };
  const r = simulateRound({ config, prevModel: rnd(5, 3), slots: [good, offCurve, junkSlot], f: 0, keccak: 1n, secret: SECRET });
  assert.deepEqual(r.decoded, [true, false, false, false]);
  assert.deepEqual(r.rule.status, [2, 3, 3, 0]);
  // The decision opens the committed ephemeral keys, also the one off the curve.
  assert.deepEqual(r.decision.input["ephemeral"], [[...good.sealed!.ephemeral], [1n, 2n], [...publicKeyOf(e)], [0n, 0n]]);

  // Only the keyed junk slot is proven malformed (chunk 0, element 0); the one off the curve has no key.
  assert.equal(r.finalState.malformed, 0b100n);
  const select = r.chunkWitnesses[0]!.input["malformedSelect"] as bigint[][];
  const none = select[0]!.length - 1;
  assert.deepEqual(
    select.map((row) => row.indexOf(1n)),
    [none, none, 0, none],
  );
});
