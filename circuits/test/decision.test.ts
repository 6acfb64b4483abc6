/**
 * Witness-level tests of the decision circuit (circuits/main/decision_k4_c16.circom) against
 * the reference implementation in packages/core: the consensus rule (`consensusDecision`) with the
 * hints of `consensusHints`, the quorums (2f + 3 by consensus, max(3, 2f + 1) by the reference), and everything the decision binds around them.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  CONSENSUS_PARAMS,
  SlotStatus,
  buildChunkInput,
  buildDecisionInput,
  cipherChain,
  computeCtx,
  consensusDecision,
  consensusHints,
  encryptChunk,
  gramFromUpper,
  hashState,
  initialState,
  maskOf,
  mod,
  noReferenceChunk,
  roundQuorum,
  consensusQuorum,
  packOutcome,
  publicKeyOf,
  sealedCommitment,
  simulateRound,
  toField,
  type CircuitConfig,
  type CircuitInput,
  type ConsensusResult,
  type CurvePoint,
  type RoundResult,
  type RoundSlot,
  type SlotChunk,
} from "@fedmarket/core";
import { SEAL_KEY, SEAL_SECRET, loadCircuit, releaseCurves, rng, sealedTestSlot, tamper, testKey, type TestCircuit } from "./harness.ts";

const config: CircuitConfig = { kMax: 4, chunk: 16, updateBits: 16, modelBits: 32 };
const KECCAK = 0xabcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789n;
/** The clipped Gram matrix's scale 2^(2F): cluster sums are shifted by it into scores. */
const SHIFT = 1n << BigInt(2 * CONSENSUS_PARAMS.clipBits);
let circuit: TestCircuit;

before(async () => {
  circuit = await loadCircuit("decision_k4_c16");
});
after(releaseCurves);

const vec = (xs: number[], d = 16): bigint[] => Array.from({ length: d }, (_, i) => BigInt(xs[i % xs.length] as number));
const slot = (u: bigint[], e: bigint): RoundSlot => sealedTestSlot(config, u, e);

/**
 * Four updates with equal squared norms (120) in different directions, pairwise cosines 1/3, 2/3
 * and 2/15: they all agree (cosine >= 0.03) without being near-duplicates (< 0.95), and the median
 * norm is a four-way tie.
 */
const EQUAL_NORMS = [vec([5, 1, 2, 0]), vec([1, 5, 0, 2]), vec([2, 0, 5, 1]), vec([0, 2, 1, 5])];

/**
 * Slot 0 keeps a negative score sum: slots 0, 1 and 2 are kept, but slot 0's clipped inner products
 * with slots 1 and 2 sum to less than 0 (slot 2 fails the first pass of the consensus test and is
 * kept by the second, whose voters are slots 0 and 1; the scores sum over the kept slots). Slot 3
 * points away from everyone. (consensus.test.ts's NEGATIVE_ROUND without its copy of slot 1.)
 */
const NEGATIVE = [
  [6, -5, -4],
  [9, 9, -1],
  [-3, 12, -2],
  [-2, -11, -12],
].map((u) => vec([...u, ...new Array<number>(13).fill(0)]));

function round(slots: RoundSlot[], f: number, prevModel: bigint[] = vec([0])): RoundResult {
  return simulateRound({ config, prevModel, slots, f, keccak: KECCAK, secret: SEAL_SECRET });
}

async function accepts(r: RoundResult): Promise<void> {
  const witness = await circuit.witness(r.decision.input);
  assert.equal(circuit.violated(witness), -1);
  assert.deepEqual(witness.slice(1, 1 + r.decision.publicSignals.length), [...r.decision.publicSignals]);
}

async function rejects(input: CircuitInput, what?: string): Promise<void> {
  await assert.rejects(circuit.witness(input), what);
}

/** The inactive branch: every valid slot status 2, scores 0, mask 0, model unchanged. */
function assertNobody(res: RoundResult): void {
  assert.equal(res.rule.active, false);
  const f = Number(res.ctx & 0xffn);
  assert.ok(res.rule.validCount < (res.rule.byReference ? roundQuorum(f) : consensusQuorum(f)));
  assertNobodyAggregated(res);
}

/** Nobody counted or aggregated (inactive, or the consensus test did not run): valid slots status 2, scores 0, mask 0, model unchanged. */
function assertNobodyAggregated(res: RoundResult): void {
  res.rule.valid.forEach((v, k) => {
    if (v) assert.equal(res.rule.status[k], SlotStatus.NotAggregated);
  });
  assert.ok(res.rule.scores.every((x) => x === 0n));
  assert.ok(res.rule.aggregated.every((x) => !x));
  assert.equal(res.finalState.mask, 0n);
  assert.equal(res.newModelCommitment, res.prevModelCommitment);
}

/**
 * A decision input for `res`'s round built from another decision `rule` of its slots: `rule`'s
 * hints, `mask` in the final state (accFinal reopened) and `outcome` as the public outcome words;
 * ctx, commitments, the models and the openings stay the round's.
 */
function craftedDecision(
  res: RoundResult,
  rule: ConsensusResult,
  outcome: readonly bigint[] = packOutcome(rule.status, rule.scores, config.kMax),
  mask: bigint = maskOf(rule.aggregated),
): CircuitInput {
  const pub = {
    ctx: res.ctx,
    prevModel: res.prevModelCommitment,
    newModel: res.newModelCommitment,
    sealKey: SEAL_KEY,
    reference: res.reference,
    commitments: res.commitments,
    outcome,
  };
  const openings = {
    secret: SEAL_SECRET,
    ephemerals: (res.decision.input["ephemeral"] as bigint[][]).map((e): CurvePoint => [e[0] as bigint, e[1] as bigint]),
    referenceSalt: res.decision.input["referenceSalt"] as bigint,
  };
  return buildDecisionInput(config, pub, { ...res.finalState, mask }, openings, rule).input;
}

/**
 * The consensus rule on `res`'s slots with the quorum of `quorumF` (2 quorumF + 3 valid slots)
 * instead of the round's f: the decision a looser quorum would take, for `craftedDecision`.
 */
function ruleAtQuorum(res: RoundResult, quorumF: number): ConsensusResult {
  const gram = gramFromUpper(res.finalState.gram, config.kMax);
  return consensusDecision({ commitments: res.commitments, excluded: res.decoded.map((d) => !d), gram, f: quorumF });
}

