/**
 * Arithmetic over the BN254 scalar field, the field every circuit of fedmarket works in.
 *
 * Values are plain `bigint`s. A field element is canonical when it lies in `[0, FIELD_MODULUS)`.
 * Signed integers (quantized updates, Gram entries, ...) are mapped into the field with
 * `toField` (negative `v` becomes `r + v`) and read back with `fromFieldSigned`.
 */

/** The BN254 scalar field modulus `r` (circom's default prime). */
export const FIELD_MODULUS: bigint = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

/** Half of the modulus: canonical elements above it read back as negative integers. */
const HALF_MODULUS: bigint = FIELD_MODULUS >> 1n;

/** Reduces any integer into the canonical range `[0, r)`. */
export function mod(x: bigint): bigint {
  const m = x % FIELD_MODULUS;
  return m < 0n ? m + FIELD_MODULUS : m;
}

/** Field addition. */
export function fadd(a: bigint, b: bigint): bigint {
  return mod(a + b);
}

/** Field subtraction. */
export function fsub(a: bigint, b: bigint): bigint {
  return mod(a - b);
}

/** Field multiplication. */
export function fmul(a: bigint, b: bigint): bigint {
  return mod(a * b);
}

/** Maps a (possibly negative) integer to its canonical field element; throws if `|v| >= r/2`. */
export function toField(v: bigint): bigint {
  if (v > HALF_MODULUS || -v > HALF_MODULUS) {
    throw new RangeError(`integer ${v} does not fit the signed field range`);
  }
  return mod(v);
}

/** Reads a canonical field element as a signed integer in `(-r/2, r/2]`. */
export function fromFieldSigned(x: bigint): bigint {
  assertFieldElement(x, "value");
  return x > HALF_MODULUS ? x - FIELD_MODULUS : x;
}

/** True when `x` is a canonical field element. */
export function isFieldElement(x: bigint): boolean {
  return x >= 0n && x < FIELD_MODULUS;
}

/** Throws unless `x` is a canonical field element. */
export function assertFieldElement(x: bigint, what: string): void {
  if (!isFieldElement(x)) {
    throw new RangeError(`${what} ${x} is not a canonical BN254 field element`);
  }
}

/** Throws unless `0 <= x < 2^bits`. */
export function assertUnsignedBits(x: bigint, bits: number, what: string): void {
  if (x < 0n || x >= 1n << BigInt(bits)) {
    throw new RangeError(`${what} ${x} is not in [0, 2^${bits})`);
  }
}

/** Throws unless `-2^(bits-1) <= x < 2^(bits-1)` (two's-complement range of `bits` bits). */
export function assertSignedBits(x: bigint, bits: number, what: string): void {
  const half = 1n << BigInt(bits - 1);
  if (x < -half || x >= half) {
    throw new RangeError(`${what} ${x} is not in [-2^${bits - 1}, 2^${bits - 1})`);
  }
}

/** Ceiling of log2 for positive integers: the number of bits needed for values `0..n-1`. */
export function ceilLog2(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`ceilLog2 of ${n}`);
  let bits = 0;
  while (2 ** bits < n) bits++;
  return bits;
}

/** Floor division rounding toward minus infinity (bigint `/` truncates toward zero). */
export function floorDiv(a: bigint, b: bigint): bigint {
  if (b === 0n) throw new RangeError("division by zero");
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** A uniformly random field element, from the platform CSPRNG (rejection sampling). */
export function randomFieldElement(): bigint {
  const bytes = new Uint8Array(32);
  for (;;) {
    globalThis.crypto.getRandomValues(bytes);
    bytes[0] = (bytes[0] ?? 0) & 0x3f; // 254 bits
    let x = 0n;
    for (const byte of bytes) x = (x << 8n) | BigInt(byte);
    if (x < FIELD_MODULUS) return x;
  }
}
