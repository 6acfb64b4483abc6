/**
 * Incremental BLAKE2b-512 (RFC 7693) whose intermediate state can be exported.
 *
 * Why not node:crypto: a ptau file stores, for each contribution, the *partial* state of the
 * response hash (the 216-byte `partialHash` field: pending block, chaining value, byte counters) so
 * that a verifier can finish the hash with the contributor's public key. node:crypto cannot export
 * that state, so the dev powers of tau (dev-ptau.ts) hash their response with this class and use
 * node:crypto for every plain digest.
 *
 * The export must match the files snarkjs writes byte for byte, stale bytes included: the pending
 * block buffer keeps whatever earlier, longer tails left behind it. We therefore buffer exactly as
 * snarkjs's hasher does: whole blocks that start at a block boundary and are followed by more input
 * of the same `update` call are compressed straight from the input; every other byte goes through
 * the buffer; the last block is always held back, since BLAKE2b must know which block is final.
 * Callers that need identical exports must also call `update` with the same chunks.
 */

const BLOCK = 128;

/** The BLAKE2b initialisation vector, as 32-bit little-endian halves (low, high). */
const IV = Uint32Array.from([
  0xf3bcc908, 0x6a09e667, 0x84caa73b, 0xbb67ae85, 0xfe94f82b, 0x3c6ef372, 0x5f1d36f1, 0xa54ff53a, 0xade682d1, 0x510e527f, 0x2b3e6c1f,
  0x9b05688c, 0xfb41bd6b, 0x1f83d9ab, 0x137e2179, 0x5be0cd19,
]);

