/**
 * The fast dev powers of tau (scripts/circuits/dev-ptau.ts) against a simulated ceremony: the same
 * bytes as snarkjs's `powersoftau new` + `beacon` + `prepare phase2` with the same beacon, accepted
 * by `powersoftau verify`, and the same Groth16 keys. Also why the dev setup names one ptau power per
 * domain (setup.ts `devPtauPower`): every ptau larger than the domain gives the same zkey, the
 * exact-size one another H query; on a hand-written R1CS small enough for 2^6.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as snarkjs from "snarkjs";
import { Blake2b512 } from "../../scripts/circuits/blake2b.ts";
import { DEV_PTAU_BEACON, writeDevPtau } from "../../scripts/circuits/dev-ptau.ts";
import { R, once, r1csFile, wtnsFile, type Lc } from "./binfiles.ts";
import { releaseCurves } from "./harness.ts";

/** Power of the files compared with a simulated ceremony. */
const POWER = 7;

const dir = mkdtempSync(join(tmpdir(), "fedmarket-dev-ptau-"));
after(async () => {
  await releaseCurves();
  rmSync(dir, { recursive: true, force: true });
});

// Small jobs at POWER: every section and Lagrange basis is split over several worker jobs, as at
// full size (2048 G1 / 1024 G2 points per job).
const fastPtau = (power: number): (() => Promise<string>) =>
  once(async () => {
    const file = join(dir, `fast_${power}.ptau`);
    await writeDevPtau(power, file, power === POWER ? { jobPoints: 16 } : {});
    return file;
  });
const fast = new Map([6, POWER, 8].map((p) => [p, fastPtau(p)]));

const ceremonyPtau = once(async () => {
  const file = join(dir, `ceremony_${POWER}.ptau`);
  const curve = await snarkjs.curves.getCurveFromName("bn128");
  await snarkjs.powersOfTau.newAccumulator(curve, POWER, `${file}.0`);
  await snarkjs.powersOfTau.beacon(`${file}.0`, `${file}.1`, DEV_PTAU_BEACON.name, DEV_PTAU_BEACON.hashHex, DEV_PTAU_BEACON.iterationsExp);
  await snarkjs.powersOfTau.preparePhase2(`${file}.1`, file);
  return file;
});

/** Constraints of the test circuit: x = w^(STEPS+1) with STEPS products, plus x = s * 1. */
const STEPS = 40;

/**
 * An R1CS for: public x, private w, s_1 = w * w, s_(i+1) = s_i * w, x = s_STEPS * 1.
 * 41 constraints + 1 public input + 1 = 43 -> a 2^6 domain. Wires: 0 one, 1 x, 2 w, 3.. s_i.
 */
function tinyR1cs(): Uint8Array {
  const one = (wire: number): Lc => [[wire, 1n]];
  const constraints: [Lc, Lc, Lc][] = Array.from({ length: STEPS }, (_, i) => [one(i === 0 ? 2 : 2 + i), one(2), one(3 + i)]);
  constraints.push([one(2 + STEPS), one(0), one(1)]);
  return r1csFile({ wires: 3 + STEPS, outputs: 0, publicInputs: 1, privateInputs: 1, constraints });
}

/** A witness file of the tiny circuit for w = 3. */
function tinyWitness(): Uint8Array {
  const w = 3n;
  const s: bigint[] = [w * w];
  for (let i = 1; i < STEPS; i++) s.push((s[i - 1]! * w) % R);
  return wtnsFile([1n, s[STEPS - 1]!, w, ...s]);
}

const circuit = once(async () => {
  const r1cs = join(dir, "tiny.r1cs");
  const wtns = join(dir, "tiny.wtns");
  writeFileSync(r1cs, tinyR1cs());
  writeFileSync(wtns, tinyWitness());
  return { r1cs, wtns };
});

/** zkey (bytes), vkey (JSON text) and whether a proof made with it verifies. */
async function groth16From(ptau: string, name: string): Promise<{ zkey: Buffer; vkey: string; proves: boolean }> {
  const { r1cs, wtns } = await circuit();
  const zkey = join(dir, `${name}.zkey`);
  await snarkjs.zKey.newZKey(r1cs, ptau, zkey);
  const vkey = await snarkjs.zKey.exportVerificationKey(zkey);
  const { proof, publicSignals } = await snarkjs.groth16.prove(zkey, wtns);
  return { zkey: readFileSync(zkey), vkey: JSON.stringify(vkey), proves: await snarkjs.groth16.verify(vkey, publicSignals, proof) };
}

/** The sections of an iden3 binfile (id -> contents). */
function sections(file: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let at = 12;
  for (let i = 0; i < file.readUInt32LE(8); i++) {
    const size = Number(file.readBigUInt64LE(at + 4));
    out.set(file.readUInt32LE(at), file.subarray(at + 12, at + 12 + size));
    at += 12 + size;
  }
  return out;
}

test("BLAKE2b-512: digests equal node:crypto's for any chunking of the input", () => {
  for (let trial = 0; trial < 40; trial++) {
    const ours = new Blake2b512();
    const reference = createHash("blake2b512");
    for (let k = 0; k < 1 + (trial % 5); k++) {
      const data = randomBytes((trial * 37 + k * 101) % 700);
      ours.update(data);
      reference.update(data);
    }
    assert.equal(Buffer.from(ours.digest()).toString("hex"), reference.digest("hex"));
  }
});

test(`the fast 2^${POWER} dev ptau is byte-identical to a simulated ceremony's (new + beacon + prepare phase2)`, async () => {
  const a = readFileSync(await fast.get(POWER)!());
  const b = readFileSync(await ceremonyPtau());
  assert.equal(a.length, b.length);
  assert.ok(a.equals(b), "the files differ");
});

test("snarkjs powersoftau verify accepts the fast file", async () => {
  assert.equal(await snarkjs.powersOfTau.verify(await fast.get(POWER)!()), true);
});

test("a circuit's zkey and vkey from the fast file equal those from the ceremony file, and prove", async () => {
  const fromFast = await groth16From(await fast.get(POWER)!(), "fast");
  const fromCeremony = await groth16From(await ceremonyPtau(), "ceremony");
  assert.ok(fromFast.zkey.equals(fromCeremony.zkey));
  assert.equal(fromFast.vkey, fromCeremony.vkey);
  assert.ok(fromFast.proves);
});

test("zkeys from every ptau larger than the domain agree; the exact-size one differs only in its H query", async () => {
  // The tiny circuit's domain is 2^6.
  const exact = await groth16From(await fast.get(6)!(), "exact");
  const larger = await groth16From(await fast.get(7)!(), "larger");
  const largest = await groth16From(await fast.get(8)!(), "largest");
  assert.ok(larger.zkey.equals(largest.zkey));
  assert.equal(exact.vkey, larger.vkey);
  const differing = [...sections(exact.zkey)].filter(([id, body]) => !body.equals(sections(larger.zkey).get(id)!)).map(([id]) => id);
  assert.deepEqual(differing, [9]); // section 9: the H query (points of the 2^(domain+1) Lagrange basis)
  assert.ok(exact.proves && larger.proves);
});
