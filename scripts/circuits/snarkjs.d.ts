// Minimal typings for the parts of snarkjs 0.7 used by scripts/circuits, circuits/test and the
// aggregator and cli packages (their tsconfig.json include this file).
declare module "snarkjs" {
  export interface Logger {
    debug(msg: string): void;
    info(msg: string): void;
    warn(msg: string): void;
    error(msg: string): void;
  }
  export interface Groth16Proof {
    pi_a: string[];
    pi_b: string[][];
    pi_c: string[];
    protocol: string;
    curve: string;
  }
  export type VerificationKey = Record<string, unknown>;
  /** An in-memory file (`fastfile`): pass `{ type: "mem" }`, snarkjs fills in `data`. */
  export interface MemFile {
    type: "mem";
    data?: Uint8Array;
  }
  /** Prover options: `singleThread` proves without ffjavascript's worker pool. */
  export interface ProverOptions {
    singleThread?: boolean;
  }
  export type WitnessInput = Record<string, unknown>;
  export interface Curve {
    terminate(): Promise<void>;
  }
  export const curves: {
    getCurveFromName(name: string, options?: ProverOptions): Promise<Curve>;
  };
  export const powersOfTau: {
    newAccumulator(curve: Curve, power: number, fileName: string, logger?: Logger): Promise<unknown>;
    beacon(
      oldPtau: string,
      newPtau: string,
      name: string,
      beaconHashHex: string,
      numIterationsExp: number,
      logger?: Logger,
    ): Promise<unknown>;
    preparePhase2(oldPtau: string, newPtau: string, logger?: Logger): Promise<unknown>;
    /** Checks every contribution and the phase-2 sections of a ptau file. */
    verify(ptau: string, logger?: Logger): Promise<boolean>;
  };
  export const zKey: {
    newZKey(r1cs: string, ptau: string, zkey: string, logger?: Logger): Promise<unknown>;
    contribute(oldZkey: string, newZkey: string, name: string, entropy: string, logger?: Logger): Promise<unknown>;
    beacon(
      oldZkey: string,
      newZkey: string,
      name: string,
      beaconHashHex: string,
      numIterationsExp: number,
      logger?: Logger,
    ): Promise<unknown>;
    exportVerificationKey(zkey: string, logger?: Logger): Promise<VerificationKey>;
    exportSolidityVerifier(zkey: string, templates: Record<string, string>, logger?: Logger): Promise<string>;
    verifyFromR1cs(r1cs: string, ptau: string, zkey: string, logger?: Logger): Promise<boolean>;
  };
  export const wtns: {
    calculate(input: WitnessInput, wasm: string, wtnsFile: string | MemFile): Promise<void>;
    check(r1cs: string, wtnsFile: string, logger?: Logger): Promise<boolean>;
    exportJson(wtnsFile: string): Promise<bigint[]>;
  };
  export const groth16: {
    prove(
      zkey: string,
      wtnsFile: string | MemFile,
      logger?: Logger,
      options?: ProverOptions,
    ): Promise<{ proof: Groth16Proof; publicSignals: string[] }>;
    fullProve(input: WitnessInput, wasm: string, zkey: string, logger?: Logger): Promise<{ proof: Groth16Proof; publicSignals: string[] }>;
    verify(vk: VerificationKey, publicSignals: readonly string[], proof: Groth16Proof, logger?: Logger): Promise<boolean>;
  };
}
