/**
 * Configuration of the trainer node, from (highest priority first) command-line flags,
 * `FEDMARKET_*` environment variables and a JSON config file (`--config`, `FEDMARKET_CONFIG`).
 * The Ethereum key comes from `FEDMARKET_PRIVATE_KEY` or an ethers encrypted JSON keystore
 * (`--keystore`, password from `FEDMARKET_KEYSTORE_PASSWORD` or a prompt); it is never printed,
 * logged or accepted as a flag (flags end up in shell history and `ps`).
 */
import { readFile, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Wallet, isAddress, type HDNodeWallet, type JsonRpcProvider } from "ethers";
import { BLOB_FETCH_DEFAULTS, connectRpc } from "@fedmarket/protocol";

export interface NodeConfig {
  readonly rpcUrl: string;
  readonly market: string;
  readonly project?: bigint;
  /** Local training data (IDX folder, CSV, JSON lines or PNG folder). */
  readonly data?: string;
  /** Where the state file and per-round files go (default `<data>/.fedmarket`). */
  readonly stateDir?: string;
  /** Kubo RPC URL; when absent an embedded Helia node stores blocks in `ipfsRepo`. */
  readonly ipfsApi?: string;
  readonly ipfsRepo?: string;
  readonly chainId?: bigint;
  readonly keystore?: string;
  readonly pollIntervalMs: number;
  readonly blockRange: number;
  readonly confirmations: number;
  readonly seed?: number;
  readonly json: boolean;
  readonly ipfsTimeoutMs: number;
  readonly ipfsRetries: number;
  /** Most chunks per answer transaction; a larger sealed update is answered in parts (steps/answer.ts). */
  readonly answerChunksPerTx?: number;
}

/** Keys accepted in the config file and as flags (camelCase); values as strings or numbers. */
export const CONFIG_KEYS = [
  "rpcUrl",
  "market",
  "project",
  "data",
  "stateDir",
  "ipfsApi",
  "ipfsRepo",
  "chainId",
  "keystore",
  "pollInterval",
  "blockRange",
  "confirmations",
  "seed",
  "json",
  "ipfsTimeout",
  "ipfsRetries",
  "answerChunksPerTx",
] as const;
export type ConfigKey = (typeof CONFIG_KEYS)[number];

/** Environment variable of each key. */
export const ENV_VARS: Readonly<Record<ConfigKey, string>> = {
  rpcUrl: "FEDMARKET_RPC_URL",
  market: "FEDMARKET_MARKET",
  project: "FEDMARKET_PROJECT",
  data: "FEDMARKET_DATA",
  stateDir: "FEDMARKET_STATE_DIR",
  ipfsApi: "FEDMARKET_IPFS_API",
  ipfsRepo: "FEDMARKET_IPFS_REPO",
  chainId: "FEDMARKET_CHAIN_ID",
  keystore: "FEDMARKET_KEYSTORE",
  pollInterval: "FEDMARKET_POLL_INTERVAL",
  blockRange: "FEDMARKET_BLOCK_RANGE",
  confirmations: "FEDMARKET_CONFIRMATIONS",
  seed: "FEDMARKET_SEED",
  json: "FEDMARKET_JSON",
  ipfsTimeout: "FEDMARKET_IPFS_TIMEOUT",
  ipfsRetries: "FEDMARKET_IPFS_RETRIES",
  answerChunksPerTx: "FEDMARKET_ANSWER_CHUNKS_PER_TX",
};

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

type Raw = Partial<Record<ConfigKey, string | number | boolean>>;

