/**
 * Hand-written iden3 binfiles (R1CS and witness) for the setup tests that need a circuit small
 * enough for a 2^6 domain (dev-ptau.test.ts, dev-zkey.test.ts), plus the lazy `once` they share
 * their files through. Little-endian throughout, as snarkjs reads them.
 */

/** The bn128 scalar field (the R1CS and witness field). */
export const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

/** `v` as `bytes` little-endian bytes. */
export const le = (v: bigint, bytes: number): Uint8Array => {
  const out = new Uint8Array(bytes);
  for (let i = 0, x = v; i < bytes; i++, x >>= 8n) out[i] = Number(x & 0xffn);
  return out;
};
/** A field element, reduced into 0..R-1. */
export const fe = (v: bigint): Uint8Array => le(((v % R) + R) % R, 32);
export const u32 = (v: number): Uint8Array => le(BigInt(v), 4);
export const u64 = (v: number): Uint8Array => le(BigInt(v), 8);
/** A binfile section: id, byte size, contents. */
export const section = (id: number, parts: readonly Uint8Array[]): Uint8Array[] => [
  u32(id),
  u64(parts.reduce((s, p) => s + p.length, 0)),
  ...parts,
];

/** A linear combination: `[wire, coefficient]` terms. */
export type Lc = readonly (readonly [number, bigint])[];

/** An R1CS file (version 1: header, constraints `A * B = C`, wire labels 0..wires-1). */
export function r1csFile(o: {
  readonly wires: number;
  readonly outputs: number;
  readonly publicInputs: number;
  readonly privateInputs: number;
  readonly constraints: readonly (readonly [Lc, Lc, Lc])[];
}): Uint8Array {
  const lc = (terms: Lc): Uint8Array[] => [u32(terms.length), ...terms.flatMap(([wire, coef]) => [u32(wire), fe(coef)])];
  const header = [
    u32(32),
    le(R, 32),
    u32(o.wires),
    u32(o.outputs),
    u32(o.publicInputs),
    u32(o.privateInputs),
    u64(o.wires),
    u32(o.constraints.length),
  ];
  return Buffer.concat([
    new TextEncoder().encode("r1cs"),
    u32(1),
    u32(3),
    ...section(1, header),
    ...section(
      2,
      o.constraints.flatMap(([a, b, c]) => [...lc(a), ...lc(b), ...lc(c)]),
    ),
    ...section(
      3,
      Array.from({ length: o.wires }, (_, i) => u64(i)),
    ),
  ]);
}

/** A witness file (version 2) of every wire's value, wire 0 first. */
export function wtnsFile(values: readonly bigint[]): Uint8Array {
  return Buffer.concat([
    new TextEncoder().encode("wtns"),
    u32(2),
    u32(2),
    ...section(1, [u32(32), le(R, 32), u32(values.length)]),
    ...section(2, values.map(fe)),
  ]);
}

/** Runs `make` once, on first use (the files are shared by several tests). */
export function once<T>(make: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= make());
}
