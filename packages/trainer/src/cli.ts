/**
 * `fedmarket-trainer`: the trainer node's command line (see packages/trainer/README.md).
 *
 *   fedmarket-trainer join   --market 0x.. --project 1
 *   fedmarket-trainer run    --market 0x.. --project 1 --data data/mnist/trainer-1
 *   fedmarket-trainer status --market 0x.. --project 1
 *   fedmarket-trainer claim  --market 0x.. --project 1
 *
 * Exit codes (protocol's node/cli.ts, the same in every fedmarket CLI): 0 done; 1 the operation
 * failed (message on stderr, or a JSON "error" line with --json); 2 it could not run (bad arguments
 * or configuration, missing files, an unreachable or wrong network before the node started).
 */
import { Command } from "commander";
import {
  applyCliConventions,
  createLogger,
  EXIT_CANNOT_RUN,
  EXIT_CODES_HELP,
  EXIT_FAILED,
  isUnreachable,
  packageVersion,
  reportCliFailure,
  usageHint,
  type NodeLogger,
} from "@fedmarket/protocol";
import { ConfigError, resolveConfig, type NodeConfig } from "./node/config.ts";
import { checkExpectedAccount } from "./account-check.ts";
import { openNode } from "./node/setup.ts";
import { CHECKPOINTS, type Checkpoint } from "./node/trainer-node.ts";

interface CommonFlags {
  config?: string;
  account?: string;
  rpcUrl?: string;
  market?: string;
  project?: string;
  stateDir?: string;
  ipfsApi?: string;
  ipfsRepo?: string;
  chainId?: string;
  keystore?: string;
  json?: boolean;
  blockRange?: string;
  confirmations?: string;
}

const EXAMPLES = `
Configuration: flags > environment (FEDMARKET_*) > JSON config file (--config or FEDMARKET_CONFIG,
keys as the long flags in camelCase, e.g. {"rpcUrl": "...", "market": "0x...", "project": 1}).
The key comes from FEDMARKET_PRIVATE_KEY, or an encrypted JSON keystore (--keystore, password from
FEDMARKET_KEYSTORE_PASSWORD or a prompt); it is never printed.

Examples:
  export FEDMARKET_RPC_URL=http://127.0.0.1:8545 FEDMARKET_MARKET=0x5FbDB2315678afecb367f032d93F642f64180aa3
  export FEDMARKET_PRIVATE_KEY=0x...            # or: --keystore ~/.fedmarket/key.json
  fedmarket-trainer join   --project 1
  fedmarket-trainer run    --project 1 --data data/mnist/trainer-1 --ipfs-repo demo/ipfs
  fedmarket-trainer run    --project 1 --data data/mnist/trainer-1 --ipfs-api http://127.0.0.1:5001 --json
  fedmarket-trainer status --project 1 --data data/mnist/trainer-1
  fedmarket-trainer claim  --project 1 --release-stake
  fedmarket-trainer run    --project 1 --data data/mnist/trainer-1 --account 0x3C44...93BC   # refuse any other key

${EXIT_CODES_HELP}
`;

function common(cmd: Command): Command {
  return cmd
    .option("-c, --config <file>", "JSON config file (env FEDMARKET_CONFIG)")
    .option("--rpc-url <url>", "JSON-RPC endpoint (env FEDMARKET_RPC_URL; default http://127.0.0.1:8545)")
    .option("--market <address>", "FedMarket contract address (env FEDMARKET_MARKET)")
    .option("-p, --project <id>", "project id (env FEDMARKET_PROJECT)")
    .option("--chain-id <id>", "expected chain id: refuse any other network (env FEDMARKET_CHAIN_ID)")
    .option("--keystore <file>", "encrypted JSON keystore (env FEDMARKET_KEYSTORE); else FEDMARKET_PRIVATE_KEY")
    .option("--state-dir <dir>", "state folder (env FEDMARKET_STATE_DIR; default <data>/.fedmarket)")
    .option("--ipfs-api <url>", "Kubo RPC API, e.g. http://127.0.0.1:5001 (env FEDMARKET_IPFS_API)")
    .option("--ipfs-repo <dir>", "embedded IPFS block folder when no --ipfs-api (env FEDMARKET_IPFS_REPO; default <state-dir>/ipfs)")
    .option("--block-range <n>", "blocks per event query (env FEDMARKET_BLOCK_RANGE; default 2000)")
    .option("--confirmations <n>", "confirmations to wait for (default 1)")
    .option("--account <address>", "the account you expect to run as (registered in the project): refuse a key for any other")
    .option("--json", "structured JSON-lines logs on stdout");
}

function flagsOf(opts: CommonFlags & Record<string, unknown>): Record<string, string | boolean | undefined> & { config?: string } {
  const { config, rpcUrl, market, project, stateDir, ipfsApi, ipfsRepo, chainId, keystore, json, blockRange, confirmations } = opts;
  return {
    config,
    rpcUrl,
    market,
    project,
    stateDir,
    ipfsApi,
    ipfsRepo,
    chainId,
    keystore,
    blockRange,
    confirmations,
    json: json === true ? true : undefined,
    data: opts.data as string | undefined,
    pollInterval: opts.pollInterval as string | undefined,
    seed: opts.seed as string | undefined,
    ipfsTimeout: opts.ipfsTimeout as string | undefined,
    ipfsRetries: opts.ipfsRetries as string | undefined,
    answerChunksPerTx: opts.answerChunksPerTx as string | undefined,
  };
}

