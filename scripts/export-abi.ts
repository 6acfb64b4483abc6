/**
 * Exports the ABIs the nodes need from the Hardhat artifacts into packages/protocol/src/abi/.
 *
 *   npx hardhat build && node scripts/export-abi.ts          # write the JSON files
 *   node scripts/export-abi.ts --check                         # fail if they differ from the artifacts
 *
 * Each file is the bare ABI array, pretty-printed with two spaces and a final newline, so that the
 * committed copy diffs cleanly and `--check` can compare bytes.
 *
 * FedMarket forwards three functions to its delegated module (FedMarketAnswers) through unnamed
 * parameters (it only passes the calldata on, and naming unused parameters is a compiler warning
 * each), so its artifact's ABI has no names for them. The exported ABI takes the names from the
 * interface that documents them (IFedMarket, same signatures), so clients can read arguments by name.
 * Its fallback forwards IFedMarketOptimistic's calls to its optimistic module: the exported ABI
 * appends that interface's entries, so one ABI covers every call the market's address answers.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outDir = path.join(root, "packages", "protocol", "src", "abi");

/**
 * artifact (relative to artifacts/contracts) -> output file name, the interface that names its
 * parameters, and interfaces whose entries are appended (calls FedMarket answers through its
 * fallback, in its optimistic module: they are not in its own artifact).
 */
type Export = readonly [artifact: string, file: string, namesFrom?: string, extras?: readonly string[]];
const EXPORTS: readonly Export[] = [
  [
    "FedMarket.sol/FedMarket.json",
    "FedMarket.json",
    "interfaces/IFedMarket.sol/IFedMarket.json",
    ["interfaces/IFedMarketOptimistic.sol/IFedMarketOptimistic.json"],
  ],
  ["interfaces/IRoundVerifier.sol/IRoundVerifier.json", "IRoundVerifier.json"],
];

interface AbiParam {
  name: string;
  type: string;
  components?: AbiParam[];
}
interface AbiEntry {
  type: string;
  name?: string;
  inputs?: AbiParam[];
}

function readAbi(artifact: string): AbiEntry[] {
  const from = path.join(root, "artifacts", "contracts", artifact);
  if (!existsSync(from)) {
    console.error(`missing ${path.relative(root, from)}: run \`npx hardhat build\` first`);
    process.exit(2);
  }
  const { abi } = JSON.parse(readFileSync(from, "utf8")) as { abi: unknown };
  if (!Array.isArray(abi)) throw new Error(`${from}: no abi array`);
  return abi as AbiEntry[];
}

const signature = (e: AbiEntry): string => `${e.type} ${e.name ?? ""}(${(e.inputs ?? []).map((i) => i.type).join(",")})`;

/** `abi` with each unnamed input named as in `named`'s entry of the same signature (when it has one). */
function withNames(abi: AbiEntry[], named: AbiEntry[]): AbiEntry[] {
  const bySignature = new Map(named.map((e) => [signature(e), e]));
  return abi.map((e) => {
    const other = bySignature.get(signature(e));
    if (e.inputs === undefined || other?.inputs === undefined || e.inputs.every((i) => i.name !== "")) return e;
    return { ...e, inputs: e.inputs.map((input, k) => (input.name === "" ? { ...input, name: other.inputs?.[k]?.name ?? "" } : input)) };
  });
}

const check = process.argv.includes("--check");
let stale = 0;
/** `abi` followed by the entries of `extras` it does not have (same kind, name and input types). */
function withExtras(abi: AbiEntry[], extras: readonly string[]): AbiEntry[] {
  const seen = new Set(abi.map(signature));
  const added = extras.flatMap((artifact) => readAbi(artifact)).filter((e) => !seen.has(signature(e)) && seen.add(signature(e)));
  return [...abi, ...added];
}

for (const [artifact, name, namesFrom, extras] of EXPORTS) {
  const named = namesFrom === undefined ? readAbi(artifact) : withNames(readAbi(artifact), readAbi(namesFrom));
  const abi = withExtras(named, extras ?? []);
  const text = `${JSON.stringify(abi, null, 2)}\n`;
  const to = path.join(outDir, name);
  const rel = path.relative(root, to);
  if (check) {
    const current = existsSync(to) ? readFileSync(to, "utf8") : undefined;
    if (current !== text) {
      console.error(`${rel} ${current === undefined ? "is missing" : "differs from the artifact"}: run \`node scripts/export-abi.ts\``);
      stale++;
    } else {
      console.log(`${rel} up to date (${abi.length} entries)`);
    }
  } else {
    mkdirSync(outDir, { recursive: true });
    writeFileSync(to, text);
    console.log(`wrote ${rel} (${abi.length} entries)`);
  }
}
if (stale > 0) process.exit(1);
