/**
 * Malformation of a slot's packed plaintext: the reference of `circuits/malformed.circom`.
 *
 * The chunk circuit unpacks each packed element `e` of a slot's plaintext with
 * `Num2Bits(slots * bits)`, `slots = min(P, count - e * P)` (see pack.ts), so an element whose
 * canonical value (the integer in `[0, r)` it stands for) is `>= 2^(slots * bits)` cannot be
 * unpacked. A slot may be left undecoded only with a proof that one of its elements is such an
 * element (docs/THREAT-MODEL.md row 11, "stage 3"); `findMalformed` finds the element to claim,
 * `malformedWitness` turns the finding into the input of the `SelectMalformed` template.
 */
import { packedLength, valuesPerElement } from "./config.ts";
import { assertFieldElement } from "./field.ts";
import type { CircuitInput } from "./witness.ts";

/**
 * The bit width each packed element of `count` values of `bits` bits may use: `slots * bits` for
 * the element's `slots` values (every element full but possibly the last). Mirrors `elementWidth`
 * in malformed.circom and the `Num2Bits` widths of `UnpackEncoded` in lib.circom.
 */
export function elementWidths(count: number, bits: number): number[] {
  const per = valuesPerElement(bits);
  return Array.from({ length: packedLength(count, bits) }, (_, e) => Math.min(per, count - e * per) * bits);
}

/**
 * Index of the first packed element that does not fit its width (so `unpack` and the circuit
 * reject it), or `null` when every element unpacks. The elements are field elements as decrypted
 * (canonical, in `[0, r)`): a value outside that range is a caller bug, not a malformed slot, so
 * it throws a `RangeError`, as does a list of the wrong length for `count` values.
 */
export function findMalformed(elements: readonly bigint[], count: number, bits: number): number | null {
  const widths = elementWidths(count, bits);
  if (elements.length !== widths.length) {
    throw new RangeError(`${elements.length} elements cannot hold exactly ${count} values`);
  }
  elements.forEach((x, e) => assertFieldElement(x, `packed element ${e}`));
  const index = elements.findIndex((x, e) => x >= 1n << BigInt(widths[e] as number));
  return index < 0 ? null : index;
}

/**
 * Input of `SelectMalformed(count, bits)` for one slot's elements of one chunk: the elements and
 * the one-hot selector over `elements.length + 1` positions, set at the first malformed element
 * (`findMalformed`) or at the last position ("no claim") when the elements unpack.
 */
export function malformedWitness(elements: readonly bigint[], count: number, bits: number): CircuitInput {
  return { elements: [...elements], select: malformedSelector(findMalformed(elements, count, bits), elements.length) };
}

/**
 * The one-hot selector of `SelectMalformed` over `elementCount + 1` positions: position `claim`
 * for a claimed element, the last position for no claim (`null`). The chunk witness's
 * `malformedSelect` rows.
 */
export function malformedSelector(claim: number | null, elementCount: number): bigint[] {
  const at = claim ?? elementCount;
  return Array.from({ length: elementCount + 1 }, (_, i) => (i === at ? 1n : 0n));
}
