// Minimal typings for circom_runtime 0.1 (the witness calculator snarkjs itself uses), as
// circuits/test/harness.ts uses it: one compiled calculator per circuit for many witnesses.
declare module "circom_runtime" {
  export interface WitnessCalculator {
    /** The witness of `input`; throws when an assertion of the circuit fails. */
    calculateWitness(input: Record<string, unknown>, sanityCheck?: boolean): Promise<bigint[]>;
  }
  export function WitnessCalculatorBuilder(code: Uint8Array, options?: { sanityCheck?: boolean }): Promise<WitnessCalculator>;
}
