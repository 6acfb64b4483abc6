/**
 * The aggregator's X25519 key file: the secret half of the key trainers encrypt their updates to.
 * `accept` creates it and `run` reads it, so both go through this one reader and agree on the format.
 */
import { readFile } from "node:fs/promises";
import { AggregatorError } from "./errors.ts";

/** Reads a 32-byte X25519 secret key file (raw 32 bytes, or 64 hex characters with optional 0x). */
export async function readSecretKeyFile(file: string): Promise<Uint8Array> {
  const raw = await readFile(file);
  if (raw.length === 32) return new Uint8Array(raw);
  const text = raw.toString("utf8").trim().replace(/^0x/, "");
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Uint8Array.from(Buffer.from(text, "hex"));
  throw new AggregatorError("config", `${file} is not an X25519 secret key (32 raw bytes or 64 hex characters)`);
}
