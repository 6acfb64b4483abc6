/**
 * Witness-level tests of the decision circuit (circuits/main/decision_k4_c16.circom) against
 * the reference implementation in packages/core.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  SlotStatus,
  buildChunkInput,
  buildDecisionInput,
  cipherChain,
  computeCtx,
  encryptChunk,
  gramFromUpper,
  hashState,
  initialState,
  inlierScores,
  maskOf,
  multiKrumQuorum,
  packOutcome,
  publicKeyOf,
  sealedCommitment,
  simulateRound,
  squaredDistance,
  toField,
  type CircuitConfig,
  type CircuitInput,
  type CurvePoint,
  type KrumResult,
  type RoundResult,
  type RoundSlot,
  type SlotChunk,
} from "@fedmarket/core";
import { SEAL_KEY, SEAL_SECRET, loadCircuit, releaseCurves, rng, sealedTestSlot, tamper, testKey, type TestCircuit } from "./harness.ts";

const config: CircuitConfig = { kMax: 4, chunk: 16, updateBits: 16, modelBits: 32 };
const KECCAK = 0xabcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789n;
let circuit: TestCircuit;

before(async () => {
  circuit = await loadCircuit("decision_k4_c16");
});
after(releaseCurves);

const vec = (xs: number[], d = 16): bigint[] => Array.from({ length: d }, (_, i) => BigInt(xs[i % xs.length] as number));
const slot = (u: bigint[], e: bigint): RoundSlot => sealedTestSlot(config, u, e);

function round(slots: RoundSlot[], f: number, prevModel: bigint[] = vec([0])): RoundResult {
  return simulateRound({ config, prevModel, slots, f, keccak: KECCAK, secret: SEAL_SECRET });
}

async function accepts(r: RoundResult): Promise<void> {
  const witness = await circuit.witness(r.decision.input);
  assert.equal(circuit.violated(witness), -1);
  assert.deepEqual(witness.slice(1, 1 + r.decision.publicSignals.length), [...r.decision.publicSignals]);
}

async function rejects(input: CircuitInput): Promise<void> {
  await assert.rejects(circuit.witness(input));
}

/** The inactive branch: every valid slot status 2, scores 0, mask 0, model unchanged. */
function assertNobody(res: RoundResult): void {
  assert.equal(res.krum.active, false);
  assert.ok(res.krum.n < multiKrumQuorum(Number(res.ctx & 0xffn)));
  res.krum.valid.forEach((v, k) => {
    if (v) assert.equal(res.krum.status[k], SlotStatus.NotAggregated);
  });
  assert.ok(res.krum.scores.every((x) => x === 0n));
  assert.equal(res.finalState.mask, 0n);
  assert.equal(res.newModelCommitment, res.prevModelCommitment);
}

/**
 * The decision input the old quorum (`n >= f + 3`) would have produced for `res`'s round: Multi-Krum
 * run regardless of the 2f + 3 quorum (m = n - f - 2 distances, n - f inliers), with its mask in
 * the final state, its statuses and scores in the outcome and its hints.
 */
function oldQuorumDecision(res: RoundResult, f: number): CircuitInput {
  const k = config.kMax;
  const gram = gramFromUpper(res.finalState.gram, k);
  const members = res.krum.valid.flatMap((v, i) => (v ? [i] : []));
  const n = members.length;
  assert.ok(n >= f + 3, "the old quorum must be reached");
  const selected = Array.from({ length: k }, () => new Array<boolean>(k).fill(false));
  const tau = new Array<bigint>(k).fill(0n);
  const krumScores = new Array<bigint>(k).fill(0n);
  const inliers = new Array<boolean>(k).fill(false);
  let keyThreshold = 0n;
  for (const i of members) {
    const row = members
      .filter((j) => j !== i)
      .map((j) => ({ j, d: squaredDistance(gram, i, j) }))
      .sort((a, b) => (a.d < b.d ? -1 : a.d > b.d ? 1 : a.j - b.j));
    for (const { j, d } of row.slice(0, n - f - 2)) {
      (selected[i] as boolean[])[j] = true;
      krumScores[i] = (krumScores[i] as bigint) + d;
      tau[i] = d;
    }
  }
  const keys = members.map((i) => ({ i, key: (krumScores[i] as bigint) * BigInt(k) + BigInt(i) })).sort((a, b) => (a.key < b.key ? -1 : 1));
  for (const { i, key } of keys.slice(0, n - f)) {
    inliers[i] = true;
    keyThreshold = key + 1n;
  }
  const scores = inlierScores(gram, inliers);
  const status = res.krum.status.map((st, i) =>
    res.krum.valid[i] === true ? (inliers[i] === true ? SlotStatus.Inlier : SlotStatus.NotAggregated) : st,
  );
  const krum: KrumResult = { ...res.krum, active: true, inliers, krumScores, scores, status, selected, tau, keyThreshold };
  const pub = {
    ctx: res.ctx,
    prevModel: res.prevModelCommitment,
    newModel: res.newModelCommitment,
    sealKey: SEAL_KEY,
    commitments: res.commitments,
    outcome: packOutcome(status, scores, k),
  };
  const openings = {
    secret: SEAL_SECRET,
    ephemerals: (res.decision.input["ephemeral"] as bigint[][]).map((e) => [e[0], e[1]] as unknown as CurvePoint),
  };
  return buildDecisionInput(config, pub, { ...res.finalState, mask: maskOf(inliers) }, openings, krum).input;
}

