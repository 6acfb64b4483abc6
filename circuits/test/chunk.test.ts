/**
 * Witness-level tests of the chunk circuit (circuits/main/chunk_k4_c16.circom) against the
 * reference implementation in packages/core.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  FIELD_MODULUS,
  chainStep,
  cipherChain,
  encryptChunk,
  hashNarrow,
  hashState,
  publicKeyOf,
  referenceChunks,
  referenceCommitment,
  sealedCommitment,
  initialState,
  modelCommitment,
  noReferenceChunk,
  pack,
  simulateRound,
  stateFields,
  buildChunkInput,
  type CircuitConfig,
  type CircuitInput,
  type RoundSlot,
  type SlotChunk,
  unpack,
} from "@fedmarket/core";
import {
  SEAL_SECRET,
  loadCircuit,
  releaseCurves,
  rng,
  sealedTestSlot,
  tamper,
  testKey,
  testKeysHash,
  testSlotChunks,
  type TestCircuit,
} from "./harness.ts";

const config: CircuitConfig = { kMax: 4, chunk: 16, updateBits: 16, modelBits: 32 };
const HALF = 1n << 15n;
const GHALF = 1n << 31n;
const NO_REF = noReferenceChunk(config);
let circuit: TestCircuit;

before(async () => {
  circuit = await loadCircuit("chunk_k4_c16");
});
after(releaseCurves);

/** Every chunk witness of a round must generate and satisfy the R1CS. */
async function assertRoundChunks(slots: RoundSlot[], prevModel: bigint[], f: number): Promise<CircuitInput[]> {
  const round = simulateRound({ config, prevModel, slots, f, keccak: 42n, secret: SEAL_SECRET });
  for (const w of round.chunkWitnesses) {
    const witness = await circuit.witness(w.input);
    assert.equal(circuit.violated(witness), -1);
    // public signals sit right after the constant 1
    assert.deepEqual(witness.slice(1, 3), [...w.publicSignals]);
  }
  return round.chunkWitnesses.map((w) => w.input);
}

describe("chunk circuit accepts the reference computation", () => {
  test("constraint system shape", () => {
    assert.equal(circuit.r1cs.nPubIn, 2);
    assert.equal(circuit.r1cs.nPubOut, 0);
    console.error(`  chunk_k4_c16: ${circuit.r1cs.nConstraints} constraints`);
  });

  test("random updates over three chunks (last one padded), snarkjs wtns check", async () => {
    const r = rng(1);
    const d = 40;
    // A shared direction plus each slot's own part (cosine ~ 0.8): the consensus rule keeps all four.
    const direction = Array.from({ length: d }, () => r(-2000, 2000));
    const slots = [0, 1, 2, 3].map((k) =>
      sealedTestSlot(
        config,
        direction.map((x) => x + r(-1000, 1000)),
        BigInt(k + 7),
      ),
    );
    const prev = Array.from({ length: d }, () => r(-100000, 100000));
    // f = 0: n = 4 >= 2f + 3, all four aggregated (division by 4)
    const round = simulateRound({ config, prevModel: prev, slots, f: 0, keccak: 1n, secret: SEAL_SECRET });
    assert.equal(round.chunks, 3);
    assert.equal(round.finalState.mask, 0b1111n);
    for (const w of round.chunkWitnesses) assert.ok(await circuit.witnessChecked(w.input));
  });

  test("K < K_MAX (empty slots), nobody aggregated (n < 2f + 3)", async () => {
    const r = rng(2);
    const slots = [0, 1].map((k) =>
      sealedTestSlot(
        config,
        Array.from({ length: 16 }, () => r(-5, 5)),
        BigInt(k + 1),
      ),
    );
    await assertRoundChunks(
      slots,
      Array.from({ length: 16 }, () => r(-5, 5)),
      0,
    );
  });

  test("extreme values at the range bounds", async () => {
    const low = new Array<bigint>(16).fill(-HALF);
    const high = new Array<bigint>(16).fill(HALF - 1n);
    // f = 0, three slots: all three aggregated; S = -2^15 * 2 + 2^15 - 1 per parameter
    const slots = [sealedTestSlot(config, low, 1n), sealedTestSlot(config, low, 2n), sealedTestSlot(config, high, 3n)];
    const prevHigh = new Array<bigint>(16).fill(GHALF - 1n);
    await assertRoundChunks(slots, prevHigh, 0);
    const onlyLow = [sealedTestSlot(config, low, 1n), sealedTestSlot(config, low, 2n), sealedTestSlot(config, low, 3n)];
    // g' = -2^31 exactly
    await assertRoundChunks(onlyLow, new Array<bigint>(16).fill(-GHALF + HALF), 0);
    // all four slots at the maximum: Gram entries 16 * (2^15)^2, all aggregated (f = 0)
    const all = [1n, 2n, 3n, 4n].map((s) => sealedTestSlot(config, high, s));
    await assertRoundChunks(all, new Array<bigint>(16).fill(0n), 0);
    // f = 1 at K_MAX = 4 never reaches the quorum 2f + 3 = 5: mask 0, model unchanged
    await assertRoundChunks(all, new Array<bigint>(16).fill(GHALF - 1n), 1);
  });

  test("all-equal updates (ties) and floor division of negative sums", async () => {
    const u = Array.from({ length: 16 }, (_, i) => BigInt(i % 2 === 0 ? -7 : 5));
    const slots = [1n, 2n, 3n, 4n].map((s) => sealedTestSlot(config, u, s));
    await assertRoundChunks(slots, new Array<bigint>(16).fill(3n), 0);
    // three aggregated updates whose sums are not multiples of 3: floor(-20 / 3) = -7, floor(16 / 3) = 5
    const v = Array.from({ length: 16 }, (_, i) => BigInt(i % 2 === 0 ? -6 : 6));
    await assertRoundChunks(
      [slots[0] as RoundSlot, slots[1] as RoundSlot, sealedTestSlot(config, v, 5n)],
      new Array<bigint>(16).fill(3n),
      0,
    );
  });
});