describe("decision circuit accepts the reference computation", () => {
  test("constraint system shape: public inputs [ctx, prevModel, newModel, accFinal, sealKey[2], reference, c[4], outcome[2]]", () => {
    assert.equal(circuit.r1cs.nPubIn, 4 + 2 + 1 + 4 + 2);
    assert.equal(circuit.r1cs.nPubOut, 0);
    console.error(`  decision_k4_c16: ${circuit.r1cs.nConstraints} constraints`);
  });

  test("three agreeing updates and one far beyond the norm cap, snarkjs wtns check: f = 0 aggregates the three (the far one status 2), f = 1 nobody (n = 4 < 5)", async () => {
    const r = rng(11);
    // A common direction plus independent noise: pairwise cosines ~ 0.5, agreeing, not near-duplicates.
    const common = Array.from({ length: 40 }, () => r(-50, 50));
    const honest = (e: bigint): RoundSlot =>
      slot(
        common.map((x) => x + r(-50, 50)),
        e,
      );
    const h0 = honest(100n);
    // Squared norm ~ 2^29.6 per entry against the honest ~ 2^11: far beyond 4 x the median.
    const byzantine = slot(
      Array.from({ length: 40 }, () => r(20000, 32767)),
      999n,
    );
    const slots = [h0, byzantine, honest(101n), honest(102n)];
    // K_MAX = 4: only f = 0 can reach the quorum 2f + 3
    const res = round(slots, 0, vec([5, -5], 40));
    assert.deepEqual(res.rule.status, [1, 2, 1, 1]);
    assert.deepEqual(res.rule.capped, [true, false, true, true]);
    assert.equal(res.rule.tested, true);
    assert.equal(res.finalState.mask, 0b1101n);
    assert.equal(res.rule.scores[1], 0n);
    assert.ok([0, 2, 3].every((k) => (res.rule.scores[k] as bigint) > 0n));
    assert.ok(await circuit.witnessChecked(res.decision.input));
    const res1 = round(slots, 1, vec([5, -5], 40));
    assert.deepEqual(res1.rule.status, [2, 2, 2, 2]);
    assertNobody(res1);
    assert.ok(await circuit.witnessChecked(res1.decision.input));
  });

  test("K < K_MAX: empty slots have status 0 and score 0", async () => {
    // cosines 0.8 and 0.949 (just below the near-duplicate threshold): three clusters, all agreeing
    const res = round([slot(vec([1, 2]), 1n), slot(vec([2, 1]), 2n), slot(vec([3, 3]), 3n)], 0);
    assert.equal(res.rule.n, 3);
    assert.deepEqual(res.rule.status, [1, 1, 1, 0]);
    assert.equal(res.rule.scores[3], 0n);
    await accepts(res);
  });

  test("n < 2f + 3: nobody aggregated, model unchanged", async () => {
    const res = round([slot(vec([1]), 1n), slot(vec([2]), 2n), slot(vec([3]), 3n)], 1, vec([9]));
    assert.deepEqual(res.rule.status, [2, 2, 2, 0]);
    assertNobody(res);
    await accepts(res);
    // f = 255 (the largest f the ctx can carry)
    await accepts(round([slot(vec([1]), 1n), slot(vec([2]), 2n), slot(vec([3]), 3n), slot(vec([4]), 4n)], 255));
    // an empty round
    await accepts(round([], 0));
  });

  test("boundary f = 0: n = 2 = 2f + 2 aggregates nobody, n = 3 = 2f + 3 runs the consensus rule", async () => {
    const below = round([slot(vec([5, 1, 2]), 1n), slot(vec([1, 5, 2]), 2n)], 0, vec([7]));
    assert.deepEqual(below.rule.status, [2, 2, 0, 0]);
    assertNobody(below);
    await accepts(below);
    const at = round([slot(vec([5, 1, 2]), 1n), slot(vec([1, 5, 2]), 2n), slot(vec([2, 1, 5]), 3n)], 0, vec([7]));
    assert.equal(at.rule.active, true);
    assert.equal(at.rule.tested, true);
    assert.deepEqual(at.rule.status, [1, 1, 1, 0]);
    assert.equal(at.finalState.mask, 0b0111n);
    assert.notEqual(at.newModelCommitment, at.prevModelCommitment);
    await accepts(at);
    // two valid updates plus a duplicated pair: n = 2 < 3, duplicates do not count towards the quorum
    const a = slot(vec([9]), 9n);
    const dup = round([slot(vec([5, 1, 2]), 1n), a, slot(vec([1, 5, 2]), 2n), a], 0);
    assert.equal(dup.rule.validCount, 2);
    assert.deepEqual(dup.rule.status, [2, 2, 2, 2]);
    assertNobody(dup);
    await accepts(dup);
  });

  test("a valid zero update counts towards the quorum but is never a candidate: status 2, score 0, not in the mask", async () => {
    const zero = vec([0]);
    // f = 0: three agreeing updates and a zero one: the three are counted, the zero is not.
    const withZero = round([...EQUAL_NORMS.slice(0, 3).map((u, k) => slot(u, BigInt(k + 1))), slot(zero, 9n)], 0, vec([4, -1]));
    assert.deepEqual(withZero.rule.zero, [false, false, false, true]);
    assert.deepEqual(withZero.rule.status, [1, 1, 1, 2]);
    assert.equal(withZero.rule.scores[3], 0n);
    assert.equal(withZero.finalState.mask, 0b0111n);
    await accepts(withZero);
    // Two agreeing updates and a zero one meet the quorum of 3, but the consensus test needs 3 capped
    // slots: nobody is counted (the zero is what makes the round active).
    const two = round([slot(EQUAL_NORMS[0] as bigint[], 1n), slot(EQUAL_NORMS[1] as bigint[], 2n), slot(zero, 9n)], 0);
    assert.equal(two.rule.active, true);
    assert.equal(two.rule.validCount, 3);
    assert.deepEqual(two.rule.status, [2, 2, 2, 0]);
    assertNobodyAggregated(two);
    await accepts(two);
    // The zero slot cannot be claimed counted, nor given a score.
    for (const status of [SlotStatus.Inlier, SlotStatus.Excluded, SlotStatus.Empty]) {
      const claimed = [...withZero.rule.status];
      claimed[3] = status;
      await rejects(
        craftedDecision(withZero, withZero.rule, packOutcome(claimed, withZero.rule.scores, config.kMax)),
        `zero slot as status ${status}`,
      );
    }
    const paid = [...withZero.rule.scores];
    paid[3] = 1n;
    await rejects(craftedDecision(withZero, withZero.rule, packOutcome(withZero.rule.status, paid, config.kMax)), "zero slot with a score");
  });

  test("boundary f = 1: n = 4 = 2f + 2 aggregates nobody; at K_MAX = 4 f = 1 is never active (2f + 3 = 5 > 4)", async () => {
    const slots = EQUAL_NORMS.map((u, k) => slot(u, BigInt(k + 1)));
    for (let n = 0; n <= 4; n++) {
      const res = round(slots.slice(0, n), 1, vec([3, -2]));
      assert.equal(res.rule.validCount, n);
      assertNobody(res);
      await accepts(res);
    }
    // f = 2..255: likewise
    for (const f of [2, 100, 255]) assertNobody(round(slots, f));
  });

  test("the old quorum's decision (n >= f + 3) is no longer provable: an inactive round cannot aggregate or score anyone", async () => {
    const slots = EQUAL_NORMS.map((u, k) => slot(u, BigInt(k + 1)));
    // the helpers reproduce the reference's input when they take the round's own decision
    const active = round(slots, 0);
    assert.deepEqual(active.rule.status, [1, 1, 1, 1]);
    assert.deepEqual(craftedDecision(active, ruleAtQuorum(active, 0)), active.decision.input);
    // f = 1, n = 4 >= f + 3: the old quorum would run the rule and aggregate all four, the new one nobody
    const res = round(slots, 1);
    assertNobody(res);
    assert.deepEqual(craftedDecision(res, res.rule), res.decision.input);
    const old = ruleAtQuorum(res, 0);
    assert.deepEqual(old.status, [1, 1, 1, 1]);
    assert.ok(old.scores.every((s) => s > 0n));
    await rejects(craftedDecision(res, old), "the whole decision of the looser quorum");
    const claimedOutcome = packOutcome(old.status, old.scores, config.kMax);
    const claimedMask = maskOf(old.aggregated);
    assert.equal(claimedMask, 0b1111n);
    // Each part of it alone, the rest honest: the mask, the outcome, its statuses, its scores, its hints.
    await rejects(craftedDecision(res, res.rule, res.outcome, claimedMask), "mask");
    await rejects(craftedDecision(res, res.rule, claimedOutcome), "outcome");
    await rejects(craftedDecision(res, res.rule, packOutcome(old.status, res.rule.scores, config.kMax)), "statuses");
    await rejects(craftedDecision(res, res.rule, packOutcome(res.rule.status, old.scores, config.kMax)), "scores");
    await rejects(craftedDecision(res, old, res.outcome, 0n), "hints");
    await rejects(craftedDecision(res, res.rule, claimedOutcome, claimedMask), "mask and outcome with the inactive hints");
  });

  test("all-equal updates: one cluster of four slots, whose four votes keep its representative; every member counted, score 0 (no other kept cluster)", async () => {
    const u = vec([3, -1]);
    const res = round(
      [1n, 2n, 3n, 4n].map((s) => slot(u, s)),
      0,
      vec([2]),
    );
    assert.equal(res.rule.n, 1);
    assert.deepEqual(res.rule.label, [0, 0, 0, 0]);
    assert.deepEqual(res.rule.clusterSize, [4, 4, 4, 4]);
    assert.equal(res.rule.tested, true);
    assert.deepEqual(res.rule.aggregated, [true, false, false, false]);
    assert.deepEqual(res.rule.status, [1, 1, 1, 1]);
    assert.deepEqual(res.rule.scores, [0n, 0n, 0n, 0n]);
    assert.equal(res.finalState.mask, 0b0001n);
    assert.notEqual(res.newModelCommitment, res.prevModelCommitment);
    await accepts(res);
  });

  test("fewer than 3 capped slots (two equal updates, one beyond the norm cap): the consensus test does not run, nobody is aggregated", async () => {
    const u = vec([3, -1]);
    const res = round([slot(u, 1n), slot(u, 2n), slot(vec([30000, 20000]), 3n)], 0, vec([2]));
    assert.equal(res.rule.active, true);
    assert.deepEqual(res.rule.label, [0, 0, 2, -1]);
    assert.deepEqual(res.rule.capped, [true, false, false, false]);
    assert.equal(res.rule.tested, false);
    assert.deepEqual(res.rule.status, [2, 2, 2, 0]);
    assertNobodyAggregated(res);
    await accepts(res);
  });

  test("ties in the median: equal norms in different directions, the lower median is the second slot by (norm, slot); another slot of the same norm is rejected", async () => {
    const res = round(
      EQUAL_NORMS.map((u, k) => slot(u, BigInt(k + 1))),
      0,
    );
    assert.equal(res.rule.n, 4);
    assert.equal(res.rule.medianSlot, 1);
    assert.equal(res.rule.medianNorm2, 120n);
    assert.ok(res.rule.clip.every((c) => c === 1n << BigInt(CONSENSUS_PARAMS.clipBits)));
    assert.deepEqual(res.rule.status, [1, 1, 1, 1]);
    await accepts(res);
    // The same M2 from slot 0, 2 or 3: the order is by G_rr * K + r, so only slot 1 is the lower median.
    for (const other of [0, 2, 3]) {
      await rejects(
        tamper(res.decision.input, (c) => {
          c["medianSlot"] = [0, 1, 2, 3].map((k) => (k === other ? 1n : 0n));
        }),
        `median slot ${other}`,
      );
    }
  });

  test("duplicates are status 2 and leave the valid set; unavailable slots are empty (commitment 0, status 0)", async () => {
    const a = slot(vec([1]), 7n);
    const res = round([a, slot(vec([2]), 8n), a, { commitment: 12345n, unavailable: true }], 0);
    assert.deepEqual(res.rule.status, [2, 2, 2, 0]); // n = 1 < 3
    assert.deepEqual(res.rule.duplicate, [true, false, true, false]);
    assert.equal(res.decision.publicSignals[7 + 3], 0n);
    await accepts(res);
    const res2 = round([slot(vec([1]), 1n), a, slot(vec([4]), 2n), a], 0);
    assert.deepEqual(res2.rule.status, [2, 2, 2, 2]);
    await accepts(res2);
    const res3 = round([slot(vec([1, 2]), 1n), slot(vec([2, 1]), 3n), slot(vec([3, 3]), 2n), { ...a, unavailable: true }], 0);
    assert.deepEqual(res3.rule.status, [1, 1, 1, 0]);
    assert.equal(res3.rule.scores[3], 0n);
    assert.equal(res3.decision.publicSignals[7 + 3], 0n);
    await accepts(res3);
  });

  test("negative score sums are clamped to zero: a kept cluster whose clipped alignment with the other kept clusters is negative scores 0", async () => {
    const res = round(
      NEGATIVE.map((u, k) => slot(u, BigInt(k + 1))),
      0,
    );
    assert.deepEqual(res.rule.firstPass, [true, true, false, false]);
    assert.deepEqual(res.rule.status, [1, 1, 1, 2]);
    // slot 0's sum over the other kept slots, on the clipped Gram matrix
    const gram = gramFromUpper(res.finalState.gram, config.kMax);
    const h = (i: number, j: number): bigint => (res.rule.clip[i] as bigint) * (res.rule.clip[j] as bigint) * (gram[i]?.[j] as bigint);
    assert.ok(h(0, 1) + h(0, 2) < 0n);
    assert.equal(res.rule.clusterSums[0], 0n);
    assert.deepEqual(res.rule.scores, [0n, (h(1, 0) + h(1, 2)) / SHIFT, (h(2, 0) + h(2, 1)) / SHIFT, 0n]);
    assert.ok((res.rule.scores[1] as bigint) > 0n && (res.rule.scores[2] as bigint) > 0n);
    await accepts(res);
  });

  test("extreme updates at the B-bit bounds that agree: scores near their largest values, and an opposite extreme is status 2", async () => {
    const d = 80;
    // All 32767, except two entries of its own set to -32768 (or the negation of that): pairwise
    // cosines 0.9, agreeing and below the near-duplicate threshold; the norms are within 1e-4.
    const extreme = (k: number, sign: 1 | -1): bigint[] =>
      Array.from({ length: d }, (_, x) => BigInt((x >> 1 === k ? -1 : 1) * sign === 1 ? 32767 : -32768));
    const model = vec([0], d);
    const res = round(
      [0, 1, 2, 3].map((k) => slot(extreme(k, 1), BigInt(k + 1))),
      0,
      model,
    );
    assert.deepEqual(res.rule.status, [1, 1, 1, 1]);
    // Every clip factor 2^F (equal norms): the scores are the plain inner products with the other three.
    const g = gramFromUpper(res.finalState.gram, config.kMax);
    for (let k = 0; k < 4; k++) {
      const expected = [0, 1, 2, 3].filter((j) => j !== k).reduce((s, j) => s + (g[k]?.[j] as bigint), 0n);
      assert.equal(res.rule.scores[k], expected);
    }
    // each pair: 76 entries 32767^2 and 4 entries -32767 * 32768
    assert.deepEqual(res.rule.scores, new Array(4).fill(3n * (76n * 32767n * 32767n - 4n * 32767n * 32768n)));
    await accepts(res);
    const mixed = round([slot(extreme(0, 1), 1n), slot(extreme(1, 1), 2n), slot(extreme(2, 1), 3n), slot(extreme(3, -1), 4n)], 0, model);
    assert.deepEqual(mixed.rule.status, [1, 1, 1, 2]);
    assert.deepEqual(mixed.rule.capped, [true, true, true, true]);
    await accepts(mixed);
  });
});

