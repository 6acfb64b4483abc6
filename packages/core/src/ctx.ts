/**
 * The decision proof's `ctx` public input:
 * `ctx = ((keccak >> 16) << 8) | f`, with `keccak = uint256(keccak256(abi.encode(chainId,
 * marketplace, projectId, round, paramsHash)))` computed by the caller (this package has no
 * keccak dependency) and `f < 256` the tolerated number of Byzantine trainers.
 */

/** Builds `ctx` from the keccak word and `f`. */
export function computeCtx(keccak: bigint, f: number): bigint {
  if (keccak < 0n || keccak >= 1n << 256n) throw new RangeError("keccak word must be a uint256");
  if (!Number.isInteger(f) || f < 0 || f > 255) throw new RangeError(`f ${f} must be in [0, 255]`);
  return ((keccak >> 16n) << 8n) | BigInt(f);
}

/** `f` (the low 8 bits of `ctx`). */
export function fOfCtx(ctx: bigint): number {
  return Number(ctx & 0xffn);
}

/** Largest `ctx` the circuit accepts (`ctx < 2^248`). */
export const CTX_BITS = 248;