/** The slots' ciphertext chunks and keys of a chunk witness (to rebuild it with another reference chunk). */
function slotChunksOf(w: { readonly input: CircuitInput }): SlotChunk[] {
  const ciphers = w.input["ciphers"] as bigint[][];
  const keys = w.input["keys"] as bigint[][];
  return ciphers.map((cipher, k) => ({ cipher, key: [keys[k]![0]!, keys[k]![1]!] as const }));
}

/** The previous model's chunk of a chunk witness, unpacked. */
function prevModelOf(w: { readonly input: CircuitInput }): bigint[] {
  return unpack(w.input["prevModel"] as bigint[], config.modelBits, config.chunk);
}

/** Each named product signal of `input`'s witness, off by one, violates the R1CS: no forged product has a witness. */
async function assertForgedProductsViolate(input: CircuitInput, names: readonly string[]): Promise<void> {
  const honest = await circuit.witness(input);
  for (const name of names) {
    const at = circuit.signals.get(`main.${name}`);
    assert.ok(at !== undefined, `${name} is a witness signal`);
    const forged = [...honest];
    forged[at] = ((honest[at] as bigint) + 1n) % FIELD_MODULUS;
    assert.notEqual(circuit.violated(forged), -1, name);
  }
}

describe("the reference in the chunk proof", () => {
  const r = rng(21);
  const d = 24;
  const updates = [0, 1, 2, 3].map(() => Array.from({ length: d }, () => r(-3000, 3000)));
  const slots = updates.map((u, k) => sealedTestSlot(config, u, BigInt(k + 1)));
  const prevModel = Array.from({ length: d }, () => r(-500, 500));
  const run = (values: bigint[], padding?: bigint[]): ReturnType<typeof simulateRound> => {
    const round = simulateRound({ config, prevModel, slots, f: 0, keccak: 3n, secret: SEAL_SECRET, reference: { values, salt: 77n } });
    if (padding === undefined) return round;
    // The same round with junk in the last chunk's padding of v (the blob is the owner's to fill).
    const chunks = referenceChunks([...values, ...padding], config);
    return { ...round, chunkWitnesses: round.chunkWitnesses.map((w, j) => ({ ...w, input: { ...w.input, reference: chunks[j]! } })) };
  };

  test("every slot's alignment grows by <u_k, v>, v at both ends of B bits, and v's chain opens the commitment", async () => {
    const v = Array.from({ length: d }, (_, x) => (x % 3 === 0 ? -HALF : x % 3 === 1 ? HALF - 1n : r(-9, 9)));
    const round = run(v);
    assert.deepEqual(
      round.alignment,
      updates.map((u) => u.reduce((a, x, i) => a + x * (v[i] as bigint), 0n)),
    );
    for (const w of round.chunkWitnesses) assert.equal(circuit.violated(await circuit.witness(w.input)), -1);
    assert.equal(sealedCommitment(round.finalState.referenceChain, [77n, 0n]), referenceCommitment(v, 77n, config));
    assert.equal(
      round.referenceNorm,
      v.reduce((s, x) => s + x * x, 0n),
    );
  });

  test("v's padding moves nothing but the chain; junk high bits count as their low bits; forged alignment products have no witness", async () => {
    const v = Array.from({ length: d }, () => r(-32768, 32767));
    const last = run(v).chunkWitnesses[1]!;
    // Junk in v's padding: the chain (so accOut) changes, the alignments do not: proven with a state
    // whose only difference is the reference chain.
    const stuffed = run(v, new Array<bigint>(8).fill(HALF - 1n)).chunkWitnesses[1]!;
    const witness = await circuit.witness(
      tamper(stuffed.input, (c) => {
        const chain = chainStep(last.input["referenceChain"] as bigint, hashNarrow(stuffed.input["reference"] as bigint[]));
        c["accOut"] = hashState({ ...last.next, referenceChain: chain });
      }),
    );
    assert.equal(circuit.violated(witness), -1);
    // Elements with bits above their packed values (the last element holds one value; the largest
    // element the contract lets an answer carry, 2^253 - 1): the low bits count, as core reads
    // them, so an owner who committed such an element cannot make the round unprovable. Proven with
    // the output state core computes.
    for (const junk of [(e: bigint[]) => (e[1] = (e[1] as bigint) + (1n << 16n)), (e: bigint[]) => (e[0] = (1n << 253n) - 1n)]) {
      const chunk = [...(last.input["reference"] as bigint[])];
      junk(chunk);
      const state = { ...run(v).chunkWitnesses[0]!.next };
      const w = buildChunkInput(config, state, slotChunksOf(last), prevModelOf(last), chunk);
      assert.equal(circuit.violated(await circuit.witness(w.input)), -1);
      assert.deepEqual(w.input["reference"], chunk);
    }
    // Another v than the one the output state hashes, or an input alignment the state does not hold.
    await assert.rejects(
      circuit.witness(
        tamper(last.input, (c) => {
          (c["reference"] as bigint[])[0] = ((c["reference"] as bigint[])[0] as bigint) + 1n;
        }),
      ),
    );
    await assert.rejects(
      circuit.witness(
        tamper(last.input, (c) => {
          (c["alignment"] as bigint[])[2] = ((c["alignment"] as bigint[])[2] as bigint) + 1n;
        }),
      ),
    );
    // The claimed <u_1, v> and |v|^2 (the output sums InnerProductCheck proves), v's weighting in the check, vUsed.
    await assertForgedProductsViolate(last.input, [
      "alignmentOut[1]",
      "referenceNormOut",
      `innerCheck.weighted[${config.kMax}][0]`,
      "vUsed[0]",
    ]);
  });

  test("the initial state has no reference chain, norm or alignment", async () => {
    const first = run(new Array<bigint>(d).fill(1n)).chunkWitnesses[0]!;
    for (const field of ["referenceChain", "referenceNorm", "alignment"] as const) {
      await assert.rejects(
        circuit.witness(
          tamper(first.input, (c) => {
            if (field === "alignment") (c["alignment"] as bigint[])[0] = 1n;
            else c[field] = 1n;
          }),
        ),
      );
    }
  });
});