describe("decision circuit accepts the reference computation", () => {
  test("constraint system shape: public inputs [ctx, prevModel, newModel, accFinal, sealKey[2], c[4], outcome[2]]", () => {
    assert.equal(circuit.r1cs.nPubIn, 4 + 2 + 4 + 2);
    assert.equal(circuit.r1cs.nPubOut, 0);
    console.error(`  decision_k4_c16: ${circuit.r1cs.nConstraints} constraints`);
  });

  test("random round with one far update, snarkjs wtns check: f = 0 aggregates all four, f = 1 nobody (n = 4 < 5)", async () => {
    const r = rng(11);
    const honest = [0, 1, 2].map((k) =>
      slot(
        Array.from({ length: 40 }, () => r(-50, 50)),
        BigInt(k + 100),
      ),
    );
    const byzantine = slot(
      Array.from({ length: 40 }, () => r(20000, 32767)),
      999n,
    );
    const slots = [honest[0] as RoundSlot, byzantine, honest[1] as RoundSlot, honest[2] as RoundSlot];
    // K_MAX = 4: only f = 0 can reach the quorum 2f + 3, and then every valid update is an inlier
    const res = round(slots, 0, vec([5, -5], 40));
    assert.deepEqual(res.krum.status, [1, 1, 1, 1]);
    assert.ok(await circuit.witnessChecked(res.decision.input));
    const res1 = round(slots, 1, vec([5, -5], 40));
    assert.deepEqual(res1.krum.status, [2, 2, 2, 2]);
    assertNobody(res1);
    assert.ok(await circuit.witnessChecked(res1.decision.input));
  });

  test("K < K_MAX: empty slots have status 0 and score 0", async () => {
    const res = round([slot(vec([1, 2]), 1n), slot(vec([2, 1]), 2n), slot(vec([3, 3]), 3n)], 0);
    assert.deepEqual(res.krum.status, [1, 1, 1, 0]);
    await accepts(res);
  });

  test("n < 2f + 3: nobody aggregated, model unchanged", async () => {
    const res = round([slot(vec([1]), 1n), slot(vec([2]), 2n), slot(vec([3]), 3n)], 1, vec([9]));
    assert.deepEqual(res.krum.status, [2, 2, 2, 0]);
    assertNobody(res);
    await accepts(res);
    // f = 255 (the largest f the ctx can carry)
    await accepts(round([slot(vec([1]), 1n), slot(vec([2]), 2n), slot(vec([3]), 3n), slot(vec([4]), 4n)], 255));
    // an empty round
    await accepts(round([], 0));
  });

  test("boundary f = 0: n = 2 = 2f + 2 aggregates nobody, n = 3 = 2f + 3 runs Multi-Krum", async () => {
    const below = round([slot(vec([1, 4]), 1n), slot(vec([2, -3]), 2n)], 0, vec([7]));
    assert.deepEqual(below.krum.status, [2, 2, 0, 0]);
    assertNobody(below);
    await accepts(below);
    const at = round([slot(vec([1, 4]), 1n), slot(vec([2, -3]), 2n), slot(vec([-5, 6]), 3n)], 0, vec([7]));
    assert.equal(at.krum.active, true);
    assert.deepEqual(at.krum.status, [1, 1, 1, 0]);
    assert.equal(at.finalState.mask, 0b0111n);
    assert.notEqual(at.newModelCommitment, at.prevModelCommitment);
    await accepts(at);
    // two valid updates plus a duplicated pair: n = 2 < 3, duplicates do not count towards the quorum
    const a = slot(vec([9]), 9n);
    const dup = round([slot(vec([1, 4]), 1n), a, slot(vec([2, -3]), 2n), a], 0);
    assert.deepEqual(dup.krum.status, [2, 2, 2, 2]);
    assertNobody(dup);
    await accepts(dup);
  });

  test("boundary f = 1: n = 4 = 2f + 2 aggregates nobody; at K_MAX = 4 f = 1 is never active (2f + 3 = 5 > 4)", async () => {
    const r = rng(12);
    const slots = [0, 1, 2, 3].map((k) =>
      slot(
        Array.from({ length: 16 }, () => r(-300, 300)),
        BigInt(k + 1),
      ),
    );
    for (let n = 0; n <= 4; n++) {
      const res = round(slots.slice(0, n), 1, vec([3, -2]));
      assert.equal(res.krum.n, n);
      assertNobody(res);
      await accepts(res);
    }
    // f = 2..255: likewise
    for (const f of [2, 100, 255]) assertNobody(round(slots, f));
  });

  test("the old quorum's decision (n >= f + 3) is no longer provable", async () => {
    const r = rng(13);
    const slots = [0, 1, 2, 3].map((k) =>
      slot(
        Array.from({ length: 16 }, () => r(-100, 100) * BigInt(k === 2 ? 50 : 1)),
        BigInt(k + 1),
      ),
    );
    // the helper reproduces the reference where both quorums agree (f = 0, n = 4)
    const active = round(slots, 0);
    assert.deepEqual(oldQuorumDecision(active, 0), active.decision.input);
    // f = 1, n = 4: the old rule would aggregate the three closest updates, the new one nobody
    const res = round(slots, 1);
    assertNobody(res);
    const old = oldQuorumDecision(res, 1);
    assert.equal(old["mask"], 0b1011n);
    await rejects(old);
  });

  test("all-equal updates: ties in the distance selection", async () => {
    const u = vec([3, -1]);
    const res = round(
      [1n, 2n, 3n, 4n].map((s) => slot(u, s)),
      0,
    );
    assert.deepEqual(res.krum.status, [1, 1, 1, 1]);
    await accepts(res);
  });

  test("duplicates are status 2 and leave the valid set; unavailable slots are empty (commitment 0, status 0)", async () => {
    const a = slot(vec([1]), 7n);
    const res = round([a, slot(vec([2]), 8n), a, { commitment: 12345n, unavailable: true }], 0);
    assert.deepEqual(res.krum.status, [2, 2, 2, 0]); // n = 1 < 3
    assert.equal(res.decision.publicSignals[6 + 3], 0n);
    await accepts(res);
    const res2 = round([slot(vec([1]), 1n), a, slot(vec([4]), 2n), a], 0);
    assert.deepEqual(res2.krum.status, [2, 2, 2, 2]);
    await accepts(res2);
    const res3 = round([slot(vec([1]), 1n), slot(vec([2]), 3n), slot(vec([4]), 2n), { ...a, unavailable: true }], 0);
    assert.deepEqual(res3.krum.status, [1, 1, 1, 0]);
    assert.equal(res3.krum.scores[3], 0n);
    assert.equal(res3.decision.publicSignals[6 + 3], 0n);
    await accepts(res3);
  });

  test("negative score sums are clamped to zero", async () => {
    const res = round([slot(vec([10]), 1n), slot(vec([-3]), 2n), slot(vec([-3]), 3n)], 0);
    assert.deepEqual(res.krum.status, [1, 1, 1, 0]);
    assert.deepEqual(res.krum.scores, [16n * 40n, 0n, 0n, 0n]);
    await accepts(res);
  });

  test("extreme updates: scores near their largest values", async () => {
    const hi = vec([32767], 80);
    const lo = vec([-32768], 80);
    const res = round([slot(hi, 1n), slot(hi, 2n), slot(hi, 3n), slot(hi, 4n)], 0, vec([0], 16 * 5));
    assert.deepEqual(res.krum.status, [1, 1, 1, 1]);
    assert.deepEqual(res.krum.scores, new Array(4).fill(4n * 80n * 32767n * 32767n));
    await accepts(res);
    const mixed = round([slot(hi, 1n), slot(hi, 2n), slot(hi, 3n), slot(lo, 4n)], 0, vec([0], 16 * 5));
    assert.deepEqual(mixed.krum.status, [1, 1, 1, 1]);
    await accepts(mixed);
  });
});

