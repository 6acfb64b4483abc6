/**
 * What every `fedmarket` owner command shares: option parsing helpers, JSON output with bigints,
 * and one way to end on an error (exit 2 for usage and unreachable endpoints, 1 otherwise).
 */
import { writeFile } from "node:fs/promises";
import { InvalidArgumentError } from "commander";
import { isAddress } from "ethers";
import { RpcUnavailableError, WrongNetworkError } from "@fedmarket/protocol";
import { UsageError } from "../owner/connect.ts";

export function jsonText(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2);
}

export async function writeJson(file: string, value: unknown): Promise<void> {
  await writeFile(file, `${jsonText(value)}\n`);
}

export function parseAddress(value: string): string {
  if (!isAddress(value)) throw new InvalidArgumentError(`${JSON.stringify(value)} is not an address (0x + 40 hex)`);
  return value;
}

export function parseProjectId(value: string): string {
  if (!/^[1-9][0-9]*$/.test(value)) throw new InvalidArgumentError(`${JSON.stringify(value)} is not a project id (ids start at 1)`);
  return value;
}

export function parseCount(value: string): string {
  if (!/^[0-9]+$/.test(value)) throw new InvalidArgumentError(`${JSON.stringify(value)} is not a non-negative integer`);
  return value;
}

export function parseAmount(value: string): string {
  if (!/^[0-9]+(\.[0-9]+)?$/.test(value)) throw new InvalidArgumentError(`${JSON.stringify(value)} is not an amount (e.g. 1.5)`);
  return value;
}

/** Exit code of a failed command: 2 = could not run (arguments, network), 1 = the operation failed. */
export function exitCodeOf(err: unknown): number {
  return err instanceof UsageError || err instanceof RpcUnavailableError || err instanceof WrongNetworkError ? 2 : 1;
}

/** Prints the error (stack with FEDMARKET_DEBUG) and sets the exit code. */
export function fail(err: unknown): void {
  const e = err instanceof Error ? err : new Error(String(err));
  process.stderr.write(`error: ${e.message}\n`);
  if (process.env.FEDMARKET_DEBUG) console.error(e);
  process.exitCode = exitCodeOf(err);
}
