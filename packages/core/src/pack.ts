/**
 * Offset encoding and little-endian packing of signed `bits`-bit values into field elements.
 *
 * A value `v` in `[-2^(bits-1), 2^(bits-1))` is offset-encoded as `v + 2^(bits-1)` in `[0, 2^bits)`.
 * `P = floor(252 / bits)` encoded values go into one field element, value `p` of the element at
 * bit offset `bits * p`. A list of `n` values becomes `ceil(n / P)` elements; the last element
 * holds the remaining `n - P * (ceil(n / P) - 1)` values and nothing above them. The circuits
 * unpack every element with `Num2Bits(slots * bits)`, which doubles as the range check.
 */
import { valuesPerElement } from "./config.ts";
import { assertSignedBits, assertUnsignedBits } from "./field.ts";

/** `v + 2^(bits-1)`; throws if `v` is outside the signed range. */
export function offsetEncode(v: bigint, bits: number): bigint {
  assertSignedBits(v, bits, "value");
  return v + (1n << BigInt(bits - 1));
}

/** Inverse of `offsetEncode`; throws if `e` is outside `[0, 2^bits)`. */
export function offsetDecode(e: bigint, bits: number): bigint {
  assertUnsignedBits(e, bits, "encoded value");
  return e - (1n << BigInt(bits - 1));
}

/** Packs signed values into field elements (see the module comment for the layout). */
export function pack(values: readonly bigint[], bits: number): bigint[] {
  const per = valuesPerElement(bits);
  const out: bigint[] = [];
  for (let start = 0; start < values.length; start += per) {
    let element = 0n;
    const end = Math.min(values.length, start + per);
    for (let i = end - 1; i >= start; i--) {
      element = (element << BigInt(bits)) | offsetEncode(values[i] as bigint, bits);
    }
    out.push(element);
  }
  return out;
}

/** Unpacks `count` signed values from field elements produced by `pack`; throws on junk bits. */
export function unpack(elements: readonly bigint[], bits: number, count: number): bigint[] {
  return unpackWith(elements, bits, count, (element, slots, e) => assertUnsignedBits(element, slots * bits, `packed element ${e}`));
}

/** Bound of the elements `unpackLow` reads: `2^253` (FedMarketAnswers `REFERENCE_ELEMENT_LIMIT`). */
export const LOW_UNPACK_BITS = 253;

/**
 * Unpacks `count` signed values from the low bits of elements below `2^253`, ignoring the bits
 * above them (`UnpackLow` in circuits/lib.circom): for the owner's reference, which the proof must
 * be able to use whatever its answer on chain holds (the contract bounds each element by `2^253`,
 * nothing more). Equal to `unpack` on what `pack` produces.
 */
export function unpackLow(elements: readonly bigint[], bits: number, count: number): bigint[] {
  return unpackWith(elements, bits, count, (element, _slots, e) => assertUnsignedBits(element, LOW_UNPACK_BITS, `packed element ${e}`));
}

function unpackWith(
  elements: readonly bigint[],
  bits: number,
  count: number,
  check: (element: bigint, slots: number, e: number) => void,
): bigint[] {
  const per = valuesPerElement(bits);
  if (elements.length !== Math.ceil(count / per)) {
    throw new RangeError(`${elements.length} elements cannot hold exactly ${count} values`);
  }
  const mask = (1n << BigInt(bits)) - 1n;
  const out: bigint[] = [];
  elements.forEach((element, e) => {
    const slots = Math.min(per, count - e * per);
    check(element, slots, e);
    let rest = element;
    for (let p = 0; p < slots; p++) {
      out.push(offsetDecode(rest & mask, bits));
      rest >>= BigInt(bits);
    }
  });
  return out;
}
