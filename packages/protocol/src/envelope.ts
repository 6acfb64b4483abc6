/**
 * Encryption envelope `FMEV` v1: one payload encrypted for several recipients (the aggregator and
 * the project owner), each identified by an X25519 public key published on chain.
 *
 * Construction:
 * - a random 32-byte content key `K` and a random 24-byte nonce encrypt the payload with
 *   XChaCha20-Poly1305;
 * - for every recipient `R`, a fresh ephemeral X25519 key pair `(e, E)`; `s = X25519(e, R)`
 *   (rejected if all-zero); `kek = HKDF-SHA256(ikm = s, salt = E || R, info = "fedmarket-envelope/1 key wrap", 32)`;
 *   `wrapped = ChaCha20-Poly1305(kek, nonce = 12 zero bytes).encrypt(K)` (the nonce can be fixed
 *   because every `kek` is used once);
 * - the whole header (everything before the payload ciphertext) plus the caller's optional
 *   associated data (e.g. project, round and trainer address, not stored) is the AAD of the
 *   payload, so changing any byte of the envelope, or decrypting it in another context, fails.
 * - with a caller's secret `seed` (optional), the nonce, `K` and every ephemeral secret are derived
 *   instead of drawn: `HKDF-SHA256(ikm = seed, salt = SHA-256(u32 |AD| || AD || u32 n || R_1..R_n
 *   || payload), info = "fedmarket-envelope/1 derandomized " || label)`, labels `nonce` (24
 *   bytes), `content key` (32) and `ephemeral i` (32, i decimal). The same inputs give the same
 *   bytes (a sealed update re-created after a crash keeps its CID); another payload, recipient list
 *   or context gets other keys and nonces.
 *
 * Binary layout (n = number of recipients):
 *
 * | offset      | size     | field                                          |
 * | ----------- | -------- | ---------------------------------------------- |
 * | 0           | 4        | magic, ASCII `FMEV`                            |
 * | 4           | 1        | version = 1                                    |
 * | 5           | 1        | n, 1..255                                      |
 * | 6           | 24       | payload nonce                                  |
 * | 30          | 112 * n  | recipient entries:                             |
 * |             |          |   32 recipient public key                      |
 * |             |          |   32 ephemeral public key                      |
 * |             |          |   48 wrapped content key (32 + 16 tag)         |
 * | 30 + 112 n  | L + 16   | payload ciphertext and Poly1305 tag            |
 */
