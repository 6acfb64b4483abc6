/**
 * The aggregator's persistent state: one folder per (project, round) under the data folder,
 * `<data>/p<project>/r<round>/`, holding one JSON file per finished step, each written atomically
 * (temporary file, fsync, rename, fsync of the folder). A step whose file exists is done; a
 * restart after `kill -9` at any point continues at the first missing file.
 *
 * | file | content | written by (its type) |
 * | --- | --- | --- |
 * | `slots.json` | the round's `UpdateSubmitted` events (slot, trainer, commitment, CID) + round facts | steps/collect.ts (`SlotsFile`) |
 * | `openings.json` | per slot: opened (update + salt) or excluded (with the reason) | steps/open.ts (`OpeningsFile`) |
 * | `input.json` | what the witnesses derive from: quantized previous model and its step, `keccak` word, `f` | steps/compute.ts (`RoundInputFile`) |
 * | `round.json` | the reference computation's summary: ctx, commitments, outcome, new model, public signals | steps/compute.ts (`RoundFile`) |
 * | `proofs/chunk-<j>.json`, `proofs/decision.json` | Groth16 proofs (verified locally before writing) | steps/prove.ts (`ProofFile`) |
 * | `model.json` | the pinned new global model's CID | steps/pin.ts (`ModelFile`) |
 * | `hyperparams.json` | the next round's hyper-parameters chosen for `finalizeRound` (so a restart sends the same) | steps/hyper-params.ts |
 * | `txs.json` | transaction hashes (chunk batches, finalize; or skip, fail) as they are sent | steps/submit.ts, steps/wait.ts (`TxsFile`) |
 * | `done.json` | how the round ended (finalized by us / by someone else, skipped, failed) | steps/settle.ts (`DoneFile`) |
 *
 * JSON files store bigints as decimal strings (`toJson` below; readers convert with `big`/`bigs`).
 */
import { writeFileAtomic } from "@fedmarket/protocol";
import { readFile } from "node:fs/promises";
import path from "node:path";

/** JSON with bigints as `"123n"`-free decimal strings tagged by the reader's schema. */
export function toJson(value: unknown): string {
  return `${JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`;
}

export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StoreError";
  }
}

/** Reads a JSON file; `undefined` when it does not exist. */
export async function readJson<T>(file: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new StoreError(`${file} is not valid JSON (${(err as Error).message}); delete it to redo that step`);
  }
}

export const big = (s: string | number | bigint): bigint => BigInt(s);
export const bigs = (xs: readonly (string | number | bigint)[]): bigint[] => xs.map((x) => BigInt(x));

/** The files of one round. */
export class RoundFiles {
  readonly dir: string;
  constructor(dataDir: string, projectId: bigint, round: number) {
    this.dir = path.join(dataDir, `p${projectId}`, `r${round}`);
  }
  file(name: string): string {
    return path.join(this.dir, name);
  }
  chunkProofFile(j: number): string {
    return path.join(this.dir, "proofs", `chunk-${j}.json`);
  }
  decisionProofFile(): string {
    return path.join(this.dir, "proofs", "decision.json");
  }
  read<T>(name: string): Promise<T | undefined> {
    return readJson<T>(this.file(name));
  }
  write(name: string, value: unknown): Promise<void> {
    return writeFileAtomic(this.file(name), toJson(value));
  }
}

/** The data folder's binding to one chain, marketplace and aggregator account. */
export interface Binding {
  readonly chainId: string;
  readonly market: string;
  readonly aggregator: string;
}

/**
 * Binds the data folder to a chain, market and account (`<data>/node.json`): a folder used with
 * another one is an error, since its round files would mean nothing there.
 */
export async function bindDataDir(dataDir: string, want: Binding): Promise<void> {
  const file = path.join(dataDir, "node.json");
  const have = await readJson<Binding>(file);
  const norm = { chainId: want.chainId, market: want.market.toLowerCase(), aggregator: want.aggregator.toLowerCase() };
  if (have === undefined) {
    await writeFileAtomic(file, toJson(norm));
    return;
  }
  for (const k of ["chainId", "market", "aggregator"] as const) {
    if (have[k] !== norm[k]) {
      throw new StoreError(
        `data folder ${dataDir} belongs to ${k} ${have[k]}, not ${norm[k]}: wrong network, marketplace or key? Use another --data folder`,
      );
    }
  }
}

/**
 * Checks, without writing anything, that the data folder belongs to this chain and marketplace
 * (`status`: a reader has no account, so the folder's aggregator is not compared). A folder that
 * was never bound (no `node.json`, or no folder at all) passes: its rounds are simply not started.
 */
export async function checkDataDirBinding(dataDir: string, want: Pick<Binding, "chainId" | "market">): Promise<void> {
  const have = await readJson<Binding>(path.join(dataDir, "node.json"));
  if (have === undefined) return;
  const norm = { chainId: want.chainId, market: want.market.toLowerCase() };
  for (const k of ["chainId", "market"] as const) {
    if (have[k] !== norm[k]) {
      throw new StoreError(
        `data folder ${dataDir} belongs to ${k} ${have[k]}, not ${norm[k]}: wrong network or marketplace? Check --rpc-url, --market and --data`,
      );
    }
  }
}
