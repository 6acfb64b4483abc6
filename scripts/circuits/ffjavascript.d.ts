// Minimal typings for the parts of ffjavascript 0.3 (the curve library under snarkjs) used by
// scripts/circuits/dev-ptau*.ts. Points and field elements are byte buffers in ffjavascript's
// internal (Montgomery) representation.
declare module "ffjavascript" {
  /** ffjavascript's ChaCha20-based generator: snarkjs seeds it from beacon and challenge hashes. */
  export class ChaCha {
    constructor(seed?: number[]);
    nextU32(): number;
  }
  export interface WasmField {
    readonly n8: number;
    readonly p: bigint;
    /** Roots of unity: w[k] has order 2^k (Montgomery form). */
    readonly w: readonly Uint8Array[];
    fromRng(rng: ChaCha): Uint8Array;
    toObject(a: Uint8Array): bigint;
  }
  export interface WasmGroup {
    readonly F: { readonly n8: number };
    readonly oneAffine: Uint8Array;
    fromRng(rng: ChaCha): Uint8Array;
    timesFr(p: Uint8Array, s: Uint8Array): Uint8Array;
    toAffine(p: Uint8Array): Uint8Array;
    toUncompressed(p: Uint8Array): Uint8Array;
  }
  export interface Bn128 {
    readonly q: bigint;
    readonly r: bigint;
    readonly Fr: WasmField;
    readonly F1: WasmField;
    readonly G1: WasmGroup;
    readonly G2: WasmGroup;
    /** The thread manager; with `singleThread` it keeps the compiled module's bytes in `code`. */
    readonly tm: { readonly code: Uint8Array; readonly pG1gen: number; readonly pG2gen: number };
    terminate(): Promise<void>;
  }
  export function buildBn128(singleThread?: boolean): Promise<Bn128>;
}
