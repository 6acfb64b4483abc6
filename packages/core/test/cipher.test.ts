import { test } from "node:test";
import assert from "node:assert/strict";
import {
  CURVE_BASE,
  CURVE_IDENTITY,
  FIELD_MODULUS,
  SUBGROUP_ORDER,
  cipherChain,
  clearCofactor,
  decryptChunk,
  encryptChunk,
  hashMany,
  isOnCurve,
  keystream,
  keystreamNonce,
  openSealedChunks,
  pack,
  poseidon,
  publicKeyOf,
  randomScalar,
  scalarMul,
  sealChunks,
  sealedCommitment,
  sharedKey,
  unpack,
} from "../src/index.ts";

/** A point of order 2 (on the curve, outside the prime-order subgroup). */
const ORDER_TWO: readonly [bigint, bigint] = [0n, FIELD_MODULUS - 1n];

test("both sides derive the same key; 8 * peer is what gets multiplied", () => {
  const a = randomScalar();
  const e = randomScalar();
  const A = publicKeyOf(a);
  const E = publicKeyOf(e);
  const ka = sharedKey(a, E);
  const ke = sharedKey(e, A);
  assert.ok(ka.valid && ke.valid);
  assert.deepEqual(ka.key, ke.key);
  assert.deepEqual(ka.key, scalarMul(CURVE_BASE, (8n * a * e) % SUBGROUP_ORDER));
  assert.ok(isOnCurve(ka.key));
});

test("a peer point off the curve gives no key; low-order points give the identity", () => {
  const a = randomScalar();
  assert.deepEqual(sharedKey(a, [1n, 2n]), { valid: false });
  assert.deepEqual(sharedKey(a, [0n, 0n]), { valid: false });
  for (const p of [CURVE_IDENTITY, ORDER_TWO]) {
    assert.ok(isOnCurve(p));
    assert.deepEqual(clearCofactor(p), CURVE_IDENTITY);
    const k = sharedKey(a, p);
    assert.ok(k.valid);
    assert.deepEqual(k.key, CURVE_IDENTITY);
  }
});

test("secret scalars are in [1, l)", () => {
  assert.throws(() => publicKeyOf(0n), /secret scalar/);
  assert.throws(() => publicKeyOf(SUBGROUP_ORDER), /secret scalar/);
  assert.deepEqual(publicKeyOf(1n), CURVE_BASE);
  for (let i = 0; i < 20; i++) {
    const s = randomScalar();
    assert.ok(s > 0n && s < SUBGROUP_ORDER);
  }
});

test("keystream: Poseidon(S.x, S.y, j * 2^16 + b, 0 x 6) with nine outputs per block", () => {
  const key = publicKeyOf(12345n);
  const ks = keystream(key, 7, 20);
  assert.equal(ks.length, 20);
  assert.equal(keystreamNonce(7, 1), (7n << 16n) + 1n);
  // The first output of each block is the ordinary one-output Poseidon hash of the same nine inputs.
  const zeros = [0n, 0n, 0n, 0n, 0n, 0n];
  assert.equal(ks[0], poseidon([key[0], key[1], keystreamNonce(7, 0), ...zeros]));
  assert.equal(ks[9], poseidon([key[0], key[1], keystreamNonce(7, 1), ...zeros]));
  assert.equal(ks[18], poseidon([key[0], key[1], keystreamNonce(7, 2), ...zeros]));
  assert.equal(new Set(ks).size, 20);
  assert.notDeepEqual(keystream(key, 8, 20), ks);
  assert.deepEqual(keystream(key, 7, 2), ks.slice(0, 2));
  assert.deepEqual(keystream(key, 7, 10), ks.slice(0, 10));
  assert.throws(() => keystreamNonce(0, 2 ** 16), /block/);
  assert.throws(() => keystreamNonce(2 ** 32, 0), /chunk index/);
});

test("encrypt then decrypt is the identity on any field elements", () => {
  const key = publicKeyOf(987654321n);
  const m = [0n, 1n, FIELD_MODULUS - 1n, 2n ** 248n - 1n];
  const c = encryptChunk(m, key, 3);
  assert.notDeepEqual(c, m);
  assert.deepEqual(decryptChunk(c, key, 3), m);
  assert.notDeepEqual(decryptChunk(c, key, 4), m);
});

test("seal and open a packed update; the commitment binds ciphertext and ephemeral key", () => {
  const a = randomScalar();
  const A = publicKeyOf(a);
  const values = [
    [5n, -3n, 7n],
    [1n, -8n, 0n],
  ];
  const packed = values.map((v) => pack(v, 8));
  const { sealed } = sealChunks(packed, A, 4242n);
  assert.deepEqual(sealed.ephemeral, publicKeyOf(4242n));
  const opened = openSealedChunks(sealed, a);
  assert.ok(opened !== undefined);
  assert.deepEqual(
    opened.map((m) => unpack(m, 8, 3)),
    values,
  );
  // With another aggregator key the plaintext does not unpack (junk high bits).
  const wrong = openSealedChunks(sealed, a + 1n);
  assert.ok(wrong !== undefined);
  assert.throws(() => unpack(wrong[0]!, 8, 3));
  const chain = cipherChain(sealed.chunks);
  assert.equal(chain, poseidon([poseidon([0n, hashMany(sealed.chunks[0]!)]), hashMany(sealed.chunks[1]!)]));
  const c = sealedCommitment(chain, sealed.ephemeral);
  assert.notEqual(c, sealedCommitment(chain, publicKeyOf(4243n)));
  assert.equal(openSealedChunks({ ephemeral: [1n, 2n], chunks: sealed.chunks }, a), undefined);
});
