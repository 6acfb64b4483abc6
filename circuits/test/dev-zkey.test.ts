/**
 * The direct dev zkey (scripts/circuits/dev-zkey.ts) against snarkjs: the same bytes as
 * `zkey new` from the dev ptau + the dev `zkey beacon`, for a ptau of exactly the domain's power
 * (its H query comes from a basis with a zero point) and for a larger one (as small circuits use
 * the 2^DEV_MIN_POWER file); accepted by `zkey verifyFromR1cs`; proves. On a hand-written R1CS small
 * enough for 2^6, with coefficients other than 1, several public signals and multi-term combinations.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as snarkjs from "snarkjs";
import { writeDevPtau } from "../../scripts/circuits/dev-ptau.ts";
import { devPhase2Beacon, writeDevZkey } from "../../scripts/circuits/dev-zkey.ts";
import { R, once, r1csFile, wtnsFile, type Lc } from "./binfiles.ts";
import { releaseCurves } from "./harness.ts";

/** The circuit name the phase-2 beacon is derived from. */
const NAME = "tiny_dev_zkey";

const dir = mkdtempSync(join(tmpdir(), "fedmarket-dev-zkey-"));
after(async () => {
  await releaseCurves();
  rmSync(dir, { recursive: true, force: true });
});

/** Products in the chain s_(i+1) = s_i * w. */
const STEPS = 40;
/** Wires: 0 one, 1 x (public output), 2 y (public input), 3 w (private), s_1..s_STEPS, t, u, v (unused). */
const W = { x: 1, y: 2, w: 3, s: (i: number): number => 3 + i, t: 4 + STEPS, u: 5 + STEPS, v: 6 + STEPS } as const;
const WIRES = 7 + STEPS;

/**
 * s_1 = w * w, s_(i+1) = s_i * w, x = s_STEPS * 1, t = (w + 2y - 1) * (s_1 + 3), t * 1 = u - 5w:
 * STEPS + 3 constraints + 2 public signals + 1 = 46 -> a 2^6 domain. Wire v is in no constraint
 * (zero points), y only in A of one constraint, u only in C.
 */
const CONSTRAINTS: readonly (readonly [Lc, Lc, Lc])[] = [
  ...Array.from({ length: STEPS }, (_, i): [Lc, Lc, Lc] => [[[i === 0 ? W.w : W.s(i), 1n]], [[W.w, 1n]], [[W.s(i + 1), 1n]]]),
  [[[W.s(STEPS), 1n]], [[0, 1n]], [[W.x, 1n]]],
  [
    [
      [W.w, 1n],
      [W.y, 2n],
      [0, R - 1n],
    ],
    [
      [W.s(1), 1n],
      [0, 3n],
    ],
    [[W.t, 1n]],
  ],
  [
    [[W.t, 1n]],
    [[0, 1n]],
    [
      [W.u, 1n],
      [W.w, R - 5n],
    ],
  ],
];

function tinyR1cs(): Uint8Array {
  return r1csFile({ wires: WIRES, outputs: 1, publicInputs: 1, privateInputs: 1, constraints: CONSTRAINTS });
}

/** A witness of the tiny circuit for w = 3, y = 7. */
function tinyWitness(): Uint8Array {
  const w = 3n;
  const y = 7n;
  const s: bigint[] = [w * w];
  for (let i = 1; i < STEPS; i++) s.push((s[i - 1]! * w) % R);
  const t = ((w + 2n * y - 1n) * (s[0]! + 3n)) % R;
  return wtnsFile([1n, s[STEPS - 1]!, y, w, ...s, t, (t + 5n * w) % R, 0n]);
}

const circuit = once(async () => {
  const r1cs = join(dir, "tiny.r1cs");
  const wtns = join(dir, "tiny.wtns");
  writeFileSync(r1cs, tinyR1cs());
  writeFileSync(wtns, tinyWitness());
  return { r1cs, wtns };
});

const ptau = new Map(
  [6, 7].map((power) => [
    power,
    once(async () => {
      const file = join(dir, `dev_${power}.ptau`);
      await writeDevPtau(power, file);
      return file;
    }),
  ]),
);

/** The dev zkey as snarkjs makes it: `zkey new` from the dev ptau, then the dev beacon. */
async function snarkjsZkey(power: number): Promise<string> {
  const { r1cs } = await circuit();
  const z0 = join(dir, `snarkjs_${power}.0.zkey`);
  const z1 = join(dir, `snarkjs_${power}.zkey`);
  const beacon = devPhase2Beacon(NAME);
  await snarkjs.zKey.newZKey(r1cs, await ptau.get(power)!(), z0);
  await snarkjs.zKey.beacon(z0, z1, beacon.name, beacon.hashHex, beacon.iterationsExp);
  return z1;
}

const direct = new Map(
  [6, 7].map((power) => [
    power,
    once(async () => {
      const { r1cs } = await circuit();
      const file = join(dir, `direct_${power}.zkey`);
      // Small jobs: every point set is split over several worker jobs, as at full size.
      await writeDevZkey(r1cs, file, { ptauPower: power, beacon: devPhase2Beacon(NAME), jobPoints: 8, bar: false });
      return file;
    }),
  ]),
);

for (const [power, what] of [
  [6, "of exactly the domain's power (H from a basis with a zero point)"],
  [7, "larger than the domain (as circuits below DEV_MIN_POWER use)"],
] as const) {
  test(`the direct dev zkey equals snarkjs's zkey new + beacon from a dev ptau ${what}`, async () => {
    const a = readFileSync(await direct.get(power)!());
    const b = readFileSync(await snarkjsZkey(power));
    assert.equal(a.length, b.length);
    assert.ok(a.equals(b), "the files differ");
  });
}

test("snarkjs zkey verifyFromR1cs accepts the direct dev zkey", async () => {
  const { r1cs } = await circuit();
  assert.equal(await snarkjs.zKey.verifyFromR1cs(r1cs, await ptau.get(6)!(), await direct.get(6)!()), true);
});

test("a proof made with the direct dev zkey verifies, and a wrong public signal does not", async () => {
  const { wtns } = await circuit();
  const zkey = await direct.get(7)!();
  const vkey = await snarkjs.zKey.exportVerificationKey(zkey);
  const { proof, publicSignals } = await snarkjs.groth16.prove(zkey, wtns);
  assert.equal(await snarkjs.groth16.verify(vkey, publicSignals, proof), true);
  const wrong = [publicSignals[0]!, String(BigInt(publicSignals[1]!) + 1n)];
  assert.equal(await snarkjs.groth16.verify(vkey, wrong, proof), false);
});
