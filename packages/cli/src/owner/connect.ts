/**
 * How the owner commands reach the chain and sign: the RPC URL comes from `--rpc-url` or
 * `FEDMARKET_RPC_URL` (default http://127.0.0.1:8545); the key from `FEDMARKET_PRIVATE_KEY`, else
 * an encrypted JSON keystore (`--keystore`, password in `FEDMARKET_KEYSTORE_PASSWORD`). Keys are
 * never flags (shell history, `ps`) and never printed, the same rules as the trainer node.
 */
import { readFile } from "node:fs/promises";
import { Wallet, type HDNodeWallet, type JsonRpcProvider } from "ethers";
import { connectRpc as connectNodeRpc } from "@fedmarket/protocol";

export const DEFAULT_RPC_URL = "http://127.0.0.1:8545";

/** Bad arguments or configuration: the command cannot run (exit code 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export function rpcUrlOf(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const url = flag ?? env.FEDMARKET_RPC_URL ?? DEFAULT_RPC_URL;
  if (!/^(https?|wss?):\/\//.test(url)) throw new UsageError(`--rpc-url ${JSON.stringify(url)} must be an http(s) or ws(s) URL`);
  return url;
}

/**
 * A provider pinned to the endpoint's chain: the node runtime's `connectRpc`, so an unreachable
 * endpoint fails fast with the same message as the nodes'. Polls every 250 ms, because an owner
 * command waits for one receipt after another.
 */
export function connectRpc(rpcUrl: string): Promise<{ provider: JsonRpcProvider; chainId: bigint }> {
  return connectNodeRpc(rpcUrl, { pollingIntervalMs: 250 });
}

/** The signing key: `FEDMARKET_PRIVATE_KEY`, else `keystore` with `FEDMARKET_KEYSTORE_PASSWORD`. */
export async function loadOwnerWallet(keystore: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<Wallet | HDNodeWallet> {
  const key = env.FEDMARKET_PRIVATE_KEY;
  if (key !== undefined && key !== "") {
    try {
      return new Wallet(key.startsWith("0x") ? key : `0x${key}`);
    } catch {
      throw new UsageError("FEDMARKET_PRIVATE_KEY is not a valid private key (expected 32 bytes of hex)");
    }
  }
  if (keystore !== undefined) {
    let json: string;
    try {
      json = await readFile(keystore, "utf8");
    } catch (err) {
      throw new UsageError(`cannot read keystore ${keystore}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const password = env.FEDMARKET_KEYSTORE_PASSWORD;
    if (password === undefined) throw new UsageError("the keystore needs a password: set FEDMARKET_KEYSTORE_PASSWORD");
    try {
      return await Wallet.fromEncryptedJson(json, password);
    } catch {
      throw new UsageError(`cannot decrypt keystore ${keystore}: wrong password or not an ethers/Web3 keystore`);
    }
  }
  throw new UsageError("no key: set FEDMARKET_PRIVATE_KEY or pass --keystore <file> (with FEDMARKET_KEYSTORE_PASSWORD)");
}

/** A connected signer for owner transactions. */
export async function connectSigner(
  rpcUrl: string,
  keystore?: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ provider: JsonRpcProvider; chainId: bigint; signer: Wallet | HDNodeWallet }> {
  const wallet = await loadOwnerWallet(keystore, env);
  const { provider, chainId } = await connectRpc(rpcUrl);
  return { provider, chainId, signer: wallet.connect(provider) };
}