describe("decision circuit judges by the owner's reference", () => {
  test("D = 64 (margin cos > 1/2): aligned updates counted and each paid its own clipped alignment, the rest status 2; a copy shares its value", async () => {
    const r = rng(31);
    const d = 64;
    const common = Array.from({ length: d }, () => r(-60, 60));
    const near = (): bigint[] => common.map((x) => x + r(-40, 40));
    const u0 = near();
    const u1 = near();
    const against = common.map((x) => -x + r(-20, 20));
    const u3 = [...u0];
    u3[5] = (u3[5] as bigint) + 1n; // a near copy of slot 0 under another commitment
    const slots = [slot(u0, 1n), slot(u1, 2n), slot(against, 3n), slot(u3, 4n)];
    const v = common.map((x) => x + r(-30, 30));
    const res = simulateRound({
      config,
      prevModel: vec([0], d),
      slots,
      f: 0,
      keccak: KECCAK,
      secret: SEAL_SECRET,
      reference: { values: v, salt: 4242n },
    });
    assert.ok(res.rule.byReference);
    assert.deepEqual(res.rule.aligned, [true, true, false, true]);
    assert.deepEqual(res.rule.status, [1, 1, 2, 1]);
    assert.deepEqual(res.rule.aggregated, [true, true, false, false]);
    assert.equal(res.rule.scores[3], res.rule.scores[0]);
    assert.ok((res.rule.scores[0] as bigint) > 0n && (res.rule.scores[1] as bigint) > 0n);
    await accepts(res);
    // Another alignment (the state reopened with it) changes nothing the hints can prove.
    const other = { ...res.finalState, alignment: res.finalState.alignment.map((a, k) => (k === 1 ? a + 1000n : a)) };
    await rejects(
      tamper(res.decision.input, (c) => {
        c["alignment"] = other.alignment.map(toField);
        c["accFinal"] = hashState(other);
      }),
    );
    // A score claimed otherwise is refused.
    const outcome = packOutcome(
      res.rule.status,
      res.rule.scores.map((x, k) => (k === 1 ? x + 1n : x)),
      4,
    );
    await rejects(tamper(res.decision.input, (c) => (c["outcome"] = outcome)));
  });

  test("the quorum by the reference is max(3, 2f + 1): three valid slots count at f = 1 (consensus needs 5), two never; the consensus quorum is refused", async () => {
    const r = rng(37);
    const d = 64;
    const common = Array.from({ length: d }, () => r(-60, 60));
    const near = (): bigint[] => common.map((x) => x + r(-40, 40));
    const v = common.map((x) => x + r(-30, 30));
    const three = [slot(near(), 1n), slot(near(), 2n), slot(near(), 3n)];
    const byReference = (slots: RoundSlot[], f: number): RoundResult =>
      simulateRound({ config, prevModel: vec([0], d), slots, f, keccak: KECCAK, secret: SEAL_SECRET, reference: { values: v, salt: 77n } });
    assert.deepEqual([0, 1, 2].map(roundQuorum), [3, 3, 5]);
    assert.deepEqual([0, 1, 2].map(consensusQuorum), [3, 5, 7]);
    // f = 1: 3 = 2f + 1 valid slots are a quorum by the reference.
    const at = byReference(three, 1);
    assert.equal(at.rule.active, true);
    assert.deepEqual(at.rule.status, [1, 1, 1, 0]);
    assert.ok(at.rule.scores.slice(0, 3).every((x) => x > 0n));
    await accepts(at);
    // The consensus quorum's decision (nobody) on the same round is refused.
    const strict = ruleAtQuorum(at, 1);
    assert.equal(strict.active, false);
    await rejects(craftedDecision(at, strict), "nobody counted at the consensus quorum");
    // Without a reference the same three slots are below the consensus quorum of 5 at f = 1.
    assertNobody(round(three, 1, vec([0], d)));
    // f = 0: two valid slots stay below the floor of 3, by the reference too.
    const two = byReference(three.slice(0, 2), 0);
    assert.equal(two.rule.active, false);
    assertNobodyAggregated(two);
    await accepts(two);
    // f = 2: 2f + 1 = 5 is more than three slots.
    assert.equal(byReference(three, 2).rule.active, false);
  });
});

