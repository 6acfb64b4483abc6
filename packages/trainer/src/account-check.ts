/**
 * `fedmarket-trainer ... --account <address>`: the account the operator expects to run as (the one
 * registered in the project). The key's address is compared with it before the node opens, so a
 * wrong key never binds the state folder or sends anything.
 */
import { readFile } from "node:fs/promises";
import { getAddress, isAddress, Wallet } from "ethers";
import { ConfigError, type NodeConfig } from "./node/config.ts";

/**
 * The address of the configured key, without decrypting anything: `FEDMARKET_PRIVATE_KEY`'s, else
 * the `address` field of the keystore (ethers / Web3 keystores carry it in clear); undefined when
 * neither tells (the node's own key loading then reports what is missing).
 */
export async function configuredAddress(config: Pick<NodeConfig, "keystore">, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const key = env.FEDMARKET_PRIVATE_KEY;
  if (key !== undefined && key !== "") {
    try {
      return new Wallet(key.startsWith("0x") ? key : `0x${key}`).address;
    } catch {
      return undefined;
    }
  }
  if (config.keystore === undefined) return undefined;
  try {
    const { address } = JSON.parse(await readFile(config.keystore, "utf8")) as { address?: unknown };
    return typeof address === "string" && isAddress(address.startsWith("0x") ? address : `0x${address}`)
      ? getAddress(address.startsWith("0x") ? address : `0x${address}`)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `--account <address>`: refuse to start with a key for any other account (checked before the node
 * opens, so a wrong key never binds the state folder or sends anything).
 */
export async function checkExpectedAccount(
  expected: string | undefined,
  config: Pick<NodeConfig, "keystore">,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  if (expected === undefined) return;
  if (!isAddress(expected)) throw new ConfigError(`--account ${JSON.stringify(expected)} is not an address (0x + 40 hex)`);
  const actual = await configuredAddress(config, env);
  if (actual === undefined)
    throw new ConfigError(
      "--account is given but the key's address cannot be read without decrypting it (a keystore without an address field): set FEDMARKET_PRIVATE_KEY or leave out --account",
    );
  if (actual.toLowerCase() !== expected.toLowerCase())
    throw new ConfigError(
      `the key (${config.keystore === undefined ? "FEDMARKET_PRIVATE_KEY" : `keystore ${config.keystore}`}) is for ${actual}, not --account ${getAddress(expected)}: ` +
        "use the key of the account registered in the project, or fix --account; nothing was done",
    );
}
