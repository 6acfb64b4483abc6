/**
 * The decision proof's `ctx` public input:
 * `ctx = ((keccak >> 48) << 40) | (D << 8) | f`, with `keccak = uint256(keccak256(abi.encode(chainId,
 * marketplace, projectId, round, paramsHash)))` computed by the caller (this package has no
 * keccak dependency), `D < 2^32` the model size (parameters before padding) and `f < 256` the
 * tolerated number of Byzantine trainers.
 *
 * Why `D` is in it: the circuits learn where the zero padding of the last chunk starts from the
 * accumulator's `size`, which the decision proof checks against these bits, so a trainer's values
 * in the padding are proven to count for nothing. The keccak part keeps 208 bits of binding.
 */

/** Bits of `ctx` below the keccak part: `f` (8) and `D` (32). */
const CTX_LOW_BITS = 40n;

/** Builds `ctx` from the keccak word, `f` and the model size `D`. */
export function computeCtx(keccak: bigint, f: number, modelSize: number): bigint {
  if (keccak < 0n || keccak >= 1n << 256n) throw new RangeError("keccak word must be a uint256");
  if (!Number.isInteger(f) || f < 0 || f > 255) throw new RangeError(`f ${f} must be in [0, 255]`);
  if (!Number.isInteger(modelSize) || modelSize < 1 || modelSize >= 2 ** 32) {
    throw new RangeError(`model size ${modelSize} must be in [1, 2^32)`);
  }
  return ((keccak >> (CTX_LOW_BITS + 8n)) << CTX_LOW_BITS) | (BigInt(modelSize) << 8n) | BigInt(f);
}

/** `f` (the low 8 bits of `ctx`). */
export function fOfCtx(ctx: bigint): number {
  return Number(ctx & 0xffn);
}

/** The model size `D` (bits 8..40 of `ctx`). */
export function modelSizeOfCtx(ctx: bigint): number {
  return Number((ctx >> 8n) & 0xffffffffn);
}

/** Largest `ctx` the circuit accepts (`ctx < 2^248`). */
export const CTX_BITS = 248;