import { x25519 } from "@noble/curves/ed25519.js";
import { chacha20poly1305, xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { randomBytes } from "@noble/ciphers/utils.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";

export const ENVELOPE_MAGIC = "FMEV";
export const ENVELOPE_VERSION = 1;
export const ENVELOPE_HEADER_BYTES = 30;
export const RECIPIENT_ENTRY_BYTES = 112;
const KEY_WRAP_INFO = new TextEncoder().encode("fedmarket-envelope/1 key wrap");
const ZERO_NONCE_12 = new Uint8Array(12);

export interface X25519KeyPair {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

export class EnvelopeError extends Error {
  constructor(message: string) {
    super(`envelope: ${message}`);
    this.name = "EnvelopeError";
  }
}

/** A fresh X25519 key pair (32-byte secret, 32-byte public). */
export function generateKeyPair(): X25519KeyPair {
  const secretKey = x25519.utils.randomSecretKey();
  return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
}

/** The public key of a secret key. */
export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  return x25519.getPublicKey(secretKey);
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= (a[i] as number) ^ (b[i] as number);
  return d === 0;
}

function sharedSecret(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  let s: Uint8Array;
  try {
    s = x25519.getSharedSecret(secretKey, publicKey);
  } catch (err) {
    throw new EnvelopeError(`invalid X25519 key: ${(err as Error).message}`);
  }
  if (s.every((b) => b === 0)) throw new EnvelopeError("X25519 shared secret is zero (low-order public key)");
  return s;
}

function keyEncryptionKey(shared: Uint8Array, ephemeralPublic: Uint8Array, recipientPublic: Uint8Array): Uint8Array {
  const salt = new Uint8Array(64);
  salt.set(ephemeralPublic, 0);
  salt.set(recipientPublic, 32);
  return hkdf(sha256, shared, salt, KEY_WRAP_INFO, 32);
}

function aad(header: Uint8Array, associatedData: Uint8Array | undefined): Uint8Array {
  if (associatedData === undefined || associatedData.length === 0) return header;
  const out = new Uint8Array(header.length + associatedData.length);
  out.set(header, 0);
  out.set(associatedData, header.length);
  return out;
}

export interface EnvelopeOptions {
  /** Context bound to the ciphertext but not stored; the decrypter must pass the same bytes. */
  readonly associatedData?: Uint8Array;
  /**
   * Seals deterministically (see the module comment): the nonce, the content key and the ephemeral
   * keys come from this secret (at least 16 bytes) and the inputs, so sealing the same payload for
   * the same recipients and context again gives the same envelope. Whoever knows the seed can
   * decrypt: it must be as secret as the payload, and random (e.g. the payload itself when that is
   * a fresh random secret). Ignored by `openEnvelope`.
   */
  readonly seed?: Uint8Array;
}

const DERANDOMIZED_INFO = "fedmarket-envelope/1 derandomized ";

/** Where a seal's randomness comes from: fresh draws, or HKDF of the caller's seed (module comment). */
function sealRandomness(
  payload: Uint8Array,
  recipients: readonly Uint8Array[],
  options: EnvelopeOptions,
): (label: string, length: number) => Uint8Array {
  const seed = options.seed;
  if (seed === undefined) return (_label, length) => randomBytes(length);
  if (seed.length < 16) throw new EnvelopeError(`a seed must have at least 16 bytes, got ${seed.length}`);
  const ad = options.associatedData ?? new Uint8Array(0);
  const lengths = new Uint8Array(8);
  new DataView(lengths.buffer).setUint32(0, ad.length, false);
  new DataView(lengths.buffer).setUint32(4, recipients.length, false);
  const h = sha256.create();
  h.update(lengths.subarray(0, 4));
  h.update(ad);
  h.update(lengths.subarray(4, 8));
  for (const r of recipients) h.update(r);
  h.update(payload);
  const salt = h.digest();
  return (label, length) => hkdf(sha256, seed, salt, new TextEncoder().encode(DERANDOMIZED_INFO + label), length);
}

/** Encrypts `payload` so that each of `recipients` (X25519 public keys) can decrypt it. */
export function sealEnvelope(payload: Uint8Array, recipients: readonly Uint8Array[], options: EnvelopeOptions = {}): Uint8Array {
  if (recipients.length < 1 || recipients.length > 255) throw new EnvelopeError(`needs 1 to 255 recipients, got ${recipients.length}`);
  recipients.forEach((r, i) => {
    if (r.length !== 32) throw new EnvelopeError(`recipient ${i}: public key must be 32 bytes, got ${r.length}`);
  });
  const n = recipients.length;
  const draw = sealRandomness(payload, recipients, options);
  const header = new Uint8Array(ENVELOPE_HEADER_BYTES + RECIPIENT_ENTRY_BYTES * n);
  for (let i = 0; i < 4; i++) header[i] = ENVELOPE_MAGIC.charCodeAt(i);
  header[4] = ENVELOPE_VERSION;
  header[5] = n;
  const nonce = draw("nonce", 24);
  header.set(nonce, 6);
  const contentKey = draw("content key", 32);
  recipients.forEach((recipient, i) => {
    const ephemeralSecret = draw(`ephemeral ${i}`, 32);
    const ephemeral = { secretKey: ephemeralSecret, publicKey: x25519.getPublicKey(ephemeralSecret) };
    const kek = keyEncryptionKey(sharedSecret(ephemeral.secretKey, recipient), ephemeral.publicKey, recipient);
    const wrapped = chacha20poly1305(kek, ZERO_NONCE_12).encrypt(contentKey);
    const at = ENVELOPE_HEADER_BYTES + RECIPIENT_ENTRY_BYTES * i;
    header.set(recipient, at);
    header.set(ephemeral.publicKey, at + 32);
    header.set(wrapped, at + 64);
    kek.fill(0);
    ephemeral.secretKey.fill(0);
  });
  const ciphertext = xchacha20poly1305(contentKey, nonce, aad(header, options.associatedData)).encrypt(payload);
  contentKey.fill(0);
  const out = new Uint8Array(header.length + ciphertext.length);
  out.set(header, 0);
  out.set(ciphertext, header.length);
  return out;
}

/** Parsed header of an envelope (no secrets needed). */
export interface EnvelopeHeader {
  readonly recipients: readonly Uint8Array[];
  readonly headerBytes: number;
}

export function readEnvelopeHeader(envelope: Uint8Array): EnvelopeHeader {
  if (envelope.length < ENVELOPE_HEADER_BYTES) throw new EnvelopeError(`${envelope.length} bytes is too short`);
  const magic = String.fromCharCode(...envelope.subarray(0, 4));
  if (magic !== ENVELOPE_MAGIC) throw new EnvelopeError(`bad magic ${JSON.stringify(magic)}`);
  if (envelope[4] !== ENVELOPE_VERSION) throw new EnvelopeError(`unsupported version ${envelope[4]}`);
  const n = envelope[5] as number;
  if (n === 0) throw new EnvelopeError("no recipients");
  const headerBytes = ENVELOPE_HEADER_BYTES + RECIPIENT_ENTRY_BYTES * n;
  if (envelope.length < headerBytes + 16)
    throw new EnvelopeError(`truncated: ${envelope.length} bytes cannot hold ${n} recipients and a tag`);
  const recipients: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const at = ENVELOPE_HEADER_BYTES + RECIPIENT_ENTRY_BYTES * i;
    recipients.push(envelope.slice(at, at + 32));
  }
  return { recipients, headerBytes };
}

