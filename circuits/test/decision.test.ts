/**
 * Witness-level tests of the decision circuit (circuits/main/decision_k4_c16.circom) against
 * the reference implementation in packages/core.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  SlotStatus,
  committedSlot,
  computeCtx,
  hashState,
  packOutcome,
  simulateRound,
  toField,
  type CircuitConfig,
  type CircuitInput,
  type RoundResult,
  type RoundSlot,
} from "@fedmarket/core";
import { loadCircuit, releaseCurves, rng, tamper, type TestCircuit } from "./harness.ts";

const config: CircuitConfig = { kMax: 4, chunk: 16, updateBits: 16, modelBits: 32 };
const KECCAK = 0xabcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789n;
let circuit: TestCircuit;

before(async () => {
  circuit = await loadCircuit("decision_k4_c16");
});
after(releaseCurves);

const vec = (xs: number[], d = 16): bigint[] => Array.from({ length: d }, (_, i) => BigInt(xs[i % xs.length] as number));
const slot = (u: bigint[], salt: bigint): RoundSlot => committedSlot(config, u, salt);

function round(slots: RoundSlot[], f: number, prevModel: bigint[] = vec([0])): RoundResult {
  return simulateRound({ config, prevModel, slots, f, keccak: KECCAK });
}

async function accepts(r: RoundResult): Promise<void> {
  const witness = await circuit.witness(r.decision.input);
  assert.equal(circuit.violated(witness), -1);
  assert.deepEqual(witness.slice(1, 1 + r.decision.publicSignals.length), [...r.decision.publicSignals]);
}

async function rejects(input: CircuitInput): Promise<void> {
  await assert.rejects(circuit.witness(input));
}

describe("decision circuit accepts the reference computation", () => {
  test("constraint system shape: public inputs [ctx, prevModel, newModel, accFinal, c[4], outcome[2]]", () => {
    assert.equal(circuit.r1cs.nPubIn, 4 + 4 + 2);
    assert.equal(circuit.r1cs.nPubOut, 0);
    console.error(`  decision_k4_c16: ${circuit.r1cs.nConstraints} constraints`);
  });

  test("random round with one Byzantine update (f = 1), snarkjs wtns check", async () => {
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
    const res = round([honest[0] as RoundSlot, byzantine, honest[1] as RoundSlot, honest[2] as RoundSlot], 1, vec([5, -5], 40));
    assert.deepEqual(res.krum.status, [1, 2, 1, 1]);
    assert.ok(await circuit.witnessChecked(res.decision.input));
  });

  test("K < K_MAX: empty slots have status 0 and score 0", async () => {
    const res = round([slot(vec([1, 2]), 1n), slot(vec([2, 1]), 2n), slot(vec([3, 3]), 3n)], 0);
    assert.deepEqual(res.krum.status, [1, 1, 1, 0]);
    await accepts(res);
  });

  test("n < f + 3: nobody aggregated, model unchanged", async () => {
    const res = round([slot(vec([1]), 1n), slot(vec([2]), 2n), slot(vec([3]), 3n)], 1, vec([9]));
    assert.deepEqual(res.krum.status, [2, 2, 2, 0]);
    assert.equal(res.newModelCommitment, res.prevModelCommitment);
    await accepts(res);
    // f = 255 (the largest f the ctx can carry)
    await accepts(round([slot(vec([1]), 1n), slot(vec([2]), 2n), slot(vec([3]), 3n), slot(vec([4]), 4n)], 255));
    // an empty round
    await accepts(round([], 0));
  });

  test("all-equal updates: ties broken by the lower slot", async () => {
    const u = vec([3, -1]);
    const res = round(
      [1n, 2n, 3n, 4n].map((s) => slot(u, s)),
      1,
    );
    assert.deepEqual(res.krum.status, [1, 1, 1, 2]);
    await accepts(res);
  });

  test("duplicates are status 2 and leave the valid set; excluded slots are status 3", async () => {
    const a = slot(vec([1]), 7n);
    const res = round([a, slot(vec([2]), 8n), a, { commitment: 12345n, excluded: true }], 0);
    assert.deepEqual(res.krum.status, [2, 2, 2, 3]); // n = 1 < 3
    await accepts(res);
    const res2 = round([slot(vec([1]), 1n), a, slot(vec([4]), 2n), a], 0);
    assert.deepEqual(res2.krum.status, [2, 2, 2, 2]);
    await accepts(res2);
    const res3 = round([slot(vec([1]), 1n), slot(vec([2]), 3n), slot(vec([4]), 2n), { commitment: 5n, excluded: true }], 0);
    assert.deepEqual(res3.krum.status, [1, 1, 1, 3]);
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
    const res = round([slot(hi, 1n), slot(hi, 2n), slot(hi, 3n), slot(lo, 4n)], 1, vec([0], 16 * 5));
    assert.deepEqual(res.krum.status, [1, 1, 1, 2]);
    await accepts(res);
  });
});

describe("decision circuit rejects tampered inputs", () => {
  let base: RoundResult;

  before(() => {
    const r = rng(21);
    const slots = [0, 1, 2, 3].map((k) =>
      slot(
        Array.from({ length: 16 }, () => r(-100, 100) * BigInt(k === 2 ? 50 : 1)),
        BigInt(k + 1),
      ),
    );
    base = round(slots, 1);
    assert.deepEqual(base.krum.status, [1, 1, 2, 1]);
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
    statuses[2] = SlotStatus.Inlier;
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
        c["ctx"] = computeCtx(KECCAK, 0);
      }),
    );
    await rejects(
      tamper(base.decision.input, (c) => {
        c["ctx"] = (c["ctx"] as bigint) + (1n << 248n);
      }),
    );
  });

  test("commitment openings: wrong salt, excluding an empty slot, not excluding", async () => {
    await rejects(
      tamper(base.decision.input, (c) => {
        (c["salt"] as bigint[])[0] = 77n;
      }),
    );
    const withEmpty = round([slot(vec([1]), 1n), slot(vec([2]), 2n), slot(vec([3]), 3n)], 0);
    await rejects(
      tamper(withEmpty.decision.input, (c) => {
        (c["excluded"] as bigint[])[3] = 1n;
      }),
    );
    await rejects(
      tamper(withEmpty.decision.input, (c) => {
        (c["excluded"] as bigint[])[0] = 2n;
      }),
    );
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

  test("no other aggregation mask can be proven (every mask, every plausible threshold)", async () => {
    const honestMask = base.finalState.mask;
    const keys = base.krum.krumScores.map((s, i) => s * 4n + BigInt(i));
    const thresholds = [0n, ...keys.map((k) => k + 1n), ...keys];
    for (let mask = 0n; mask < 16n; mask++) {
      if (mask === honestMask) continue;
      const state = { ...base.finalState, mask };
      const accFinal = hashState(state);
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