/**
 * A seeded round of 64 parameters about one common direction: `near()` draws an honest update
 * about it, `delta` is the last global delta (what the previous round's mean step was) and `v` the
 * owner's reference, both about it too; `r` draws on.
 */
function commonDirectionRound(seed: number) {
  const r = rng(seed);
  const d = 64;
  const common = Array.from({ length: d }, () => r(-60, 60));
  const delta = common.map((x) => x + r(-15, 15));
  const v = common.map((x) => x + r(-30, 30));
  return { r, d, near: (): bigint[] => common.map((x) => x + r(-45, 45)), delta, v };
}

/** Each of the hints `names` of a decision input off by one (at every slot, or once for a scalar hint) is refused. */
async function rejectsOffByOne(input: CircuitInput, names: readonly string[]): Promise<void> {
  for (const name of names) {
    const scalar = !Array.isArray(input[name]);
    for (const k of scalar ? [-1] : [0, 1, 2, 3]) {
      for (const step of [1n, -1n]) {
        await rejects(
          tamper(input, (c) => {
            if (scalar) c[name] = mod((c[name] as bigint) + step);
            else (c[name] as bigint[])[k] = mod(((c[name] as bigint[])[k] as bigint) + step);
          }),
          scalar ? `${name} ${step}` : `${name}[${k}] ${step}`,
        );
      }
    }
  }
}

/**
 * A cosine cap in a round's decision input (K = 4): each of `values` off by one at every slot, the
 * one-hot `pivot` moved to every other slot, and a higher score for the capped slot are refused.
 */
async function rejectsCapTampering(
  res: ReturnType<typeof simulateRound>,
  values: readonly string[],
  pivot: string,
  pivotSlot: number,
  capped: number,
): Promise<void> {
  const input = res.decision.input;
  await rejectsOffByOne(input, values);
  for (let k = 0; k < 4; k++) {
    if (k === pivotSlot) continue;
    await rejects(
      tamper(input, (c) => (c[pivot] = [0, 1, 2, 3].map((j) => (j === k ? 1n : 0n)))),
      `${pivot} -> slot ${k}`,
    );
  }
  const inflated = packOutcome(
    res.rule.status,
    res.rule.scores.map((x, k) => (k === capped ? x + 1n : x)),
    4,
  );
  await rejects(
    tamper(input, (c) => (c["outcome"] = inflated)),
    `a higher score for slot ${capped}`,
  );
}

