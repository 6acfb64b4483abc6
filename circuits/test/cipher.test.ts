/**
 * Witness-level tests of the sealed-update templates (circuits/cipher/cipher.circom) against the
 * reference in packages/core/src/cipher.ts: keys, shared keys for every kind of point a trainer can
 * commit to, keystream and decryption; tampering any output breaks a constraint.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  CURVE_BASE,
  CURVE_IDENTITY,
  FIELD_MODULUS,
  SUBGROUP_ORDER,
  decryptChunk,
  encryptChunk,
  publicKeyOf,
  randomScalar,
  sharedKey,
  type CircuitInput,
  type CurvePoint,
} from "@fedmarket/core";
import { loadTestMain, releaseCurves, type TestCircuit } from "./harness.ts";

const SHARED_KEY_MAIN = `pragma circom 2.1.0;
include "cipher/cipher.circom";
// Test main: PublicKey and SharedKey from one secret scalar.
template SharedKeyTest() {
    signal input secret;
    signal input peer[2];
    signal output pub[2];
    signal output valid;
    signal output key[2];
    signal bits[253] <== Num2Bits(253)(secret);
    pub <== PublicKey()(bits);
    (valid, key) <== SharedKey()(bits, peer);
}
component main = SharedKeyTest();
`;

const N = 11;
const DECRYPT_MAIN = `pragma circom 2.1.0;
include "cipher/cipher.circom";
// Test main: decryption of ${N} elements (two keystream blocks, the second one partly used).
component main = DecryptChunk(${N});
`;

/** circomlib's generator of the whole curve group (order 8 l); Base8 = 8 * GENERATOR. */
const GENERATOR: CurvePoint = [
  995203441582195749578291179787384436505546430278305826713579947235728471134n,
  5472060717959818805561601436314318772137091100104008585924551046643952123905n,
];

let keys: TestCircuit;
let decrypt: TestCircuit;

before(async () => {
  keys = await loadTestMain("test_shared_key", SHARED_KEY_MAIN);
  decrypt = await loadTestMain("test_decrypt_chunk", DECRYPT_MAIN);
});
after(releaseCurves);

/** Values of the named signals in a witness. */
function read(c: TestCircuit, w: readonly bigint[], names: readonly string[]): bigint[] {
  return names.map((n) => {
    const i = c.signals.get(n);
    if (i === undefined) throw new Error(`no signal ${n}`);
    return w[i]!;
  });
}

/** Every output of the shared-key main, checked against the reference; returns the witness. */
async function checkSharedKey(secret: bigint, peer: CurvePoint): Promise<bigint[]> {
  const w = await keys.witness({ secret, peer: [...peer] } as CircuitInput);
  assert.equal(keys.violated(w), -1);
  const [px, py, valid, kx, ky] = read(keys, w, ["main.pub[0]", "main.pub[1]", "main.valid", "main.key[0]", "main.key[1]"]);
  assert.deepEqual([px, py], [...publicKeyOf(secret)]);
  const ref = sharedKey(secret, peer);
  assert.equal(valid, ref.valid ? 1n : 0n);
  if (ref.valid) assert.deepEqual([kx, ky], [...ref.key]);
  return w;
}

