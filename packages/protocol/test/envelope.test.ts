import { test } from "node:test";
import assert from "node:assert/strict";
import { x25519 } from "@noble/curves/ed25519.js";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  EnvelopeError,
  generateKeyPair,
  openEnvelope,
  readEnvelopeHeader,
  sealEnvelope,
  ENVELOPE_HEADER_BYTES,
  RECIPIENT_ENTRY_BYTES,
} from "../src/envelope.ts";

const payload = new TextEncoder().encode("quantized update + salt ".repeat(100));
const aggregator = generateKeyPair();
const owner = generateKeyPair();
const stranger = generateKeyPair();

test("every recipient decrypts; layout is as documented", () => {
  const env = sealEnvelope(payload, [aggregator.publicKey, owner.publicKey]);
  assert.equal(env.length, ENVELOPE_HEADER_BYTES + 2 * RECIPIENT_ENTRY_BYTES + payload.length + 16);
  assert.equal(Buffer.from(env.subarray(0, 4)).toString(), "FMEV");
  assert.equal(env[4], 1);
  assert.equal(env[5], 2);
  assert.deepEqual(readEnvelopeHeader(env).recipients, [aggregator.publicKey, owner.publicKey]);
  assert.deepEqual(openEnvelope(env, aggregator.secretKey), payload);
  assert.deepEqual(openEnvelope(env, owner.secretKey), payload);
  // two seals of the same payload differ (fresh key, nonce and ephemeral keys)
  assert.notDeepEqual(sealEnvelope(payload, [owner.publicKey]), sealEnvelope(payload, [owner.publicKey]));
  assert.deepEqual(openEnvelope(sealEnvelope(new Uint8Array(0), [owner.publicKey]), owner.secretKey), new Uint8Array(0));
});

test("the key wrap follows the documented KDF (independent re-derivation)", () => {
  const env = sealEnvelope(payload, [owner.publicKey]);
  const at = ENVELOPE_HEADER_BYTES;
  const eph = env.subarray(at + 32, at + 64);
  const salt = new Uint8Array([...eph, ...owner.publicKey]);
  const kek = hkdf(
    sha256,
    x25519.getSharedSecret(owner.secretKey, eph),
    salt,
    new TextEncoder().encode("fedmarket-envelope/1 key wrap"),
    32,
  );
  const contentKey = chacha20poly1305(kek, new Uint8Array(12)).decrypt(env.subarray(at + 64, at + 112));
  assert.equal(contentKey.length, 32);
});

test("a stranger cannot decrypt, even by pretending to be a recipient", () => {
  const env = sealEnvelope(payload, [aggregator.publicKey, owner.publicKey]);
  assert.throws(() => openEnvelope(env, stranger.secretKey), /not one of the recipients/);
  // Replace the owner's listed public key by the stranger's: the wrapped key was not made for them.
  const forged = env.slice();
  forged.set(stranger.publicKey, ENVELOPE_HEADER_BYTES + RECIPIENT_ENTRY_BYTES);
  assert.throws(() => openEnvelope(forged, stranger.secretKey), EnvelopeError);
});

test("tampering anywhere fails; associated data must match", () => {
  const ad = new TextEncoder().encode("project 1 round 3 trainer 0xabc");
  const env = sealEnvelope(payload, [aggregator.publicKey, owner.publicKey], { associatedData: ad });
  assert.deepEqual(openEnvelope(env, owner.secretKey, { associatedData: ad }), payload);
  assert.throws(() => openEnvelope(env, owner.secretKey), /authentication failed/);
  assert.throws(
    () => openEnvelope(env, owner.secretKey, { associatedData: new TextEncoder().encode("project 1 round 4") }),
    /authentication failed/,
  );
  for (const offset of [
    6,
    29,
    ENVELOPE_HEADER_BYTES + 40,
    ENVELOPE_HEADER_BYTES + 100,
    ENVELOPE_HEADER_BYTES + RECIPIENT_ENTRY_BYTES + 70,
    env.length - 300,
    env.length - 1,
  ]) {
    const t = env.slice();
    t[offset]! ^= 0x01;
    assert.throws(() => openEnvelope(t, owner.secretKey, { associatedData: ad }), EnvelopeError, `flip at ${offset}`);
  }
  assert.throws(() => openEnvelope(env.subarray(0, env.length - 1), owner.secretKey, { associatedData: ad }), /authentication failed/);
  assert.throws(() => openEnvelope(env.subarray(0, 100), owner.secretKey), /truncated/);
  const magic = env.slice();
  magic[0] = 0;
  assert.throws(() => openEnvelope(magic, owner.secretKey), /bad magic/);
});

test("bad recipient keys are rejected", () => {
  assert.throws(() => sealEnvelope(payload, []), /1 to 255 recipients/);
  assert.throws(() => sealEnvelope(payload, [new Uint8Array(31)]), /32 bytes/);
  assert.throws(() => sealEnvelope(payload, [new Uint8Array(32)]), /zero|invalid X25519/); // low-order point 0
});

test("with a seed, sealing is deterministic; another payload, recipient list or context changes every derived value", () => {
  const seed = new Uint8Array(32).fill(9);
  const ad = new TextEncoder().encode("project 1 round 3");
  const seal = (p: Uint8Array, r: Uint8Array[], a: Uint8Array, s: Uint8Array = seed) => sealEnvelope(p, r, { associatedData: a, seed: s });
  const env = seal(payload, [owner.publicKey], ad);
  assert.deepEqual(seal(payload, [owner.publicKey], ad), env);
  assert.deepEqual(openEnvelope(env, owner.secretKey, { associatedData: ad }), payload);
  const nonce = (e: Uint8Array) => Buffer.from(e.subarray(6, 30)).toString("hex");
  const ephemeral = (e: Uint8Array) => Buffer.from(e.subarray(ENVELOPE_HEADER_BYTES + 32, ENVELOPE_HEADER_BYTES + 64)).toString("hex");
  const others = [
    seal(payload.subarray(1), [owner.publicKey], ad),
    seal(payload, [owner.publicKey, aggregator.publicKey], ad),
    seal(payload, [owner.publicKey], ad.subarray(1)),
    seal(payload, [owner.publicKey], ad, new Uint8Array(32).fill(8)),
  ];
  for (const other of others) {
    assert.notEqual(nonce(other), nonce(env));
    assert.notEqual(ephemeral(other), ephemeral(env));
  }
  assert.throws(() => seal(payload, [owner.publicKey], ad, new Uint8Array(15)), /at least 16 bytes/);
});