describe("decision circuit caps what a cosine far above the others pays (the top cap)", () => {
  test("an update along the reference itself is paid at 5/4 of the (f + 1)-th highest cosine; every top-cap hint and f are proven", async () => {
    const { d, near, v } = commonDirectionRound(47);
    // Slot 3 sends v itself (what an owner's identity told v, or given a v built for it, would
    // send): cosine 1, far above the honest updates' (about 0.8).
    const res = simulateRound({
      config,
      prevModel: vec([0], d),
      slots: [slot(near(), 1n), slot(near(), 2n), slot(near(), 3n), slot([...v], 4n)],
      f: 1,
      keccak: KECCAK,
      secret: SEAL_SECRET,
      reference: { values: v, salt: 4747n },
    });
    assert.ok(res.rule.byReference && res.rule.topCapped);
    assert.deepEqual(res.rule.status, [1, 1, 1, 1]);
    assert.ok((res.rule.topDeduction[3] as bigint) > 0n, "v itself is above 5/4 of the second highest cosine");
    assert.ok(
      res.rule.topDeduction.slice(0, 3).every((x) => x === 0n),
      "the honest updates are within 5/4 of each other",
    );
    await accepts(res);
    // Every top-cap hint off by one, the pivot moved, or more for slot 3 is refused.
    await rejectsCapTampering(res, ["topRootHint", "topDeductionHint", "topRemainderHint"], "topPivotHint", res.rule.topPivotSlot, 3);
    // Step 8'''': what the cap took from slot 3 is paid to the others. The outcome of the cap alone
    // (slot 3's deduction left to the contract's proportional split) is refused, and so is every
    // redistribution hint off by one.
    assert.deepEqual(res.rule.overTop, [false, false, false, true]);
    assert.ok(res.rule.topPot > 0n && res.rule.uncappedFactor > 1n << BigInt(CONSENSUS_PARAMS.toUncappedBits as number));
    const capAlone = res.rule.scores.map((x, k) => {
      const l = res.rule.label[k] as number;
      if (!res.rule.counted[k] || k === 3) return x;
      const value = (res.rule.clip[l] as bigint) * (res.rule.paidAlignment[l] as bigint);
      return (value > 0n ? value >> BigInt(CONSENSUS_PARAMS.clipBits) : 0n) / BigInt(res.rule.clusterSize[l] as number);
    });
    assert.ok(
      capAlone.some((x, k) => x < (res.rule.scores[k] as bigint)),
      "the honest slots are paid up",
    );
    await rejects(
      tamper(res.decision.input, (c) => (c["outcome"] = packOutcome(res.rule.status, capAlone, 4))),
      "the outcome of the cap alone",
    );
    await rejectsOffByOne(res.decision.input, ["uncappedQuotient", "uncappedRemainder", "uncappedFactor", "uncappedFactorRemainder"]);
    // f is ctx's low byte: with f = 0 the pivot is the highest cosine, not the hinted second one.
    await rejects(
      tamper(res.decision.input, (c) => (c["ctx"] = (c["ctx"] as bigint) - 1n)),
      "f = 0 with the hints of f = 1",
    );
  });
});

describe("decision circuit caps what following the last global delta pays", () => {
  test("a replay of the step committed with the model loses what it follows Delta beyond the median player; every cap hint is proven", async () => {
    const { r, d, near, delta, v } = commonDirectionRound(41);
    // A noisy replay (cosine about 0.94 with Delta: below the replay screen's 0.99, so it is counted).
    const replay = delta.map((x) => x + r(-25, 25));
    const res = simulateRound({
      config,
      prevModel: vec([0], d),
      prevStep: delta,
      slots: [slot(near(), 1n), slot(near(), 2n), slot(near(), 3n), slot(replay, 4n)],
      f: 0,
      keccak: KECCAK,
      secret: SEAL_SECRET,
      reference: { values: v, salt: 4343n },
    });
    assert.ok(res.rule.byReference && res.rule.deltaCapped);
    assert.deepEqual(res.rule.status, [1, 1, 1, 1]);
    assert.ok((res.rule.deltaDeduction[3] as bigint) > 0n, "the replay follows Delta most closely");
    assert.equal(res.rule.deltaDeduction[res.rule.deltaMedianSlot], 0n);
    await accepts(res);
    // The same round with Delta's statistics claimed zero (no cap): the state no longer opens accFinal.
    const uncapped = { ...res.finalState, deltaNorm: 0n };
    await rejects(
      tamper(res.decision.input, (c) => {
        c["deltaNorm"] = 0n;
        c["accFinal"] = hashState(uncapped);
      }),
    );
    // Every cap hint off by one, the median moved, or a higher score for the replay is refused.
    await rejectsCapTampering(
      res,
      ["deltaRootHint", "deltaDeductionHint", "deltaRemainderHint"],
      "deltaMedianHint",
      res.rule.deltaMedianSlot,
      3,
    );
  });

  test("an exact replay of the step committed with the model is valid but neither counted nor paid, in both modes", async () => {
    const { d, near, delta, v } = commonDirectionRound(43);
    for (const withReference of [true, false]) {
      const res = simulateRound({
        config,
        prevModel: vec([0], d),
        prevStep: delta,
        // f = 0: by consensus the quorum is 3 valid slots, by the reference 3 as well.
        slots: [slot(near(), 1n), slot(near(), 2n), slot(near(), 3n), slot([...delta], 4n)],
        f: 0,
        keccak: KECCAK,
        secret: SEAL_SECRET,
        ...(withReference ? { reference: { values: v, salt: 4545n } } : {}),
      });
      const what = withReference ? "by the reference" : "by consensus";
      assert.equal(res.rule.byReference, withReference);
      assert.deepEqual(res.rule.replay, [false, false, false, true], what);
      assert.deepEqual(res.rule.status, [1, 1, 1, 2], what);
      assert.equal(res.rule.scores[3], 0n);
      await accepts(res);
      // Claiming the replay counted, with the first slot's score, is refused.
      const claimed = packOutcome(
        [1, 1, 1, 1],
        res.rule.scores.map((x, k) => (k === 3 ? (res.rule.scores[0] as bigint) : x)),
        4,
      );
      await rejects(
        tamper(res.decision.input, (c) => (c["outcome"] = claimed)),
        what,
      );
    }
  });
});