/** FEDMARKET_TEST_CRASH_AT=<checkpoint>: SIGKILL this process there (crash-recovery tests). */
function crashHook(): ((name: Checkpoint) => void) | undefined {
  const at = process.env.FEDMARKET_TEST_CRASH_AT;
  if (at === undefined || at === "") return undefined;
  if (!(CHECKPOINTS as readonly string[]).includes(at))
    throw new ConfigError(`FEDMARKET_TEST_CRASH_AT must be one of ${CHECKPOINTS.join(", ")}`);
  return (name) => {
    if (name === at) process.kill(process.pid, "SIGKILL");
  };
}

/** 2 when the node could not start (configuration, network), 1 when the operation failed. */
function exitCodeOf(err: unknown, started: boolean): number {
  return err instanceof ConfigError || (!started && isUnreachable(err)) ? EXIT_CANNOT_RUN : EXIT_FAILED;
}

async function withNode(
  opts: CommonFlags & Record<string, unknown>,
  required: readonly ("project" | "data")[],
  fn: (ctx: { config: NodeConfig; logger: NodeLogger; node: Awaited<ReturnType<typeof openNode>>["node"] }) => Promise<void>,
  cmd?: Command,
): Promise<void> {
  let logger = createLogger({ json: opts.json === true });
  let started = false;
  try {
    const config = await resolveConfig(flagsOf(opts), process.env, required);
    logger = createLogger({ json: config.json });
    const hook = crashHook();
    await checkExpectedAccount(opts.account as string | undefined, config, process.env);
    const opened = await openNode(config, logger, hook === undefined ? {} : { onCheckpoint: hook });
    started = true;
    const stop = (): void => {
      void opened.close().finally(() => process.exit(130));
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    try {
      await fn({ config, logger, node: opened.node });
    } finally {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      await opened.close();
    }
  } catch (err) {
    reportCliFailure(logger, err, {
      exitCode: exitCodeOf(err, started),
      json: opts.json === true,
      usage: err instanceof ConfigError && cmd !== undefined ? usageHint(cmd) : undefined,
    });
  }
}

const program = new Command()
  .name("fedmarket-trainer")
  .description(
    "fedmarket trainer node: join a federated-learning project, train on local data each round, submit encrypted, committed updates, claim rewards.",
  )
  .addHelpText("after", EXAMPLES);

common(program.command("join"))
  .description("register in a project (paying its trainer stake, if any)")
  .option("--allowlist-proof <hashes>", "comma-separated Merkle proof (bytes32) for allowlisted projects")
  .addHelpText("after", "\nExample:\n  FEDMARKET_PRIVATE_KEY=0x... fedmarket-trainer join --market 0x... --project 1\n")
  .action(async (opts: CommonFlags & { allowlistProof?: string }, cmd: Command) => {
    await withNode(
      opts as CommonFlags & Record<string, unknown>,
      ["project"],
      async ({ config, node, logger }) => {
        const proof = opts.allowlistProof
          ? opts.allowlistProof
              .split(",")
              .map((s) => s.trim())
              .filter(Boolean)
          : [];
        const r = await node.join(config.project as bigint, proof);
        if (config.json) logger.log("info", "join.result", "join finished", { ...r });
      },
      cmd,
    );
  });

common(program.command("run"))
  .description("train and submit every round until the project ends (resumable: run it again after a crash)")
  .option("-d, --data <path>", "local training data: IDX folder, .csv, .jsonl or PNG folder (env FEDMARKET_DATA)")
  .option("--once", "do the open round only, then exit")
  .option("--poll-interval <ms>", "chain polling interval between rounds (default 5000)")
  .option("--seed <n>", "shuffle seed (default: the round number)")
  .option("--ipfs-timeout <ms>", "per-attempt IPFS fetch timeout (default 30000)")
  .option("--ipfs-retries <n>", "IPFS fetch retries (default 3)")
  .option(
    "--answer-chunks-per-tx <n>",
    "most chunks per transaction answering a 'not available' flag; larger updates go in parts (default 16)",
  )
  .addHelpText(
    "after",
    "\nExample:\n  fedmarket-trainer run --market 0x... --project 1 --data data/mnist/trainer-1 --ipfs-repo demo/ipfs\n",
  )
  .action(async (opts: CommonFlags & { once?: boolean }, cmd: Command) => {
    await withNode(
      opts as CommonFlags & Record<string, unknown>,
      ["project", "data"],
      async ({ config, node, logger }) => {
        const outcome = await node.run(config.project as bigint, { once: opts.once === true });
        if (config.json) logger.log("info", "run.result", "run finished", { outcome: outcome.kind });
      },
      cmd,
    );
  });

common(program.command("status"))
  .description("show the project, its open round, this account and the local state")
  .option("-d, --data <path>", "training data (locates the default state folder)")
  .action(async (opts: CommonFlags, cmd: Command) => {
    await withNode(
      opts as CommonFlags & Record<string, unknown>,
      ["project"],
      async ({ config, node, logger }) => {
        const s = await node.status(config.project as bigint);
        if (config.json) logger.log("info", "status", "status", s);
        else process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
      },
      cmd,
    );
  });

common(program.command("claim"))
  .description("withdraw credited rewards (and, with --release-stake, the stake once the project ended)")
  .option("--release-stake", "also release the registration stake (project must have ended)")
  .action(async (opts: CommonFlags & { releaseStake?: boolean }, cmd: Command) => {
    await withNode(
      opts as CommonFlags & Record<string, unknown>,
      ["project"],
      async ({ config, node, logger }) => {
        const r = await node.claim(config.project as bigint, { releaseStake: opts.releaseStake === true });
        if (config.json) logger.log("info", "claim.result", "claim finished", { ...r });
      },
      cmd,
    );
  });

applyCliConventions(program, { version: packageVersion(new URL("../package.json", import.meta.url)) });
await program.parseAsync(process.argv);
