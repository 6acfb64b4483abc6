/**
 * A small reader for circom's `.r1cs` files and an exact constraint checker over bigints.
 * (snarkjs.wtns.check only works on files; tests use this to check tampered witnesses.)
 */
import { readFileSync } from "node:fs";

/** One linear combination: wire index -> coefficient. */
export type LinearCombination = ReadonlyMap<number, bigint>;

/** A parsed constraint system. */
export interface R1cs {
  readonly prime: bigint;
  readonly nWires: number;
  readonly nPubOut: number;
  readonly nPubIn: number;
  readonly nPrvIn: number;
  readonly nConstraints: number;
  /** Constraints `A * B = C`. */
  readonly constraints: readonly (readonly [LinearCombination, LinearCombination, LinearCombination])[];
}

function readLE(buf: Buffer, offset: number, n: number): bigint {
  let x = 0n;
  for (let i = n - 1; i >= 0; i--) x = (x << 8n) | BigInt(buf[offset + i] as number);
  return x;
}

/** Reads the header only (cheap). */
export function readR1csHeader(file: string): Omit<R1cs, "constraints"> {
  const { constraints: _unused, ...header } = parse(readFileSync(file), false);
  return header;
}

/** Reads header and constraints. */
export function readR1cs(file: string): R1cs {
  return parse(readFileSync(file), true);
}

function parse(buf: Buffer, withConstraints: boolean): R1cs {
  if (buf.toString("ascii", 0, 4) !== "r1cs") throw new Error("not an r1cs file");
  const nSections = buf.readUInt32LE(8);
  let pos = 12;
  const sections = new Map<number, { start: number; size: number }>();
  for (let s = 0; s < nSections; s++) {
    const type = buf.readUInt32LE(pos);
    const size = Number(buf.readBigUInt64LE(pos + 4));
    sections.set(type, { start: pos + 12, size });
    pos += 12 + size;
  }
  const header = sections.get(1);
  if (header === undefined) throw new Error("r1cs without header");
  let h = header.start;
  const n8 = buf.readUInt32LE(h);
  const prime = readLE(buf, h + 4, n8);
  h += 4 + n8;
  const nWires = buf.readUInt32LE(h);
  const nPubOut = buf.readUInt32LE(h + 4);
  const nPubIn = buf.readUInt32LE(h + 8);
  const nPrvIn = buf.readUInt32LE(h + 12);
  const nConstraints = buf.readUInt32LE(h + 24);
  const constraints: [LinearCombination, LinearCombination, LinearCombination][] = [];
  const body = sections.get(2);
  if (withConstraints && body !== undefined) {
    let p = body.start;
    const readLc = (): LinearCombination => {
      const lc = new Map<number, bigint>();
      const n = buf.readUInt32LE(p);
      p += 4;
      for (let i = 0; i < n; i++) {
        lc.set(buf.readUInt32LE(p), readLE(buf, p + 4, n8));
        p += 4 + n8;
      }
      return lc;
    };
    for (let c = 0; c < nConstraints; c++) constraints.push([readLc(), readLc(), readLc()]);
  }
  return { prime, nWires, nPubOut, nPubIn, nPrvIn, nConstraints, constraints };
}

/** Index of the first violated constraint, or -1 when the witness satisfies all of them. */
export function firstViolated(r1cs: R1cs, witness: readonly bigint[]): number {
  const p = r1cs.prime;
  const evaluate = (lc: LinearCombination): bigint => {
    let acc = 0n;
    for (const [wire, coeff] of lc) acc += coeff * (witness[wire] ?? 0n);
    return acc % p;
  };
  if (witness[0] !== 1n) return -2;
  for (let i = 0; i < r1cs.constraints.length; i++) {
    const [a, b, c] = r1cs.constraints[i] as readonly [LinearCombination, LinearCombination, LinearCombination];
    if ((evaluate(a) * evaluate(b) - evaluate(c)) % p !== 0n) return i;
  }
  return -1;
}