describe("decision circuit rejects tampered inputs", () => {
  let base: RoundResult;
  let baseSlots: RoundSlot[];

  before(() => {
    const r = rng(21);
    // A common direction plus noise (pairwise cosines 0.1 to 0.4: agreeing, not near-duplicates);
    // slot 2 one and a half times as long; slot 3 a near copy of slot 0 (cosine 0.997: one cluster
    // labelled 0, whose two members split one score). The lower median of the four candidates is
    // slot 0's cluster (two of them), so slots 1 and 2 are clipped to it (sigma < 2^F).
    const common = Array.from({ length: 16 }, () => r(-100, 100));
    const near = (): bigint[] => common.map((x) => x + r(-100, 100));
    const u0 = near();
    const u1 = near();
    const u2 = near().map((x) => (3n * x) / 2n);
    const u3 = u0.map((x) => x + r(-10, 10));
    baseSlots = [slot(u0, 1n), slot(u1, 2n), slot(u2, 3n), slot(u3, 4n)];
    // K_MAX = 4: f = 0 is the only f with a quorum (n = 4 >= 3)
    base = round(baseSlots, 0);
    assert.deepEqual(base.rule.label, [0, 1, 2, 0]);
    assert.deepEqual(base.rule.parent, [-1, -1, -1, 0]);
    assert.equal(base.rule.medianSlot, 0);
    assert.equal(base.rule.tested, true);
    assert.ok([1, 2].every((k) => (base.rule.clip[k] as bigint) < 1n << BigInt(CONSENSUS_PARAMS.clipBits)));
    assert.deepEqual(base.rule.aggregated, [true, true, true, false]);
    assert.deepEqual(base.rule.status, [1, 1, 1, 1]);
    assert.equal(base.rule.scores[3], base.rule.scores[0]);
  });

  test("the untampered input passes", async () => {
    await accepts(base);
  });

  test("wrong outcome words (score, status)", async () => {
    await rejects(
      tamper(base.decision.input, (c) => {
        (c["outcome"] as bigint[])[0] = ((c["outcome"] as bigint[])[0] as bigint) + 4n;
      }),
    );
    const statuses = [...base.rule.status];
    statuses[2] = SlotStatus.NotAggregated;
    await rejects(
      tamper(base.decision.input, (c) => {
        c["outcome"] = packOutcome(statuses, base.rule.scores, 4);
      }),
    );
    await rejects(
      tamper(base.decision.input, (c) => {
        (c["outcome"] as bigint[])[1] = ((c["outcome"] as bigint[])[1] as bigint) + (1n << 66n);
      }),
    );
  });

  test("wrong public model commitments or accumulator", async () => {
    await rejects(
      tamper(base.decision.input, (c) => {
        c["prevModel"] = 1n;
      }),
    );
    await rejects(
      tamper(base.decision.input, (c) => {
        c["newModel"] = 1n;
      }),
    );
    await rejects(
      tamper(base.decision.input, (c) => {
        c["accFinal"] = (c["accFinal"] as bigint) + 1n;
      }),
    );
  });

  test("a different f in ctx changes the decision", async () => {
    await rejects(
      tamper(base.decision.input, (c) => {
        c["ctx"] = computeCtx(KECCAK, 1, 16);
      }),
    );
    await rejects(
      tamper(base.decision.input, (c) => {
        c["ctx"] = (c["ctx"] as bigint) + (1n << 248n);
      }),
    );
  });

  test("commitment openings: another ephemeral key; no slot is left out on the prover's word", async () => {
    await rejects(
      tamper(base.decision.input, (c) => {
        (c["ephemeral"] as bigint[][])[0] = [...(c["ephemeral"] as bigint[][])[1]!];
      }),
    );
    // The removed "unavailable" private input is not a signal of the circuit any more.
    await rejects(
      tamper(base.decision.input, (c) => {
        c["unavailable"] = [0n, 0n, 0n, 1n];
      }),
    );
    // Slot 3 treated as empty while the contract passes its revealed commitment (not flagged, or
    // answered): the commitment must open, and the zero opening of an empty slot does not.
    const leftOut = round([...baseSlots.slice(0, 3), { ...baseSlots[3]!, unavailable: true }], 0);
    assert.deepEqual(leftOut.rule.status, [1, 1, 1, 0]);
    await accepts(leftOut);
    await rejects(
      tamper(leftOut.decision.input, (c) => {
        (c["commitments"] as bigint[])[3] = base.commitments[3]!;
      }),
    );
  });

  test("a slot passed with commitment 0 cannot be counted, whatever ciphertext the chunk proofs absorbed", async () => {
    // The contract passes commitment 0 for slot 3 (flagged, not answered); the aggregator has its data anyway.
    const flagged = round([...baseSlots.slice(0, 3), { ...baseSlots[3]!, unavailable: true }], 0);
    assert.deepEqual(flagged.rule.status, [1, 1, 1, 0]);
    // Counting it: the full round's state (slot 3 decoded, its key in keysHash, its update in the
    // Gram matrix and the model) against commitment 0: refused.
    await rejects(
      tamper(base.decision.input, (c) => {
        (c["commitments"] as bigint[])[3] = 0n;
      }),
    );
    // Its ciphertext absorbed by the chunk proofs: with the zero key (keysHash binds the keys to
    // the decision's) and not decoded, the chunk proof counts it as a zero update.
    const chunkCircuit = await loadCircuit("chunk_k4_c16");
    let state = initialState(config.kMax, {
      mask: flagged.finalState.mask,
      decoded: flagged.finalState.decoded,
      keysHash: flagged.finalState.keysHash,
      size: flagged.finalState.size,
    });
    assert.equal(flagged.chunkWitnesses.length, 1);
    const keys = flagged.chunkWitnesses[0]!.input["keys"] as bigint[][];
    const slotChunks: SlotChunk[] = baseSlots.map((s, k) => ({
      cipher: s.sealed!.chunks[0]!,
      key: [keys[k]![0]!, keys[k]![1]!] as const,
    }));
    assert.deepEqual(slotChunks[3]!.key, [0n, 0n]);
    const w = buildChunkInput(config, state, slotChunks, vec([0]), noReferenceChunk(config));
    const chunkWitness = await chunkCircuit.witness(w.input);
    assert.equal(chunkCircuit.violated(chunkWitness), -1);
    assert.ok(w.updateChunks[3]!.every((v) => v === 0n));
    assert.deepEqual(w.newModelChunk, flagged.newModel);
    state = w.next;
    // The decision accepts that state (only slot 3's trainer chain differs), with slot 3 empty and unpaid.
    assert.notEqual(state.trainerChains[3], flagged.finalState.trainerChains[3]);
    const absorbed = tamper(flagged.decision.input, (c) => {
      c["trainerChains"] = [...state.trainerChains];
      c["accFinal"] = hashState(state);
    });
    const witness = await circuit.witness(absorbed);
    assert.equal(circuit.violated(witness), -1);
    // ... and refuses to call it decoded (nor can a chunk proof decode it: it has no key).
    const claimed = { ...state, decoded: state.decoded | 0b1000n };
    await rejects(
      tamper(absorbed, (c) => {
        c["decoded"] = claimed.decoded;
        c["accFinal"] = hashState(claimed);
      }),
    );
  });

  test("the reference: a non-zero commitment must open over the state's reference chain with the salt; 0 binds nothing", async () => {
    const v = Array.from({ length: 16 }, (_, x) => BigInt((x * 7919) % 255) - 127n);
    const salt = 31337n;
    const withRef = simulateRound({
      config,
      prevModel: vec([0]),
      slots: baseSlots,
      f: 0,
      keccak: KECCAK,
      secret: SEAL_SECRET,
      reference: { values: v, salt },
    });
    assert.notEqual(withRef.reference, 0n);
    // The rule judged by the reference: at D = 16 its margin (cos > 4 / sqrt(D) = 1) aligns nobody.
    assert.ok(withRef.rule.byReference && !base.rule.byReference);
    assert.deepEqual(withRef.rule.status, [2, 2, 2, 2]);
    await accepts(withRef);
    // Tamper the public input, the salt, the chain (the state reopened), the alignments (not reopened).
    await rejects(
      tamper(withRef.decision.input, (c) => {
        c["reference"] = withRef.reference + 1n;
      }),
    );
    await rejects(
      tamper(withRef.decision.input, (c) => {
        c["referenceSalt"] = salt + 1n;
      }),
    );
    const otherChain = { ...withRef.finalState, referenceChain: withRef.finalState.referenceChain + 1n };
    await rejects(
      tamper(withRef.decision.input, (c) => {
        c["referenceChain"] = otherChain.referenceChain;
        c["accFinal"] = hashState(otherChain);
      }),
    );
    await rejects(
      tamper(withRef.decision.input, (c) => {
        (c["alignment"] as bigint[])[0] = toField(withRef.alignment[0]! + 1n);
      }),
    );
    // The round without a reference, passed a commitment: refused (the chunk proofs absorbed zeros).
    await rejects(
      tamper(base.decision.input, (c) => {
        c["reference"] = withRef.reference;
      }),
    );
    // The contract passes 0 (the reference was withheld or left flagged): the chain is not opened,
    // and the rule judges by consensus, so the reference rule's hints and outcome no longer prove...
    const dropped = tamper(withRef.decision.input, (c) => {
      c["reference"] = 0n;
      c["referenceSalt"] = 0n;
    });
    await rejects(dropped);
    // ...and neither do the consensus rule's: the state's mask (fixed by the chunk proofs) is the
    // reference rule's. Whether the reference counts must be settled before the chunk proofs, which
    // is why the contract makes them wait for it (`ReferencePublicationOpen`).
    const consensusHintNames = Object.keys(consensusHints(base.rule, CONSENSUS_PARAMS.clipBits));
    await rejects(
      tamper(dropped, (c) => {
        for (const name of [...consensusHintNames, "outcome"]) c[name] = base.decision.input[name];
      }),
    );
  });

  test("the seal key: another registered key, another secret", async () => {
    await rejects(
      tamper(base.decision.input, (c) => {
        c["sealKey"] = [...(base.decision.input["ephemeral"] as bigint[][])[0]!];
      }),
    );
    await rejects(
      tamper(base.decision.input, (c) => {
        c["secret"] = SEAL_SECRET + 1n;
      }),
    );
  });

  test("the keys the chunk proofs used: keysHash must be the derived keys'", async () => {
    const state = { ...base.finalState, keysHash: base.finalState.keysHash + 1n };
    await rejects(
      tamper(base.decision.input, (c) => {
        c["keysHash"] = state.keysHash;
        c["accFinal"] = hashState(state);
      }),
    );
  });

  test("an ephemeral key off the curve: provable, status 3, and it cannot be claimed decoded", async () => {
    const good = [slot(vec([1]), 1n), slot(vec([2]), 2n), slot(vec([3]), 3n)];
    const chunks = good[2]!.sealed!.chunks;
    const off: RoundSlot = { commitment: sealedCommitment(cipherChain(chunks), [1n, 2n]), sealed: { ephemeral: [1n, 2n], chunks } };
    const res = round([good[0]!, good[1]!, off], 0);
    assert.deepEqual(res.rule.status, [2, 2, 3, 0]);
    await accepts(res);
    const state = { ...res.finalState, decoded: res.finalState.decoded | 0b100n };
    await rejects(
      tamper(res.decision.input, (c) => {
        c["decoded"] = state.decoded;
        c["accFinal"] = hashState(state);
      }),
    );
  });

  test("a keyed slot is left undecoded only with the chunk proofs' malformation bit; a decoded slot cannot carry one", async () => {
    // Slot 2: a valid ephemeral key, a plaintext element beyond its width in chunk 0.
    const good = [slot(vec([1]), 1n), slot(vec([2]), 2n)];
    const key = testKey(3n);
    const chunks = [encryptChunk([1n << 250n, 0n], key, 0)];
    const junk: RoundSlot = {
      commitment: sealedCommitment(cipherChain(chunks), publicKeyOf(3n)),
      sealed: { ephemeral: publicKeyOf(3n), chunks },
    };
    const res = round([good[0]!, good[1]!, junk], 0);
    assert.deepEqual(res.rule.status, [2, 2, 3, 0]);
    assert.equal(res.finalState.malformed, 0b100n);
    await accepts(res);
    // The same decision without the malformation bit: the aggregator's word alone, refused.
    // And the bit on an honest, decoded slot: refused (it would have to be undecoded).
    for (const malformed of [0n, 0b101n]) {
      const state = { ...res.finalState, malformed };
      await rejects(
        tamper(res.decision.input, (c) => {
          c["malformed"] = malformed;
          c["accFinal"] = hashState(state);
        }),
      );
    }
  });

  test("the model size: ctx's D is the chunk proofs' size and the counter is ceil(D / CHUNK)", async () => {
    // base: D = 16, one chunk.
    assert.equal(base.finalState.size, 16n);
    // Another D in ctx (same f, same keccak part).
    await rejects(
      tamper(base.decision.input, (c) => {
        c["ctx"] = computeCtx(KECCAK, 0, 15);
      }),
    );
    // A state whose size is not ctx's, or whose counter is not ceil(D / CHUNK) (both reopened).
    for (const state of [
      { ...base.finalState, size: 15n },
      { ...base.finalState, counter: 2n },
      { ...base.finalState, counter: 0n },
    ]) {
      await rejects(
        tamper(base.decision.input, (c) => {
          c["size"] = state.size;
          c["counter"] = state.counter;
          c["accFinal"] = hashState(state);
        }),
      );
    }
    // D = 17 needs two chunks: a round of 17 parameters passes with counter 2.
    const two = round([slot(vec([5, 1, 2], 17), 1n), slot(vec([1, 5, 2], 17), 2n), slot(vec([2, 1, 5], 17), 3n)], 0, vec([0], 17));
    assert.equal(two.finalState.counter, 2n);
    assert.deepEqual(two.rule.status, [1, 1, 1, 0]);
    await accepts(two);
  });

  test("consensus hints: each hint changed where it matters (a one-hot row's 1 moved, a value off by one) is rejected", async () => {
    const input = base.decision.input;
    const oneHot = (slot: number): bigint[] => [0, 1, 2, 3].map((k) => (k === slot ? 1n : 0n));
    const row = (name: string, i: number, slot: number): [string, (c: Record<string, unknown>) => void] => [
      `${name}[${i}] -> ${slot < 0 ? "none" : `slot ${slot}`}`,
      (c) => ((c[name] as bigint[][])[i] = oneHot(slot)),
    ];
    const median = (slot: number): [string, (c: Record<string, unknown>) => void] => [
      `medianSlot[0] -> ${slot < 0 ? "none" : `slot ${slot}`}`,
      (c) => (c["medianSlot"] = oneHot(slot)),
    ];
    const entry = (name: string, i: number, delta: bigint): [string, (c: Record<string, unknown>) => void] => [
      `${name}[${i}] ${delta < 0n ? "-" : "+"} ${delta < 0n ? -delta : delta}`,
      (c) => ((c[name] as bigint[])[i] = mod(((c[name] as bigint[])[i] as bigint) + delta)),
    ];
    const scalar = (name: string, delta: bigint): [string, (c: Record<string, unknown>) => void] => [
      `${name}[] ${delta < 0n ? "-" : "+"} ${delta < 0n ? -delta : delta}`,
      (c) => (c[name] = mod((c[name] as bigint) + delta)),
    ];
    // A cosine cap's hints set where it does not apply: a root, the pivot, a deduction, a remainder.
    const capOff = (
      root: string,
      pivot: string,
      deduction: string,
      remainder: string,
    ): [string, (c: Record<string, unknown>) => void][] => [
      entry(root, 0, 1n),
      [`${pivot}[0] -> slot 0`, (c) => (c[pivot] = oneHot(0))],
      entry(deduction, 1, 1n),
      entry(remainder, 2, 1n),
    ];
    const changes = [
      // slot 3 (linked to 0) its own label or in slot 1's cluster; slot 0 labelled by its member;
      // slot 1 (linked to nobody) in slot 0's cluster or unlabelled
      row("labelOf", 3, 3),
      row("labelOf", 3, 1),
      row("labelOf", 0, 3),
      row("labelOf", 1, 0),
      row("labelOf", 1, -1),
      // slot 3's parent not linked to it, or missing; a label with a parent
      row("parentOf", 3, 1),
      row("parentOf", 3, 2),
      row("parentOf", 3, -1),
      row("parentOf", 1, 0),
      entry("depth", 3, -1n),
      entry("depth", 3, 1n),
      entry("depth", 0, 1n),
      entry("depth", 1, 1n),
      // the other representatives, a member, nobody
      median(1),
      median(2),
      median(3),
      median(-1),
      // the clipped slot 2, the unclipped slot 0 (2^F), slot 3 (not a representative: 0)
      entry("sigmaHint", 2, 1n),
      entry("sigmaHint", 2, -1n),
      entry("sigmaHint", 0, -1n),
      entry("sigmaHint", 3, 1n),
      entry("shiftQuotient", 0, 1n),
      entry("shiftQuotient", 2, -1n),
      entry("shiftQuotient", 3, 1n),
      entry("shiftRemainder", 0, 1n),
      entry("shiftRemainder", 2, -1n),
      entry("shiftRemainder", 3, 1n),
      entry("splitQuotient", 0, 1n),
      entry("splitQuotient", 1, -1n),
      entry("splitQuotient", 3, 1n),
      entry("splitRemainder", 0, 1n),
      entry("splitRemainder", 1, 1n),
      entry("splitRemainder", 3, 1n),
      // by consensus neither cosine cap applies: none of their hints may be set
      ...capOff("deltaRootHint", "deltaMedianHint", "deltaDeductionHint", "deltaRemainderHint"),
      ...capOff("topRootHint", "topPivotHint", "topDeductionHint", "topRemainderHint"),
      // nobody is over the top cap: the factor is 2^P, every quotient the clamped value, every remainder 0
      scalar("uncappedFactor", 1n),
      scalar("uncappedFactor", -1n),
      scalar("uncappedFactorRemainder", 1n),
      entry("uncappedQuotient", 0, 1n),
      entry("uncappedQuotient", 3, 1n),
      entry("uncappedRemainder", 0, 1n),
      entry("uncappedRemainder", 3, 1n),
    ];
    const names = new Set(changes.map(([what]) => what.slice(0, what.indexOf("["))));
    assert.deepEqual([...names].sort(), Object.keys(consensusHints(base.rule, CONSENSUS_PARAMS.clipBits)).sort());
    for (const [what, edit] of changes) await rejects(tamper(input, edit), what);

    // Quotient and remainder pairs that still add up, with the outcome (and the split) following
    // them: only the remainders' ranges refuse them.
    const size = BigInt(base.rule.clusterSize[0] as number);
    const split = base.decision.input["splitQuotient"] as bigint[];
    const withScore0 = (score: bigint): bigint[] =>
      packOutcome(
        base.rule.status,
        base.rule.scores.map((s, k) => (base.rule.label[k] === 0 ? score : s)),
        config.kMax,
      );
    await rejects(
      tamper(input, (c) => {
        (c["splitQuotient"] as bigint[])[0] = (split[0] as bigint) - 1n;
        (c["splitRemainder"] as bigint[])[0] = ((c["splitRemainder"] as bigint[])[0] as bigint) + size;
        c["outcome"] = withScore0((split[0] as bigint) - 1n);
      }),
      "split remainder >= cluster size",
    );
    const clusterScore = (base.rule.clusterScores[0] as bigint) - 1n;
    await rejects(
      tamper(input, (c) => {
        (c["shiftQuotient"] as bigint[])[0] = clusterScore;
        (c["shiftRemainder"] as bigint[])[0] = ((c["shiftRemainder"] as bigint[])[0] as bigint) + SHIFT;
        (c["splitQuotient"] as bigint[])[0] = clusterScore / size;
        (c["splitRemainder"] as bigint[])[0] = clusterScore % size;
        c["outcome"] = withScore0(clusterScore / size);
      }),
      "shift remainder >= 2^(2F)",
    );
  });

  test("no other aggregation mask can be proven: every other mask in [0, 16) with the honest hints, the outcome kept or made to fit the mask", async () => {
    const honestMask = base.finalState.mask;
    assert.equal(honestMask, 0b0111n);
    for (let mask = 0n; mask < 16n; mask++) {
      if (mask === honestMask) continue;
      const accFinal = hashState({ ...base.finalState, mask });
      await rejects(
        tamper(base.decision.input, (c) => {
          c["mask"] = mask;
          c["accFinal"] = accFinal;
        }),
        `mask ${mask}, outcome kept`,
      );
      // The outcome a prover would publish with that mask: the claimed clusters' members counted, with their honest scores.
      const counted = base.rule.label.map((l) => l >= 0 && ((mask >> BigInt(l)) & 1n) === 1n);
      const outcome = packOutcome(
        base.rule.status.map((s, k) => (base.rule.valid[k] === true ? (counted[k] ? SlotStatus.Inlier : SlotStatus.NotAggregated) : s)),
        base.rule.scores.map((s, k) => (counted[k] ? s : 0n)),
        config.kMax,
      );
      await rejects(
        tamper(base.decision.input, (c) => {
          c["mask"] = mask;
          c["accFinal"] = accFinal;
          c["outcome"] = outcome;
        }),
        `mask ${mask}, outcome to fit`,
      );
    }
  });

  test("a negative score cannot be passed off as a huge positive one (the field value of the negative sum)", async () => {
    const res = round(
      NEGATIVE.map((u, k) => slot(u, BigInt(k + 1))),
      0,
    );
    assert.equal(res.rule.aggregated[0], true);
    const gram = gramFromUpper(res.finalState.gram, config.kMax);
    const h = (i: number, j: number): bigint => (res.rule.clip[i] as bigint) * (res.rule.clip[j] as bigint) * (gram[i]?.[j] as bigint);
    const sum = h(0, 1) + h(0, 2);
    assert.ok(sum < 0n);
    // slot 0's sum read as a field element, shifted by 2^(2F) and cut to the 64 score bits
    const field = toField(sum);
    const claimed = (field / SHIFT) & ((1n << 64n) - 1n);
    assert.ok(claimed > 0n);
    const scores = [...res.rule.scores];
    scores[0] = claimed;
    const outcome = packOutcome(res.rule.status, scores, config.kMax);
    await rejects(
      tamper(res.decision.input, (c) => {
        c["outcome"] = outcome;
      }),
      "the outcome alone",
    );
    // with the hints of that reading: quotient `claimed`, the rest of the field value as remainder
    await rejects(
      tamper(res.decision.input, (c) => {
        c["outcome"] = outcome;
        (c["shiftQuotient"] as bigint[])[0] = claimed;
        (c["shiftRemainder"] as bigint[])[0] = mod(field - claimed * SHIFT);
        (c["splitQuotient"] as bigint[])[0] = claimed;
        (c["splitRemainder"] as bigint[])[0] = 0n;
      }),
      "the outcome and the hints",
    );
  });
});
