/**
 * The owner's X25519 key file: 64 hex characters (the secret key), mode 0600. Trainers encrypt
 * every update to the matching public key (published on chain at project creation), so the owner
 * can audit what the aggregator excluded or aggregated.
 */
import { open, readFile } from "node:fs/promises";
import { generateKeyPair, publicKeyOf } from "@fedmarket/protocol";

export interface X25519KeyFile {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
  /** True when this call generated the key and wrote the file. */
  readonly created: boolean;
}

/** Reads a secret key file: 32 raw bytes or 64 hex characters (optionally `0x`). */
export async function readX25519KeyFile(file: string): Promise<Uint8Array> {
  const raw = await readFile(file);
  if (raw.length === 32) return new Uint8Array(raw);
  const text = raw.toString("utf8").trim().replace(/^0x/, "");
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Uint8Array.from(Buffer.from(text, "hex"));
  throw new Error(`${file} is not an X25519 secret key (32 raw bytes or 64 hex characters)`);
}

/** Reads `file`, or generates a key and creates it (O_EXCL, 0600) when it does not exist. */
export async function loadOrCreateX25519KeyFile(file: string): Promise<X25519KeyFile> {
  try {
    const secretKey = await readX25519KeyFile(file);
    return { secretKey, publicKey: publicKeyOf(secretKey), created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const pair = generateKeyPair();
  const handle = await open(file, "wx", 0o600);
  try {
    await handle.writeFile(`${Buffer.from(pair.secretKey).toString("hex")}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return { secretKey: pair.secretKey, publicKey: pair.publicKey, created: true };
}
