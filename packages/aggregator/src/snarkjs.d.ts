// Minimal typings of the parts of snarkjs 0.7 the aggregator uses.
declare module "snarkjs" {
  export interface Groth16Proof {
    pi_a: string[];
    pi_b: string[][];
    pi_c: string[];
    protocol: string;
    curve: string;
  }
  export type VerificationKey = Record<string, unknown>;
  export interface MemFile {
    type: "mem";
    data?: Uint8Array;
  }
  export interface ProverOptions {
    singleThread?: boolean;
  }
  export type WitnessInput = Record<string, unknown>;
  export const wtns: {
    calculate(input: WitnessInput, wasm: string, wtnsFile: string | MemFile): Promise<void>;
  };
  export const groth16: {
    prove(zkey: string, wtnsFile: string | MemFile, logger?: unknown, options?: ProverOptions):
      Promise<{ proof: Groth16Proof; publicSignals: string[] }>;
    verify(vk: VerificationKey, publicSignals: readonly string[], proof: Groth16Proof, logger?: unknown): Promise<boolean>;
  };
}