/** Reads a JSON config file; unknown keys and secrets in it are errors. */
export async function readConfigFile(file: string): Promise<Raw> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, "utf8"));
  } catch (err) {
    throw new ConfigError(`config file ${file}: ${(err as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new ConfigError(`config file ${file}: must be a JSON object`);
  for (const key of Object.keys(parsed)) {
    if (/private|password|secret|mnemonic/i.test(key)) {
      throw new ConfigError(
        `config file ${file}: "${key}": keys and passwords do not belong in the config file; use FEDMARKET_PRIVATE_KEY or --keystore`,
      );
    }
    if (!(CONFIG_KEYS as readonly string[]).includes(key)) {
      throw new ConfigError(`config file ${file}: unknown key "${key}" (allowed: ${CONFIG_KEYS.join(", ")})`);
    }
  }
  return parsed as Raw;
}

function fromEnv(env: NodeJS.ProcessEnv): Raw {
  const out: Raw = {};
  for (const key of CONFIG_KEYS) {
    const v = env[ENV_VARS[key]];
    if (v !== undefined && v !== "") out[key] = v;
  }
  return out;
}

function int(v: string | number | boolean | undefined, name: string, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new ConfigError(`${name} must be an integer >= ${min} (got ${JSON.stringify(v)})`);
  return n;
}

function big(v: string | number | boolean | undefined, name: string): bigint | undefined {
  if (v === undefined) return undefined;
  try {
    const b = BigInt(v as string | number);
    if (b < 0n) throw new Error();
    return b;
  } catch {
    throw new ConfigError(`${name} must be a non-negative integer (got ${JSON.stringify(v)})`);
  }
}

/**
 * Merges flags > env > config file (`flags.config` or `FEDMARKET_CONFIG`) > defaults and
 * validates the result. `required` lists what the command needs.
 */
export async function resolveConfig(
  flags: Raw & { config?: string },
  env: NodeJS.ProcessEnv = process.env,
  required: readonly ("project" | "data")[] = [],
): Promise<NodeConfig> {
  const file = flags.config ?? env.FEDMARKET_CONFIG;
  const fromFile = file ? await readConfigFile(file) : {};
  const definedFlags = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)) as Raw;
  const raw: Raw = { ...fromFile, ...fromEnv(env), ...definedFlags };
  const rpcUrl = String(raw.rpcUrl ?? "http://127.0.0.1:8545");
  if (!/^(https?|wss?):\/\//.test(rpcUrl)) throw new ConfigError(`--rpc-url ${JSON.stringify(rpcUrl)} must be an http(s) or ws(s) URL`);
  if (raw.market === undefined) throw new ConfigError("the marketplace address is missing: pass --market 0x... or set FEDMARKET_MARKET");
  const market = String(raw.market);
  if (!isAddress(market)) throw new ConfigError(`--market ${JSON.stringify(market)} is not an address`);
  const project = big(raw.project, "--project");
  if (required.includes("project") && project === undefined)
    throw new ConfigError("the project is missing: pass --project <id> or set FEDMARKET_PROJECT");
  if (project === 0n) throw new ConfigError("--project: ids start at 1");
  const data = raw.data === undefined ? undefined : path.resolve(String(raw.data));
  if (required.includes("data") && data === undefined)
    throw new ConfigError("the training data is missing: pass --data <folder or file> or set FEDMARKET_DATA");
  const json = raw.json === true || raw.json === "1" || raw.json === "true";
  const seed = int(raw.seed, "--seed", 0);
  return {
    rpcUrl,
    market,
    data,
    ...(project === undefined ? {} : { project }),
    ...(raw.stateDir === undefined ? {} : { stateDir: path.resolve(String(raw.stateDir)) }),
    ...(raw.ipfsApi === undefined ? {} : { ipfsApi: String(raw.ipfsApi) }),
    ...(raw.ipfsRepo === undefined ? {} : { ipfsRepo: path.resolve(String(raw.ipfsRepo)) }),
    ...(raw.chainId === undefined ? {} : { chainId: big(raw.chainId, "--chain-id") as bigint }),
    ...(raw.keystore === undefined ? {} : { keystore: path.resolve(String(raw.keystore)) }),
    ...(seed === undefined ? {} : { seed }),
    pollIntervalMs: int(raw.pollInterval, "--poll-interval", 50) ?? 5_000,
    blockRange: int(raw.blockRange, "--block-range", 1) ?? 2_000,
    confirmations: int(raw.confirmations, "--confirmations", 1) ?? 1,
    ipfsTimeoutMs: int(raw.ipfsTimeout, "--ipfs-timeout", 1) ?? BLOB_FETCH_DEFAULTS.timeoutMs,
    ipfsRetries: int(raw.ipfsRetries, "--ipfs-retries", 0) ?? BLOB_FETCH_DEFAULTS.retries,
    ...(raw.answerChunksPerTx === undefined ? {} : { answerChunksPerTx: int(raw.answerChunksPerTx, "--answer-chunks-per-tx", 1) }),
    json,
  } as NodeConfig;
}

/**
 * The state folder: `--state-dir`, else `<data>/.fedmarket` (a data folder) or next to a data
 * file, else (commands without data: join, status, claim) `~/.fedmarket/<chainId>-<market>-<account>`.
 */
export async function stateDirOf(config: NodeConfig, fallback?: { chainId: bigint; market: string; account: string }): Promise<string> {
  if (config.stateDir !== undefined) return config.stateDir;
  if (config.data === undefined) {
    if (fallback === undefined) throw new ConfigError("pass --state-dir or --data (the state lives in the data folder)");
    return path.join(os.homedir(), ".fedmarket", `${fallback.chainId}-${fallback.market.toLowerCase()}-${fallback.account.toLowerCase()}`);
  }
  let isDir = false;
  try {
    isDir = (await stat(config.data)).isDirectory();
  } catch {
    /* reported when loading data */
  }
  return isDir ? path.join(config.data, ".fedmarket") : path.join(path.dirname(config.data), ".fedmarket");
}

/** Reads a password from the terminal without echoing it. */
export async function promptPassword(question: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) throw new ConfigError("the keystore needs a password: set FEDMARKET_KEYSTORE_PASSWORD (no terminal to prompt on)");
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding("utf8");
  return new Promise((resolve, reject) => {
    let pw = "";
    const onData = (ch: string): void => {
      for (const c of ch) {
        if (c === "\r" || c === "\n") {
          done();
          resolve(pw);
          return;
        }
        if (c === "\u0003") {
          done();
          reject(new ConfigError("cancelled"));
          return;
        }
        if (c === "\u007f") pw = pw.slice(0, -1);
        else pw += c;
      }
    };
    const done = (): void => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
    };
    stdin.on("data", onData);
  });
}

/**
 * The trainer's wallet: `FEDMARKET_PRIVATE_KEY`, else the keystore (`FEDMARKET_KEYSTORE_PASSWORD`
 * or a prompt). Error messages never include key material.
 */
export async function loadWallet(config: NodeConfig, env: NodeJS.ProcessEnv = process.env): Promise<Wallet | HDNodeWallet> {
  const key = env.FEDMARKET_PRIVATE_KEY;
  if (key !== undefined && key !== "") {
    try {
      return new Wallet(key.startsWith("0x") ? key : `0x${key}`);
    } catch {
      throw new ConfigError("FEDMARKET_PRIVATE_KEY is not a valid private key (expected 32 bytes of hex)");
    }
  }
  if (config.keystore !== undefined) {
    let json: string;
    try {
      json = await readFile(config.keystore, "utf8");
    } catch (err) {
      throw new ConfigError(`cannot read keystore ${config.keystore}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const password = env.FEDMARKET_KEYSTORE_PASSWORD ?? (await promptPassword(`password for ${path.basename(config.keystore)}: `));
    try {
      return await Wallet.fromEncryptedJson(json, password);
    } catch {
      throw new ConfigError(`cannot decrypt keystore ${config.keystore}: wrong password or not an ethers/Web3 keystore`);
    }
  }
  throw new ConfigError("no key: set FEDMARKET_PRIVATE_KEY or pass --keystore <file> (an encrypted JSON keystore)");
}

/**
 * Connects to the JSON-RPC endpoint (the node runtime's `connectRpc`): an unreachable endpoint fails
 * fast with a clear error, a chain id other than `config.chainId` is refused, and the provider is
 * pinned to the endpoint's network.
 */
export async function connectProvider(config: NodeConfig): Promise<{ provider: JsonRpcProvider; chainId: bigint }> {
  return connectRpc(config.rpcUrl, { pollingIntervalMs: 500, ...(config.chainId === undefined ? {} : { chainId: config.chainId }) });
}