/**
 * Decrypts an envelope with a recipient's secret key. Throws `EnvelopeError` if the key is not a
 * recipient, or if anything was modified (or the associated data differs).
 */
export function openEnvelope(envelope: Uint8Array, secretKey: Uint8Array, options: EnvelopeOptions = {}): Uint8Array {
  const { recipients, headerBytes } = readEnvelopeHeader(envelope);
  const publicKey = publicKeyOf(secretKey);
  const index = recipients.findIndex((r) => equal(r, publicKey));
  if (index < 0) throw new EnvelopeError("this key is not one of the recipients");
  const at = ENVELOPE_HEADER_BYTES + RECIPIENT_ENTRY_BYTES * index;
  const ephemeralPublic = envelope.subarray(at + 32, at + 64);
  const wrapped = envelope.subarray(at + 64, at + 112);
  const kek = keyEncryptionKey(sharedSecret(secretKey, ephemeralPublic), ephemeralPublic, publicKey);
  let contentKey: Uint8Array;
  try {
    contentKey = chacha20poly1305(kek, ZERO_NONCE_12).decrypt(wrapped);
  } catch {
    throw new EnvelopeError("cannot unwrap the content key (tampered entry or wrong key)");
  }
  const header = envelope.subarray(0, headerBytes);
  const nonce = envelope.subarray(6, 30);
  try {
    return xchacha20poly1305(contentKey, nonce, aad(header, options.associatedData)).decrypt(envelope.subarray(headerBytes));
  } catch {
    throw new EnvelopeError("authentication failed (tampered envelope or different associated data)");
  } finally {
    contentKey.fill(0);
  }
}
