/**
 * Test harness: compiles a committed main file (cached), computes witnesses with circom's witness
 * calculator (circom_runtime, what snarkjs.wtns.calculate runs) and checks them against the R1CS.
 *
 * Why not snarkjs.wtns.calculate per witness: it compiles the circuit's WebAssembly again for every
 * witness and goes through a .wtns file; the witness suites compute thousands of witnesses (every
 * hint changed at every entry), and the compilation was most of their time. One calculator per
 * circuit is compiled once and rebuilt only after a witness that failed an assertion (a trap may
 * leave its instance in any state).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as snarkjs from "snarkjs";
import { WitnessCalculatorBuilder, type WitnessCalculator } from "circom_runtime";
import {
  MAIN_DIR,
  compileConfig,
  compileTarget,
  compileTestMain,
  parseMainFile,
  type CircuitKind,
  type CompiledCircuit,
} from "../../scripts/circuits/circom.ts";
import { firstViolated, readR1cs, type R1cs } from "../../scripts/circuits/r1cs.ts";
import {
  encryptChunk,
  keysHash,
  pack,
  publicKeyOf,
  sealedSlot,
  sharedKey,
  type CircuitConfig,
  type CircuitInput,
  type CurvePoint,
  type RoundSlot,
  type SlotChunk,
} from "@fedmarket/core";

/** A compiled circuit ready for witness tests. */
export interface TestCircuit {
  readonly compiled: CompiledCircuit;
  readonly r1cs: R1cs;
  /** Signal name (e.g. `main.quotient[0]`) -> witness index (absent when optimised away). */
  readonly signals: ReadonlyMap<string, number>;
  /** Computes the witness; rejects when an assertion/constraint fails during generation. */
  witness(input: CircuitInput): Promise<bigint[]>;
  /** Index of the first violated constraint, -1 if none. */
  violated(witness: readonly bigint[]): number;
  /** Computes the witness and checks it with snarkjs.wtns.check (slower; file based). */
  witnessChecked(input: CircuitInput): Promise<boolean>;
}

const scratch = mkdtempSync(join(tmpdir(), "fedmarket-wtns-"));
process.on("exit", () => rmSync(scratch, { recursive: true, force: true }));
let counter = 0;

/** Loads (compiling if needed) circuits/main/<name>.circom. */
export async function loadCircuit(name: string): Promise<TestCircuit> {
  return wrap(await compileTarget(parseMainFile(join(MAIN_DIR, `${name}.circom`)), (m) => console.error(`  ${m}`)));
}

/** Loads (compiling if needed) a generated main for any configuration. */
export async function loadConfigCircuit(kind: CircuitKind, config: CircuitConfig): Promise<TestCircuit> {
  return wrap(await compileConfig(kind, config, (m) => console.error(`  ${m}`)));
}

/** Loads (compiling if needed) a test main given as source text (template witness tests). */
export async function loadTestMain(name: string, source: string): Promise<TestCircuit> {
  return wrap(await compileTestMain(name, source, (m) => console.error(`  ${m}`)));
}

function wrap(compiled: CompiledCircuit): TestCircuit {
  const r1cs = readR1cs(compiled.r1cs);
  const signals = new Map<string, number>();
  for (const line of readFileSync(compiled.sym, "utf8").split("\n")) {
    const [, varId, , signalName] = line.split(",");
    if (signalName !== undefined && varId !== undefined && Number(varId) >= 0) {
      signals.set(signalName, Number(varId));
    }
  }
  const calc = async (input: CircuitInput): Promise<string> => {
    const file = join(scratch, `w${counter++}.wtns`);
    await snarkjs.wtns.calculate(input as snarkjs.WitnessInput, compiled.wasm, file);
    return file;
  };
  let calculator: Promise<WitnessCalculator> | undefined;
  return {
    compiled,
    r1cs,
    signals,
    async witness(input) {
      calculator ??= WitnessCalculatorBuilder(readFileSync(compiled.wasm));
      try {
        return await (await calculator).calculateWitness(input as Record<string, unknown>, true);
      } catch (e) {
        calculator = undefined;
        throw e;
      }
    },
    violated(witness) {
      return firstViolated(r1cs, witness);
    },
    async witnessChecked(input) {
      const file = await calc(input);
      const ok = await snarkjs.wtns.check(compiled.r1cs, file);
      rmSync(file, { force: true });
      return ok;
    },
  };
}

/** Deep-copies a circuit input and applies `edit` to the copy. */
export function tamper(input: CircuitInput, edit: (copy: Record<string, unknown>) => void): CircuitInput {
  const copy = structuredClone(input) as Record<string, unknown>;
  edit(copy);
  return copy as CircuitInput;
}

export { rng } from "../../scripts/circuits/xorshift.ts";

export { releaseCurves } from "../../scripts/circuits/prover.ts";

/** The aggregator's secret scalar in every circuit test (public: tests only). */
export const SEAL_SECRET = 0x5eed5eed5eed5eedn;

/** Its registered seal key. */
export const SEAL_KEY: CurvePoint = publicKeyOf(SEAL_SECRET);

/** A slot sealed for `SEAL_KEY` with ephemeral secret `e` (distinct `e` give distinct commitments). */
export function sealedTestSlot(config: CircuitConfig, update: readonly bigint[], e: bigint): RoundSlot {
  return sealedSlot(config, update, SEAL_KEY, e);
}

/** The shared key of ephemeral secret `e` with `SEAL_KEY`. */
export function testKey(e: bigint): CurvePoint {
  const k = sharedKey(e, SEAL_KEY);
  if (!k.valid) throw new Error("unreachable: SEAL_KEY is on the curve");
  return k.key;
}

/** Chunk `j` of each slot's values (one chunk each) encrypted under the keys of ephemeral secrets 1..K. */
export function testSlotChunks(config: CircuitConfig, values: readonly (readonly bigint[])[], j = 0): SlotChunk[] {
  return values.map((v, k) => {
    const key = testKey(BigInt(k + 1));
    return { cipher: encryptChunk(pack(v, config.updateBits), key, j), key };
  });
}

/** `keysHash` of the keys `testSlotChunks` uses for `k` slots. */
export function testKeysHash(k: number): bigint {
  return keysHash(Array.from({ length: k }, (_, i) => testKey(BigInt(i + 1))));
}