describe("decision circuit rejects tampered inputs", () => {
  let base: RoundResult;
  let baseSlots: RoundSlot[];

  before(() => {
    const r = rng(21);
    const slots = [0, 1, 2, 3].map((k) =>
      slot(
        Array.from({ length: 16 }, () => r(-100, 100) * BigInt(k === 2 ? 50 : 1)),
        BigInt(k + 1),
      ),
    );
    // K_MAX = 4: f = 0 is the only f with a quorum (n = 4 >= 3), everyone is an inlier
    baseSlots = slots;
    base = round(slots, 0);
    assert.deepEqual(base.krum.status, [1, 1, 1, 1]);
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
    const statuses = [...base.krum.status];
    statuses[2] = SlotStatus.NotAggregated;
    await rejects(
      tamper(base.decision.input, (c) => {
        c["outcome"] = packOutcome(statuses, base.krum.scores, 4);
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
    assert.deepEqual(leftOut.krum.status, [1, 1, 1, 0]);
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
    assert.deepEqual(flagged.krum.status, [1, 1, 1, 0]);
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
    const w = buildChunkInput(config, state, slotChunks, vec([0]));
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
    assert.deepEqual(res.krum.status, [2, 2, 3, 0]);
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
    assert.deepEqual(res.krum.status, [2, 2, 3, 0]);
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
    const two = round([slot(vec([1], 17), 1n), slot(vec([2], 17), 2n), slot(vec([3], 17), 3n)], 0, vec([0], 17));
    assert.equal(two.finalState.counter, 2n);
    await accepts(two);
  });

  test("Krum hints: a different selection or separator", async () => {
    // swap one selected distance of row 0 for an unselected one
    const sel = base.decision.input["selected"] as bigint[][];
    const row = sel[0] as bigint[];
    const on = row.findIndex((x, j) => x === 1n && j !== 0);
    const off = row.findIndex((x, j) => x === 0n && j !== 0);
    assert.ok(on > 0 && off > 0);
    await rejects(
      tamper(base.decision.input, (c) => {
        const r0 = (c["selected"] as bigint[][])[0] as bigint[];
        r0[on] = 0n;
        r0[off] = 1n;
      }),
    );
    await rejects(
      tamper(base.decision.input, (c) => {
        (c["tau"] as bigint[])[0] = 0n;
      }),
    );
    await rejects(
      tamper(base.decision.input, (c) => {
        c["keyThreshold"] = 0n;
      }),
    );
    await rejects(
      tamper(base.decision.input, (c) => {
        ((c["selected"] as bigint[][])[1] as bigint[])[1] = 1n;
      }),
    );
  });

  test("no other aggregation mask can be proven (every mask, the thresholds that would fit it)", async () => {
    const honestMask = base.finalState.mask;
    const keys = base.krum.krumScores.map((s, i) => s * 4n + BigInt(i));
    for (let mask = 0n; mask < 16n; mask++) {
      if (mask === honestMask) continue;
      const state = { ...base.finalState, mask };
      const accFinal = hashState(state);
      // A threshold selects the keys below it. The ones closest to fitting this mask: just above
      // its largest selected key, at its smallest unselected key, and 0 (all nine thresholds per
      // mask took three times as long and every one failed the same checks).
      const inMask = keys.filter((_, i) => ((mask >> BigInt(i)) & 1n) === 1n);
      const outMask = keys.filter((_, i) => ((mask >> BigInt(i)) & 1n) === 0n);
      const thresholds = [
        0n,
        ...(inMask.length === 0 ? [] : [inMask.reduce((a, b) => (a > b ? a : b)) + 1n]),
        ...(outMask.length === 0 ? [] : [outMask.reduce((a, b) => (a < b ? a : b))]),
      ];
      for (const keyThreshold of thresholds) {
        await rejects(
          tamper(base.decision.input, (c) => {
            c["mask"] = mask;
            c["accFinal"] = accFinal;
            c["keyThreshold"] = keyThreshold;
          }),
        );
      }
    }
  });

  test("a negative score cannot be passed off as a huge positive one", async () => {
    const res = round([slot(vec([10]), 1n), slot(vec([-3]), 2n), slot(vec([-3]), 3n)], 0);
    const scores = [...res.krum.scores];
    // claim slot 1's (negative) sum as its score, as a field element
    let sum = 0n;
    for (const i of [0, 1, 2]) sum += res.finalState.gram[[1, 4, 5][i] as number] as bigint;
    assert.ok(sum < 0n);
    scores[1] = toField(sum) & ((1n << 64n) - 1n);
    await rejects(
      tamper(res.decision.input, (c) => {
        c["outcome"] = packOutcome(res.krum.status, scores, 4);
      }),
    );
  });
});