describe("the last global delta in the chunk proof", () => {
  const r = rng(33);
  const d = 24;
  const updates = [0, 1, 2, 3].map(() => Array.from({ length: d }, () => r(-3000, 3000)));
  const slots = updates.map((u, k) => sealedTestSlot(config, u, BigInt(k + 1)));
  const prevModel = Array.from({ length: d }, () => r(-500, 500));
  // Delta at both ends of B bits and in between.
  const delta = Array.from({ length: d }, (_, x) => (x % 4 === 0 ? -HALF : x % 4 === 1 ? HALF - 1n : r(-99, 99)));
  const v = Array.from({ length: d }, () => r(-32768, 32767));
  const round = simulateRound({
    config,
    prevModel,
    prevStep: delta,
    slots,
    f: 0,
    keccak: 4n,
    secret: SEAL_SECRET,
    reference: { values: v, salt: 5n },
  });
  const inner = (a: readonly bigint[], b: readonly bigint[]): bigint => a.reduce((s, x, i) => s + x * (b[i] as bigint), 0n);

  test("every slot's <u_k, Delta>, |Delta|^2 and <Delta, v> grow as the reference computes them; both model chains hash each chunk with its step", async () => {
    assert.deepEqual(
      round.deltaAlignment,
      updates.map((u) => inner(u, delta)),
    );
    assert.equal(round.deltaNorm, inner(delta, delta));
    assert.equal(round.deltaReference, inner(delta, v));
    for (const w of round.chunkWitnesses) assert.equal(circuit.violated(await circuit.witness(w.input)), -1);
    assert.equal(round.finalState.prevModelChain, modelCommitment(prevModel, delta, config));
    assert.equal(round.finalState.newModelChain, modelCommitment(round.newModel, round.step, config));
    // the next round opens this model with this step
    const next = simulateRound({ config, prevModel: round.newModel, prevStep: round.step, slots, f: 0, keccak: 6n, secret: SEAL_SECRET });
    for (const w of next.chunkWitnesses) assert.equal(circuit.violated(await circuit.witness(w.input)), -1);
    assert.equal(next.prevModelCommitment, round.newModelCommitment);
  });

  test("Delta's padding counts for nothing but the chain; junk above its packed values and forged products have no witness", async () => {
    const last = round.chunkWitnesses[1]!;
    // Junk in Delta's padding (an initial commitment is the owner's to fill): the chain changes,
    // the statistics do not.
    const stuffed = buildChunkInput(
      config,
      round.chunkWitnesses[0]!.next,
      slotChunksOf(last),
      prevModelOf(last),
      last.input["reference"] as bigint[],
      [...delta.slice(16), ...new Array<bigint>(8).fill(HALF - 1n)],
    );
    assert.deepEqual(stuffed.next.deltaAlignment, last.next.deltaAlignment);
    assert.equal(stuffed.next.deltaNorm, last.next.deltaNorm);
    assert.equal(stuffed.next.deltaReference, last.next.deltaReference);
    assert.notEqual(stuffed.next.prevModelChain, last.next.prevModelChain);
    assert.equal(circuit.violated(await circuit.witness(stuffed.input)), -1);
    // Bits above the packed values: the unpacking is the range check (unlike v's, Delta comes from
    // a proof or from an initial commitment the audit checks, never from an answer on chain).
    await assert.rejects(
      circuit.witness(
        tamper(last.input, (c) => {
          const e = c["prevStep"] as bigint[];
          e[0] = (e[0] as bigint) + (1n << 252n);
        }),
      ),
    );
    // Another Delta than the one the output state's chain hashes, or input statistics the state does not hold.
    const plusOne = (name: string, index?: number) => (c: Record<string, unknown>) => {
      if (index === undefined) c[name] = (c[name] as bigint) + 1n;
      else (c[name] as bigint[])[index] = ((c[name] as bigint[])[index] as bigint) + 1n;
    };
    for (const change of [plusOne("prevStep", 0), plusOne("deltaAlignment", 1), plusOne("deltaNorm"), plusOne("deltaReference")]) {
      await assert.rejects(circuit.witness(tamper(last.input, change)));
    }
    // The claimed <u_1, Delta>, |Delta|^2 and <Delta, v>, the check's square of the combination, deltaUsed.
    await assertForgedProductsViolate(last.input, [
      "deltaAlignmentOut[1]",
      "deltaNormOut",
      "deltaReferenceOut",
      "innerCheck.squared[0]",
      "deltaUsed[0]",
    ]);
  });

  test("the initial state has no Delta statistics", async () => {
    const first = round.chunkWitnesses[0]!;
    const setOne = (name: string, index?: number) => (c: Record<string, unknown>) => {
      if (index === undefined) c[name] = 1n;
      else (c[name] as bigint[])[index] = 1n;
    };
    for (const change of [setOne("deltaAlignment", 0), setOne("deltaNorm"), setOne("deltaReference")]) {
      await assert.rejects(circuit.witness(tamper(first.input, change)));
    }
  });
});