describe("PublicKey and SharedKey", () => {
  test("random keys: both outputs equal the reference, and the trainer's side agrees", async () => {
    for (let i = 0; i < 3; i++) {
      const a = randomScalar();
      const e = randomScalar();
      await checkSharedKey(a, publicKeyOf(e));
      const ke = sharedKey(e, publicKeyOf(a));
      const ka = sharedKey(a, publicKeyOf(e));
      assert.ok(ke.valid && ka.valid);
      assert.deepEqual(ke.key, ka.key);
    }
    console.error(`  SharedKey test main: ${keys.r1cs.nConstraints} constraints (PublicKey + SharedKey + Num2Bits(253))`);
  });

  test("extreme secret scalars: 1, 2 and l - 1", async () => {
    const peer = publicKeyOf(randomScalar());
    for (const a of [1n, 2n, SUBGROUP_ORDER - 1n]) await checkSharedKey(a, peer);
  });

  test("points a trainer may commit to: identity, order 2, a full-order point, off-curve points", async () => {
    const a = randomScalar();
    // Identity and the point of order 2: 8 * P is the identity, so is the key.
    for (const p of [CURVE_IDENTITY, [0n, FIELD_MODULUS - 1n] as const]) {
      const w = await checkSharedKey(a, p);
      assert.deepEqual(read(keys, w, ["main.key[0]", "main.key[1]"]), [...CURVE_IDENTITY]);
    }
    // A point of order 8 l: its multiple 8 * G = Base8, so the key is a * Base8.
    const w = await checkSharedKey(a, GENERATOR);
    assert.deepEqual(read(keys, w, ["main.key[0]", "main.key[1]"]), [...publicKeyOf(a)]);
    // Off the curve: still provable, flagged invalid.
    for (const p of [
      [1n, 2n],
      [0n, 0n],
      [CURVE_BASE[0], CURVE_BASE[1] + 1n],
      [FIELD_MODULUS - 1n, FIELD_MODULUS - 1n],
    ] as const)
      await checkSharedKey(a, p);
  });

  test("tampering the key, the public key or the validity flag breaks a constraint", async () => {
    const w = await checkSharedKey(randomScalar(), publicKeyOf(randomScalar()));
    for (const name of ["main.pub[0]", "main.pub[1]", "main.valid", "main.key[0]", "main.key[1]"]) {
      const t = [...w];
      const i = keys.signals.get(name)!;
      t[i] = (t[i]! + 1n) % FIELD_MODULUS;
      assert.notEqual(keys.violated(t), -1, name);
    }
    const off = await checkSharedKey(randomScalar(), [1n, 2n]);
    const t = [...off];
    t[keys.signals.get("main.valid")!] = 1n;
    assert.notEqual(keys.violated(t), -1, "an off-curve point claimed valid");
  });
});

describe("Keystream and DecryptChunk", () => {
  /** Decrypts in the circuit and compares with the reference. */
  async function checkDecrypt(cipher: readonly bigint[], key: CurvePoint, chunkIndex: number): Promise<bigint[]> {
    const w = await decrypt.witness({ cipher: [...cipher], key: [...key], chunkIndex: BigInt(chunkIndex) } as CircuitInput);
    assert.equal(decrypt.violated(w), -1);
    const plain = read(
      decrypt,
      w,
      Array.from({ length: N }, (_, i) => `main.plain[${i}]`),
    );
    assert.deepEqual(plain, decryptChunk(cipher, key, chunkIndex));
    return w;
  }

  test("decrypts what the reference encrypts, at the first, a middle and the last chunk index", async () => {
    const key = publicKeyOf(randomScalar());
    const m = [0n, 1n, 2n ** 248n - 1n, FIELD_MODULUS - 1n, 12345n, ...Array.from({ length: N - 5 }, (_, i) => BigInt(i) * 7919n)];
    for (const j of [0, 7, 2 ** 32 - 1]) {
      const c = encryptChunk(m, key, j);
      await checkDecrypt(c, key, j);
      assert.deepEqual(decryptChunk(c, key, j), m);
    }
    console.error(`  DecryptChunk(${N}): ${decrypt.r1cs.nConstraints} constraints`);
  });

  test("any ciphertext decrypts (no witness is ever missing), also under the identity key", async () => {
    await checkDecrypt([FIELD_MODULUS - 1n, ...Array.from({ length: N - 1 }, (_, i) => BigInt(i))], CURVE_IDENTITY, 1);
    await checkDecrypt(
      Array.from({ length: N }, () => 0n),
      publicKeyOf(3n),
      2,
    );
  });

  test("tampering a plaintext element breaks a constraint", async () => {
    const key = publicKeyOf(randomScalar());
    const w = await checkDecrypt(
      encryptChunk(
        Array.from({ length: N }, (_, i) => BigInt(i + 1)),
        key,
        3,
      ),
      key,
      3,
    );
    for (let i = 0; i < N; i++) {
      const t = [...w];
      const idx = decrypt.signals.get(`main.plain[${i}]`)!;
      t[idx] = (t[idx]! + 1n) % FIELD_MODULUS;
      assert.notEqual(decrypt.violated(t), -1, `plain[${i}]`);
    }
  });
});
