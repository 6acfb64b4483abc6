/**
 * The aggregator's seal key file: the secret scalar `a` of the BabyJubJub seal key `A = a * Base8`
 * it registers at acceptance (docs/PROOF-INTERFACE.md, "Sealed updates"). Trainers seal their
 * updates for `A` and the round proof decrypts them with `a`, so whoever holds the file can read
 * every update of the project: it is created with mode 0600 and never printed.
 *
 * Format: 64 hexadecimal characters (an optional `0x`, surrounding whitespace and a final newline
 * are allowed) naming a scalar in `[1, l)`, `l` the order of the curve's prime-order subgroup.
 * `accept` creates it and `run` reads it, so both go through this one module and agree on it;
 * `checkAggregatorKey` refuses a secret whose public key is not the project's registered seal key.
 */
import { open, readFile } from "node:fs/promises";
import { assertSecretScalar, publicKeyOf, randomScalar, type CurvePoint } from "@fedmarket/core";
import type { ProjectInfo } from "@fedmarket/protocol";
import { AggregatorError } from "./errors.ts";

/** What a seal secret looks like, for the messages of this module and of the CLI. */
export const SEAL_SECRET_FORMAT = "64 hex characters naming a BabyJubJub scalar in [1, l)";

/**
 * Parses a seal secret from the text of a key file or of `FEDMARKET_SEAL_KEY`; `source` names
 * where it came from in the error (`AggregatorError` "config") when it is not one.
 */
export function parseSealSecret(text: string, source: string): bigint {
  const hex = text.trim().replace(/^0x/i, "");
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new AggregatorError("config", `${source} is not a seal key (${SEAL_SECRET_FORMAT})`);
  }
  const secret = BigInt(`0x${hex}`);
  try {
    assertSecretScalar(secret, "the seal key");
  } catch {
    throw new AggregatorError(
      "config",
      `${source} holds 64 hex characters, but not a scalar in [1, l): it is no seal key ` +
        "(an X25519 key file of an earlier version cannot be used; `fedmarket-aggregator accept` writes a new one)",
    );
  }
  return secret;
}

/** Reads a seal key file (see the module comment); a missing file throws the `ENOENT` error as is. */
export async function readSealKeyFile(file: string): Promise<bigint> {
  return parseSealSecret(await readFile(file, "utf8"), file);
}

/** The text of a key file holding `secret`. */
export function sealKeyFileText(secret: bigint): string {
  assertSecretScalar(secret, "the seal key");
  return `${secret.toString(16).padStart(64, "0")}\n`;
}

/**
 * Reads the seal key file, or creates it (mode 0600, never overwriting a file) with a fresh
 * `randomScalar()` when it does not exist.
 */
export async function loadOrCreateSealKeyFile(file: string): Promise<{ secret: bigint; created: boolean }> {
  try {
    return { secret: await readSealKeyFile(file), created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const secret = randomScalar();
  const handle = await open(file, "wx", 0o600);
  try {
    await handle.writeFile(sealKeyFileText(secret));
    await handle.sync();
  } finally {
    await handle.close();
  }
  return { secret, created: true };
}

/** A seal key as messages print it: `(0x<x>, 0x<y>)`, each coordinate as 64 hex digits. */
export function sealKeyText(key: CurvePoint): string {
  const hex = (v: bigint): string => `0x${v.toString(16).padStart(64, "0")}`;
  return `(${hex(key[0])}, ${hex(key[1])})`;
}

/**
 * Refuses a seal secret whose public key is not the project's registered `aggregatorSealKey`:
 * trainers seal every update for the registered key and the contract passes that key to the round
 * proof, so with any other secret no round can be proven. A project without a registered key
 * (`[0, 0]`: not accepted yet, or its aggregator failed a round) passes. `source` names where the
 * secret came from (`--seal-key-file <file>`, `FEDMARKET_SEAL_KEY`).
 */
export function checkAggregatorKey(project: Pick<ProjectInfo, "id" | "aggregatorSealKey">, sealSecret: bigint, source: string): void {
  const [x, y] = project.aggregatorSealKey;
  if (x === 0n && y === 0n) return;
  const derived = publicKeyOf(sealSecret);
  if (derived[0] === x && derived[1] === y) return;
  throw new AggregatorError(
    "config",
    `the seal key in ${source} (public key ${sealKeyText(derived)}) is not the seal key project ${project.id} registered when its ` +
      `aggregator accepted (${sealKeyText([x, y])}): trainers seal their updates for the registered key, so this one cannot open them ` +
      `and no round could be proven with it. The project expects the seal key file \`fedmarket-aggregator accept\` wrote when it ` +
      `accepted project ${project.id} (its --seal-key-file, default aggregator.seal): pass it with --seal-key-file, or set FEDMARKET_SEAL_KEY ` +
      "to its contents; nothing was done",
  );
}