/** Message word schedule of the 12 rounds (rounds 10 and 11 repeat rounds 0 and 1). */
const SIGMA = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
  [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
  [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
  [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
  [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
  [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
  [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
  [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
  [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
  [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
].map((row) => Uint8Array.from(row));

/** Size of an exported partial state (the ptau `partialHash` field). */
export const PARTIAL_STATE_BYTES = 216;

/** BLAKE2b with a 64-byte digest, no key, salt or personalisation. */
export class Blake2b512 {
  /** Chaining value h[0..7] as (low, high) 32-bit halves. */
  private readonly h = IV.slice();
  private readonly buffer = new Uint8Array(BLOCK);
  /** Bytes of `buffer` that belong to the pending block. */
  private pos = 0;
  /** Bytes fed so far, buffered ones included (the BLAKE2b counter of the next compression). */
  private fed = 0;
  private readonly v = new Uint32Array(32);
  private readonly m = new Uint32Array(32);

  constructor() {
    this.h[0] = (this.h[0]! ^ 0x01010040) >>> 0; // parameter block: digest length 64, fanout 1, depth 1
  }

  /** Absorbs `data`; see the header for the buffering rule that exports depend on. */
  update(data: Uint8Array): this {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let i = 0;
    while (i < data.length) {
      if (this.pos === BLOCK) {
        this.compressFrom(new DataView(this.buffer.buffer), 0, false);
        this.pos = 0;
      }
      const take = Math.min(BLOCK - this.pos, data.length - i);
      if (take === BLOCK && i + BLOCK < data.length) {
        while (i + BLOCK < data.length) {
          this.fed += BLOCK;
          this.compressFrom(view, i, false);
          i += BLOCK;
        }
        continue;
      }
      this.buffer.set(data.subarray(i, i + take), this.pos);
      this.pos += take;
      this.fed += take;
      i += take;
    }
    return this;
  }

  /**
   * The state as stored in a ptau contribution: the 128-byte block buffer, h as little-endian
   * 32-bit halves, the number of bytes already compressed and the number pending (both u64), and 8
   * zero bytes.
   */
  partialState(): Uint8Array {
    const out = new Uint8Array(PARTIAL_STATE_BYTES);
    const dv = new DataView(out.buffer);
    out.set(this.buffer, 0);
    for (let k = 0; k < 16; k++) dv.setUint32(BLOCK + 4 * k, this.h[k]!, true);
    dv.setBigUint64(BLOCK + 64, BigInt(this.fed - this.pos), true);
    dv.setBigUint64(BLOCK + 72, BigInt(this.pos), true);
    return out;
  }

  /** Finishes the hash (the hasher must not be used afterwards). */
  digest(): Uint8Array {
    this.buffer.fill(0, this.pos);
    this.compressFrom(new DataView(this.buffer.buffer), 0, true);
    const out = new Uint8Array(64);
    const dv = new DataView(out.buffer);
    for (let k = 0; k < 16; k++) dv.setUint32(4 * k, this.h[k]!, true);
    return out;
  }

  /** The BLAKE2b compression F of the 128-byte block at `offset` of `block`, counter `fed`. */
  private compressFrom(block: DataView, offset: number, last: boolean): void {
    const { v, m, h } = this;
    for (let k = 0; k < 32; k++) m[k] = block.getUint32(offset + 4 * k, true);
    v.set(h, 0);
    v.set(IV, 16);
    v[24] = (v[24]! ^ (this.fed >>> 0)) >>> 0; // t0, low then high half (inputs stay far below 2^53)
    v[25] = (v[25]! ^ Math.floor(this.fed / 2 ** 32)) >>> 0;
    if (last) {
      v[28] = ~v[28]! >>> 0;
      v[29] = ~v[29]! >>> 0;
    }
    for (let round = 0; round < 12; round++) {
      const s = SIGMA[round % 10]!;
      mix(v, m, 0, 4, 8, 12, s[0]!, s[1]!);
      mix(v, m, 1, 5, 9, 13, s[2]!, s[3]!);
      mix(v, m, 2, 6, 10, 14, s[4]!, s[5]!);
      mix(v, m, 3, 7, 11, 15, s[6]!, s[7]!);
      mix(v, m, 0, 5, 10, 15, s[8]!, s[9]!);
      mix(v, m, 1, 6, 11, 12, s[10]!, s[11]!);
      mix(v, m, 2, 7, 8, 13, s[12]!, s[13]!);
      mix(v, m, 3, 4, 9, 14, s[14]!, s[15]!);
    }
    for (let k = 0; k < 16; k++) h[k] = (h[k]! ^ v[k]! ^ v[k + 16]!) >>> 0;
  }
}

/**
 * The BLAKE2b mixing function G on the 64-bit words a, b, c, d of `v` (stored as low, high halves
 * at 2i, 2i+1) with message words x, y. Written out on locals: this loop is the hot spot.
 */
function mix(v: Uint32Array, m: Uint32Array, a: number, b: number, c: number, d: number, x: number, y: number): void {
  let al = v[2 * a]!,
    ah = v[2 * a + 1]!,
    bl = v[2 * b]!,
    bh = v[2 * b + 1]!;
  let cl = v[2 * c]!,
    ch = v[2 * c + 1]!,
    dl = v[2 * d]!,
    dh = v[2 * d + 1]!;
  let t: number;
  // a = a + b + m[x]; d = rotr64(d ^ a, 32)
  t = al + bl + m[2 * x]!;
  ah = (ah + bh + m[2 * x + 1]! + ((t / 0x100000000) | 0)) >>> 0;
  al = t >>> 0;
  t = (dl ^ al) >>> 0;
  dl = (dh ^ ah) >>> 0;
  dh = t;
  // c = c + d; b = rotr64(b ^ c, 24)
  t = cl + dl;
  ch = (ch + dh + ((t / 0x100000000) | 0)) >>> 0;
  cl = t >>> 0;
  t = (bl ^ cl) >>> 0;
  bh = (bh ^ ch) >>> 0;
  bl = ((t >>> 24) | (bh << 8)) >>> 0;
  bh = ((bh >>> 24) | (t << 8)) >>> 0;
  // a = a + b + m[y]; d = rotr64(d ^ a, 16)
  t = al + bl + m[2 * y]!;
  ah = (ah + bh + m[2 * y + 1]! + ((t / 0x100000000) | 0)) >>> 0;
  al = t >>> 0;
  t = (dl ^ al) >>> 0;
  dh = (dh ^ ah) >>> 0;
  dl = ((t >>> 16) | (dh << 16)) >>> 0;
  dh = ((dh >>> 16) | (t << 16)) >>> 0;
  // c = c + d; b = rotr64(b ^ c, 63) = rotl64(b ^ c, 1)
  t = cl + dl;
  ch = (ch + dh + ((t / 0x100000000) | 0)) >>> 0;
  cl = t >>> 0;
  t = (bl ^ cl) >>> 0;
  bh = (bh ^ ch) >>> 0;
  bl = ((t << 1) | (bh >>> 31)) >>> 0;
  bh = ((bh << 1) | (t >>> 31)) >>> 0;
  v[2 * a] = al;
  v[2 * a + 1] = ah;
  v[2 * b] = bl;
  v[2 * b + 1] = bh;
  v[2 * c] = cl;
  v[2 * c + 1] = ch;
  v[2 * d] = dl;
  v[2 * d + 1] = dh;
}