describe("chunk circuit rejects tampered inputs", () => {
  let base: CircuitInput;
  let second: CircuitInput;

  before(() => {
    const r = rng(3);
    // A shared direction plus each slot's own part: the consensus rule keeps all four.
    const direction = Array.from({ length: 32 }, () => r(-150, 150));
    const slots = [0, 1, 2, 3].map((k) =>
      sealedTestSlot(
        config,
        direction.map((x) => x + r(-70, 70)),
        BigInt(k + 1),
      ),
    );
    // f = 0: n = 4 >= 2f + 3, mask 0b1111
    const round = simulateRound({
      config,
      prevModel: Array.from({ length: 32 }, () => r(-999, 999)),
      slots,
      f: 0,
      keccak: 5n,
      secret: SEAL_SECRET,
    });
    assert.equal(round.finalState.mask, 0b1111n);
    base = round.chunkWitnesses[0]?.input as CircuitInput;
    second = round.chunkWitnesses[1]?.input as CircuitInput;
  });

  const rejects = async (input: CircuitInput): Promise<void> => {
    await assert.rejects(circuit.witness(input));
  };

  test("the untampered inputs pass", async () => {
    assert.equal(circuit.violated(await circuit.witness(base)), -1);
    assert.equal(circuit.violated(await circuit.witness(second)), -1);
  });

  test("wrong accOut / accIn", async () => {
    await rejects(
      tamper(base, (c) => {
        c["accOut"] = (c["accOut"] as bigint) + 1n;
      }),
    );
    await rejects(
      tamper(second, (c) => {
        c["accIn"] = (c["accIn"] as bigint) + 1n;
      }),
    );
    // accIn = 0 with a non-initial state
    await rejects(
      tamper(second, (c) => {
        c["accIn"] = 0n;
      }),
    );
  });

  test("a state that does not open accIn", async () => {
    await rejects(
      tamper(second, (c) => {
        (c["gram"] as bigint[])[1] = 5n;
      }),
    );
    await rejects(
      tamper(second, (c) => {
        c["mask"] = 0n;
      }),
    );
  });

  test("junk bits above the packed values / out-of-range values", async () => {
    // the last packed element of slot 0 holds 16 - 15 = 1 value: bit 16 must be zero
    await rejects(
      tamper(base, (c) => {
        const u = (c["ciphers"] as bigint[][])[0] as bigint[];
        u[1] = (u[1] as bigint) + (1n << 16n);
      }),
    );
    // a field element that is "negative"
    await rejects(
      tamper(base, (c) => {
        const u = (c["ciphers"] as bigint[][])[0] as bigint[];
        u[0] = FIELD_MODULUS - 1n;
      }),
    );
  });

  test("the previous model is not unpacked: its packed elements are bound by the model chain alone", async () => {
    // Any other element (here one whose values would not even fit BG bits) moves prevModelChain and so accOut.
    await rejects(
      tamper(base, (c) => {
        (c["prevModel"] as bigint[])[0] = 1n << 230n;
      }),
    );
    await rejects(
      tamper(base, (c) => {
        (c["prevModel"] as bigint[])[1] = ((c["prevModel"] as bigint[])[1] as bigint) + 1n;
      }),
    );
  });

  test("keys that do not hash to keysHash, or a key other than the slot's, are rejected", async () => {
    await rejects(
      tamper(base, (c) => {
        (c["keys"] as bigint[][])[1] = [...(c["keys"] as bigint[][])[2]!];
      }),
    );
    await rejects(
      tamper(base, (c) => {
        c["keysHash"] = (c["keysHash"] as bigint) + 1n;
      }),
    );
  });

  test("a decoded slot whose plaintext does not unpack cannot be proven; marked not decoded it counts as zeros", async () => {
    const junk = tamper(base, (c) => {
      (c["ciphers"] as bigint[][])[2]![0] = 12345n;
    });
    await rejects(junk);
    // The same junk ciphertext in a slot that is not decoded (and not aggregated) is accepted.
    const keys = base["keys"] as bigint[][];
    const s0 = initialState(4, { mask: 0b1011n, decoded: 0b1011n, keysHash: testKeysHash(4), size: 16n });
    const slots = testSlotChunks(
      config,
      [0, 1, 2, 3].map(() => new Array<bigint>(16).fill(3n)),
    );
    slots[2] = { cipher: [12345n, 678n], key: [keys[2]![0]!, keys[2]![1]!] };
    slots[2] = { ...slots[2], key: testSlotChunks(config, [[], [], new Array<bigint>(16).fill(0n)])[2]!.key };
    const w = buildChunkInput(config, s0, slots, new Array<bigint>(16).fill(0n), noReferenceChunk(config));
    assert.deepEqual(w.updateChunks[2], new Array<bigint>(16).fill(0n));
    assert.equal(circuit.violated(await circuit.witness(w.input)), -1);
  });

  test("malformation claims: a keyed slot left undecoded must be proven malformed; a well-formed element cannot be claimed", async () => {
    // Slot 2: a valid ephemeral key, plaintext chunk 0 holds an element beyond its 240 bits (two
    // chunks of two packed elements each: widths 240 and 16).
    const r = rng(9);
    const good = [0, 1, 3].map((k) =>
      sealedTestSlot(
        config,
        Array.from({ length: 32 }, () => r(-50, 50)),
        BigInt(k + 1),
      ),
    );
    const key = testKey(3n);
    const junkChunks = [encryptChunk([5n, 1n << 250n], key, 0), encryptChunk(pack(new Array<bigint>(16).fill(0n), 16), key, 1)];
    const junk: RoundSlot = {
      commitment: sealedCommitment(cipherChain(junkChunks), publicKeyOf(3n)),
      sealed: { ephemeral: publicKeyOf(3n), chunks: junkChunks },
    };
    const slots = [good[0]!, good[1]!, junk, good[2]!];
    const round = simulateRound({ config, prevModel: new Array<bigint>(32).fill(0n), slots, f: 0, keccak: 7n, secret: SEAL_SECRET });
    assert.deepEqual(round.decoded, [true, true, false, true]);
    assert.equal(round.finalState.malformed, 0b0100n);
    const [c0, c1] = round.chunkWitnesses;
    // Chunk 0 carries the claim (element 1 of slot 2), chunk 1 has nothing to claim and keeps the bit.
    assert.equal((c0!.input["malformedSelect"] as bigint[][])[2]![1], 1n);
    assert.equal((c1!.input["malformedSelect"] as bigint[][])[2]![2], 1n);
    for (const w of round.chunkWitnesses) assert.equal(circuit.violated(await circuit.witness(w.input)), -1);
    // The claim moved to the well-formed element 0 of the same slot, or to an honest slot's
    // elements (the full one and the narrower last one): no witness.
    for (const [slot, element] of [
      [2, 0],
      [0, 0],
      [0, 1],
    ] as const) {
      await rejects(
        tamper(c0!.input, (c) => {
          const row = (c["malformedSelect"] as bigint[][])[slot]!;
          row.fill(0n);
          row[element] = 1n;
        }),
      );
    }
    // Not one-hot: no claim and a claim at once, or none at all.
    await rejects(
      tamper(c0!.input, (c) => {
        (c["malformedSelect"] as bigint[][])[2]![2] = 1n;
      }),
    );
    await rejects(
      tamper(c0!.input, (c) => {
        (c["malformedSelect"] as bigint[][])[2]![1] = 0n;
      }),
    );
    // An honest slot the aggregator leaves undecoded (bit 0 cleared) cannot be claimed either.
    const s0 = initialState(4, { mask: 0n, decoded: 0b1010n, keysHash: round.chunkWitnesses[0]!.input["keysHash"] as bigint, size: 32n });
    const slotChunks = slots.map((s, k) => ({ cipher: s.sealed!.chunks[0]!, key: testKey(BigInt(k === 3 ? 4 : k + 1)) }));
    const honestLeftOut = buildChunkInput(config, s0, slotChunks, new Array<bigint>(16).fill(0n), noReferenceChunk(config));
    assert.equal(honestLeftOut.next.malformed, 0b0100n, "only the junk slot is claimed");
    assert.equal(circuit.violated(await circuit.witness(honestLeftOut.input)), -1);
    await rejects(
      tamper(honestLeftOut.input, (c) => {
        const row = (c["malformedSelect"] as bigint[][])[0]!;
        row.fill(0n);
        row[0] = 1n;
      }),
    );
    // A malformed bit without its claim: the output state does not open accOut.
    await rejects(
      tamper(c0!.input, (c) => {
        c["accOut"] = hashState({ ...c0!.next, malformed: 0b0101n });
      }),
    );
    // The initial state (accIn = 0) has no malformed bit.
    await rejects(
      tamper(c0!.input, (c) => {
        c["malformed"] = 0b0100n;
      }),
    );
  });

  test("a mask with a bit above K_MAX is rejected even in the initial state", async () => {
    await rejects(
      tamper(base, (c) => {
        c["mask"] = 1n << 4n;
      }),
    );
  });

  test("a model at either end of BG bits takes the largest steps exactly as the reference (no carry between values)", async () => {
    // The chunk proof adds the packed quotients to the packed model; the headroom rule (core
    // checkModelHeadroom) keeps every model value inside BG bits, where that addition carries nothing.
    // Here the values sit at the very ends of BG bits and take the largest steps towards them.
    const state = initialState(4, { mask: 0b1111n, decoded: 0b1111n, keysHash: testKeysHash(4), size: 16n });
    const high = new Array<bigint>(16).fill(HALF - 1n);
    const low = new Array<bigint>(16).fill(-HALF);
    const up = buildChunkInput(
      config,
      state,
      testSlotChunks(config, [high, high, high, high]),
      new Array<bigint>(16).fill(GHALF - HALF),
      NO_REF,
    );
    const down = buildChunkInput(
      config,
      state,
      testSlotChunks(config, [low, low, low, low]),
      new Array<bigint>(16).fill(-GHALF + HALF),
      NO_REF,
    );
    // alternating ends in one packed element: a carry out of one value would show in the next
    const mixedModel = Array.from({ length: 16 }, (_, x) => (x % 2 === 0 ? GHALF - HALF : -GHALF + HALF));
    const mixedUpdate = Array.from({ length: 16 }, (_, x) => (x % 2 === 0 ? HALF - 1n : -HALF));
    const mixed = buildChunkInput(
      config,
      state,
      testSlotChunks(config, [mixedUpdate, mixedUpdate, mixedUpdate, mixedUpdate]),
      mixedModel,
      NO_REF,
    );
    for (const { input } of [up, down, mixed]) {
      const witness = await circuit.witness(input);
      assert.equal(circuit.violated(witness), -1);
    }
    // one step further the reference refuses (the model would leave BG bits): no round of a project within
    // its headroom gets there
    assert.throws(() =>
      buildChunkInput(
        config,
        state,
        testSlotChunks(config, [high, high, high, high]),
        new Array<bigint>(16).fill(GHALF - HALF + 1n),
        NO_REF,
      ),
    );
  });

  test("a witness with another quotient/remainder split violates the R1CS", async () => {
    const witness = await circuit.witness(base);
    const q = circuit.signals.get("main.quotient[0]");
    const rem = circuit.signals.get("main.remainder[0]");
    assert.ok(q !== undefined && rem !== undefined, "quotient/remainder are witness signals");
    // n = 4 (f = 0, K = 4): quotient + 1, remainder - 4 keeps q * n + r = S
    const forged = [...witness];
    forged[q] = (witness[q] as bigint) + 1n;
    forged[rem] = ((witness[rem] as bigint) - 4n + FIELD_MODULUS) % FIELD_MODULUS;
    assert.notEqual(circuit.violated(forged), -1);
  });

  test("padding: a trainer's values past the model size count as zeros; the in-model mask and the full-chunk hint cannot lie", async () => {
    // D = 20: the second chunk holds 4 parameters and 12 values of padding.
    const r = rng(11);
    const clean = [0, 1, 2, 3].map(() => Array.from({ length: 20 }, () => r(-99, 99)));
    const padded = (u: bigint[], junk: boolean): bigint[] => [
      ...u,
      ...Array.from({ length: 12 }, (_, x) => (junk ? BigInt(3000 + x) : 0n)),
    ];
    const prevModel = Array.from({ length: 20 }, () => r(-500, 500));
    const v = Array.from({ length: 20 }, () => r(-32768, 32767));
    const run = (junk: boolean): ReturnType<typeof simulateRound> =>
      simulateRound({
        config,
        prevModel,
        slots: clean.map((u, k) => sealedTestSlot(config, padded(u, junk && k === 1), BigInt(k + 1))),
        f: 0,
        keccak: 9n,
        secret: SEAL_SECRET,
        reference: { values: v, salt: 5n },
      });
    const honest = run(false);
    const stuffed = run(true);
    // Slot 1's junk is committed and must unpack, but it moves no Gram entry, score or model value.
    assert.deepEqual(stuffed.finalState.gram, honest.finalState.gram);
    assert.deepEqual(stuffed.alignment, honest.alignment);
    assert.equal(stuffed.referenceNorm, honest.referenceNorm);
    assert.deepEqual(stuffed.rule.scores, honest.rule.scores);
    assert.deepEqual(stuffed.newModel, honest.newModel);
    for (const w of stuffed.chunkWitnesses) assert.equal(circuit.violated(await circuit.witness(w.input)), -1);
    // Forged witnesses of the last chunk: one more value in the model, or the full-chunk hint flipped.
    const last = stuffed.chunkWitnesses[1]!;
    const witness = await circuit.witness(last.input);
    const at = (name: string): number => {
      const i = circuit.signals.get(`main.${name}`);
      assert.ok(i !== undefined, `${name} is a witness signal`);
      return i;
    };
    for (const [name, value] of [
      ["inModel[4]", 1n],
      ["inModel[3]", 0n],
      ["full", 1n],
    ] as const) {
      const forged = [...witness];
      forged[at(name)] = value;
      assert.notEqual(circuit.violated(forged), -1, name);
    }
    // A chunk that starts at or past D has no witness: the initial state claiming D = 0, or the
    // second chunk's state claiming D = 16.
    await rejects(
      tamper(stuffed.chunkWitnesses[0]!.input, (c) => {
        c["size"] = 0n;
      }),
    );
    const state16 = { ...stuffed.chunkWitnesses[0]!.next, size: 16n };
    await rejects(
      tamper(last.input, (c) => {
        c["size"] = 16n;
        c["accIn"] = hashState(state16);
      }),
    );
  });

  test("state hash in the reference matches the circuit's", async () => {
    const s = initialState(4, { mask: 3n, decoded: 7n, keysHash: testKeysHash(4), size: 16n });
    const w = buildChunkInput(
      config,
      s,
      testSlotChunks(
        config,
        [0, 1, 2, 3].map(() => new Array<bigint>(16).fill(1n)),
      ),
      new Array<bigint>(16).fill(0n),
      pack(
        Array.from({ length: 16 }, (_, x) => BigInt(x - 8)),
        16,
      ),
    );
    assert.equal(w.publicSignals[1], hashState(w.next));
    assert.equal(stateFields(w.next).length, 12 + 3 * 4 + 10);
    assert.equal(
      w.next.referenceNorm,
      Array.from({ length: 16 }, (_, x) => BigInt((x - 8) * (x - 8))).reduce((a, b) => a + b),
    );
    assert.deepEqual(w.next.alignment, [-8n, -8n, -8n, 0n]);
    assert.equal(circuit.violated(await circuit.witness(w.input)), -1);
  });
});
