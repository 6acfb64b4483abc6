/**
 * Groth16 proving with the cached build artifacts, in the shape the Solidity verifiers take
 * (`verifyProof(uint[2] a, uint[2][2] b, uint[2] c, uint[N] pubSignals)`).
 * For tests and the local aggregator; uses the dev setup unless a production ptau is given.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as snarkjs from "snarkjs";
import { MAIN_DIR, compileTarget, parseMainFile } from "./circom.ts";
import { setupCircuit, type SetupMode, type SetupResult } from "./setup.ts";
import type { CircuitInput } from "@fedmarket/core";

/** A proof in Solidity calldata order (G2 coordinates already swapped). */
export interface SolidityProof {
  readonly a: readonly [bigint, bigint];
  readonly b: readonly [readonly [bigint, bigint], readonly [bigint, bigint]];
  readonly c: readonly [bigint, bigint];
  readonly publicSignals: readonly bigint[];
}

/** A circuit ready to prove and verify. */
export interface Prover {
  readonly setup: SetupResult;
  prove(input: CircuitInput): Promise<{ proof: snarkjs.Groth16Proof; publicSignals: string[]; solidity: SolidityProof }>;
  verify(publicSignals: readonly string[], proof: snarkjs.Groth16Proof): Promise<boolean>;
}

/** Loads circuits/main/<name>.circom, compiling and setting up as needed (cached). */
export async function loadProver(name: string, mode: SetupMode = { kind: "dev" }, log: (m: string) => void = () => {}): Promise<Prover> {
  const compiled = await compileTarget(parseMainFile(join(MAIN_DIR, `${name}.circom`)), log);
  const setup = await setupCircuit(compiled, mode, log);
  const vkey = JSON.parse(readFileSync(setup.vkeyFile, "utf8")) as snarkjs.VerificationKey;
  return {
    setup,
    async prove(input) {
      const { proof, publicSignals } = await snarkjs.groth16.fullProve(input as snarkjs.WitnessInput, compiled.wasm, setup.zkey);
      return { proof, publicSignals, solidity: toSolidity(proof, publicSignals) };
    },
    verify(publicSignals, proof) {
      return snarkjs.groth16.verify(vkey, publicSignals, proof);
    },
  };
}

/** Converts a snarkjs proof into Solidity calldata order. */
export function toSolidity(proof: snarkjs.Groth16Proof, publicSignals: readonly string[]): SolidityProof {
  const n = (x: string | undefined): bigint => BigInt(x ?? "0");
  const b0 = proof.pi_b[0] ?? [];
  const b1 = proof.pi_b[1] ?? [];
  return {
    a: [n(proof.pi_a[0]), n(proof.pi_a[1])],
    b: [
      [n(b0[1]), n(b0[0])],
      [n(b1[1]), n(b1[0])],
    ],
    c: [n(proof.pi_c[0]), n(proof.pi_c[1])],
    publicSignals: publicSignals.map((s) => BigInt(s)),
  };
}

/** Re-exported for the circuit tests and scripts: one implementation, in @fedmarket/protocol. */
export { releaseCurves } from "@fedmarket/protocol";
