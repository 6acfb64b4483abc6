/**
 * `fedmarket-aggregator`: the aggregator node's command line.
 *
 *   fedmarket-aggregator setup      --market 0x.. --project 1 --ipfs-api http://127.0.0.1:5001
 *   fedmarket-aggregator run        --market 0x.. --project 1 --data agg-data
 *   fedmarket-aggregator status     --market 0x.. --project 1 --data agg-data
 *   fedmarket-aggregator prove-round 3 --market 0x.. --project 1 --data agg-data
 *   fedmarket-aggregator accept     --market 0x.. --project 1 --seal-key-file aggregator.seal
 *
 * Exit codes (protocol's node/cli.ts, the same in every fedmarket CLI): 0 done; 1 the operation
 * failed (message on stderr, or a JSON "error" line with --json); 2 it could not run (bad arguments
 * or configuration, a missing or wrong key file, circuits not prepared by `setup`, an unreachable or
 * wrong network before the node started).
 */
import path from "node:path";
import { Command, Option } from "commander";
import { isAddress } from "ethers";
import type { AggregatorNode } from "./aggregator-node.ts";
import { AggregatorError, exitCodeOf } from "./errors.ts";
import { CHECKPOINTS, type Checkpoint } from "./steps/context.ts";
import {
  applyCliConventions,
  connectRpc,
  createLogger,
  EXIT_CODES_HELP,
  FedMarketClient,
  HeliaBlobStore,
  KuboBlobStore,
  packageVersion,
  reportCliFailure,
  usageHint,
  type BlobStore,
  type NodeLogger,
} from "@fedmarket/protocol";
import { openAggregator, openStatusReader, projectOf, type AggregatorConfig } from "./setup.ts";
import { acceptProject } from "./accept.ts";
import { prepareProjectCircuits } from "./prepare.ts";

interface Flags {
  rpcUrl?: string;
  market?: string;
  project?: string;
  data?: string;
  chainId?: string;
  ipfsApi?: string;
  ipfsRepo?: string;
  sealKeyFile?: string;
  circuits?: string;
  workers?: string;
  chunkBatch?: string;
  pollInterval?: string;
  confirmations?: string;
  blockRange?: string;
  ipfsTimeout?: string;
  ipfsRetries?: string;
  json?: boolean;
  once?: boolean;
  round?: string;
  validation?: string;
  validationLimit?: string;
  shapleyMaxPermutations?: string;
  lrDecay?: string;
}

const EXAMPLES = `
Environment: FEDMARKET_RPC_URL, FEDMARKET_MARKET, FEDMARKET_PROJECT, FEDMARKET_AGGREGATOR_DATA stand in for
the flags. The Ethereum key comes from FEDMARKET_PRIVATE_KEY (never a flag, never printed); the seal key
that decrypts updates (the secret of the BabyJubJub key registered at acceptance) from --seal-key-file or
FEDMARKET_SEAL_KEY (64 hex characters). What needs what: run and prove-round need both keys; accept needs
FEDMARKET_PRIVATE_KEY (it creates the seal key file); setup and status need no key (they send nothing).

Examples:
  export FEDMARKET_RPC_URL=http://127.0.0.1:8545 FEDMARKET_MARKET=0x5FbDB2315678afecb367f032d93F642f64180aa3
  export FEDMARKET_PRIVATE_KEY=0x... FEDMARKET_SEAL_KEY=$(cat aggregator.seal)
  fedmarket-aggregator setup  --project 1 --ipfs-repo demo/ipfs                # once, before any window: circuits
  fedmarket-aggregator run    --project 1 --data agg-data --ipfs-repo demo/ipfs
  fedmarket-aggregator run    --project 1 --data agg-data --ipfs-api http://127.0.0.1:5001 --json --once
  fedmarket-aggregator status --project 1 --data agg-data
  fedmarket-aggregator prove-round 0 --project 1 --data agg-data --workers 2
  fedmarket-aggregator run    --project 1 --data agg-data --circuits ceremony/   # production keys

\`run\` and \`prove-round\` refuse to start (exit 2) when the seal key is not the one the project registered
at acceptance: trainers seal their updates for that key and the round proof is about it, so no other key can
open them; and when the project's circuit artifacts are not prepared (\`setup\` makes them; \`accept\` runs it
before posting the bond).

${EXIT_CODES_HELP}
`;

function int(v: string | undefined, name: string, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min)
    throw new AggregatorError("usage", `${name} must be an integer >= ${min} (got ${JSON.stringify(v)})`);
  return n;
}

/** A non-negative amount in wei (or token units), as a decimal integer. */
function wei(v: string, name: string): bigint {
  if (!/^[0-9]+$/.test(v)) throw new AggregatorError("usage", `${name} must be a whole number of wei (got ${JSON.stringify(v)})`);
  return BigInt(v);
}

function decayFactor(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n <= 0)
    throw new AggregatorError("usage", `--lr-decay must be a number > 0, e.g. 0.9 (got ${JSON.stringify(v)})`);
  return n;
}

/** Chain, marketplace and project from the flags and the environment (every command needs them). */
function targetOf(f: Flags, env: NodeJS.ProcessEnv): { rpcUrl: string; market: string; projectId: bigint; chainId?: bigint } {
  const rpcUrl = f.rpcUrl ?? env.FEDMARKET_RPC_URL ?? "http://127.0.0.1:8545";
  const market = f.market ?? env.FEDMARKET_MARKET;
  if (market === undefined || !isAddress(market))
    throw new AggregatorError("usage", "the marketplace address is missing or invalid: pass --market 0x... or set FEDMARKET_MARKET");
  const project = f.project ?? env.FEDMARKET_PROJECT;
  if (project === undefined || !/^[1-9][0-9]*$/.test(project))
    throw new AggregatorError("usage", "the project is missing or invalid: pass --project <id> (ids start at 1) or set FEDMARKET_PROJECT");
  return { rpcUrl, market, projectId: BigInt(project), ...(f.chainId === undefined ? {} : { chainId: BigInt(f.chainId) }) };
}

/**
 * Where `setup` and `accept` read the project's model spec: `--ipfs-api`, `--ipfs-repo`, the
 * environment, or `<data>/ipfs` (the default repo of `run`); undefined when none is given.
 */
function ipfsOf(f: Flags, env: NodeJS.ProcessEnv): { ipfsApi: string } | { ipfsRepo: string } | undefined {
  const api = f.ipfsApi ?? env.FEDMARKET_IPFS_API;
  if (api !== undefined) return { ipfsApi: api };
  const data = f.data ?? env.FEDMARKET_AGGREGATOR_DATA;
  const repo = f.ipfsRepo ?? env.FEDMARKET_IPFS_REPO ?? (data === undefined ? undefined : path.join(data, "ipfs"));
  return repo === undefined ? undefined : { ipfsRepo: path.resolve(repo) };
}

/** The options of the circuit setup (`setup`, `accept`). */
function setupOptionsOf(f: Flags): { dir?: string; ipfsTimeoutMs?: number; ipfsRetries?: number } {
  const timeout = int(f.ipfsTimeout, "--ipfs-timeout", 100);
  const retries = int(f.ipfsRetries, "--ipfs-retries", 0);
  return {
    ...(f.circuits === undefined ? {} : { dir: path.resolve(f.circuits) }),
    ...(timeout === undefined ? {} : { ipfsTimeoutMs: timeout }),
    ...(retries === undefined ? {} : { ipfsRetries: retries }),
  };
}

function configOf(f: Flags, env: NodeJS.ProcessEnv): { config: AggregatorConfig; projectId: bigint } {
  const { rpcUrl, market, projectId, chainId } = targetOf(f, env);
  const data = f.data ?? env.FEDMARKET_AGGREGATOR_DATA;
  if (data === undefined)
    throw new AggregatorError(
      "usage",
      "the data folder is missing: pass --data <dir> (where round files, proofs and the lock live) or set FEDMARKET_AGGREGATOR_DATA",
    );
  const opt = <K extends keyof AggregatorConfig>(k: K, v: AggregatorConfig[K] | undefined): Partial<AggregatorConfig> =>
    v === undefined ? {} : { [k]: v };
  const config: AggregatorConfig = {
    rpcUrl,
    market,
    dataDir: path.resolve(data),
    ...opt("chainId", chainId),
    ...opt("ipfsApi", f.ipfsApi ?? env.FEDMARKET_IPFS_API),
    ...opt("ipfsRepo", f.ipfsRepo === undefined ? env.FEDMARKET_IPFS_REPO : path.resolve(f.ipfsRepo)),
    ...opt("sealKeyFile", f.sealKeyFile),
    ...opt("circuitsDir", f.circuits === undefined ? undefined : path.resolve(f.circuits)),
    ...opt("workers", int(f.workers, "--workers", 1)),
    ...opt("chunkBatch", int(f.chunkBatch, "--chunk-batch", 1)),
    ...opt("pollIntervalMs", int(f.pollInterval, "--poll-interval", 50)),
    ...opt("confirmations", int(f.confirmations, "--confirmations", 1)),
    ...opt("blockRange", int(f.blockRange, "--block-range", 1)),
    ...opt("ipfsTimeoutMs", int(f.ipfsTimeout, "--ipfs-timeout", 100)),
    ...opt("ipfsRetries", int(f.ipfsRetries, "--ipfs-retries", 0)),
    ...opt("validation", f.validation === undefined ? undefined : path.resolve(f.validation)),
    ...opt("validationLimit", int(f.validationLimit, "--validation-limit", 1)),
    ...opt("shapleyMaxPermutations", int(f.shapleyMaxPermutations, "--shapley-max-permutations", 1)),
    ...opt("lrDecay", decayFactor(f.lrDecay)),
  };
  return { config, projectId };
}

/** FEDMARKET_TEST_CRASH_AT=<checkpoint>: SIGKILL this process there (crash-recovery tests). */
function crashHook(): ((name: Checkpoint) => void) | undefined {
  const at = process.env.FEDMARKET_TEST_CRASH_AT;
  if (at === undefined || at === "") return undefined;
  if (!(CHECKPOINTS as readonly string[]).includes(at))
    throw new AggregatorError("usage", `FEDMARKET_TEST_CRASH_AT must be one of ${CHECKPOINTS.join(", ")}`);
  return (name) => {
    if (name === at) process.kill(process.pid, "SIGKILL");
  };
}

/** Ends on an error: `error: ...` (+ the usage hint for argument errors) and exit 2, or the error line and exit 1. */
function failWith(logger: NodeLogger, err: unknown, o: { json: boolean; started: boolean; cmd?: Command | undefined }): void {
  const usage = err instanceof AggregatorError && err.code === "usage" && o.cmd !== undefined ? usageHint(o.cmd) : undefined;
  reportCliFailure(logger, err, { exitCode: exitCodeOf(err, o.started), json: o.json, usage });
}

async function withNode(
  f: Flags,
  fn: (ctx: { node: AggregatorNode; logger: NodeLogger; projectId: bigint; signal: AbortSignal }) => Promise<void>,
  o: { cmd?: Command; checkKey?: boolean } = {},
): Promise<void> {
  const logger = createLogger({ json: f.json === true });
  let started = false;
  try {
    const { config, projectId } = configOf(f, process.env);
    const hook = crashHook();
    const opened = await openAggregator(config, logger, {
      ...(hook === undefined ? {} : { onCheckpoint: hook }),
      // run / prove-round: a key that is not the project's registered one cannot open any update
      ...(o.checkKey === true ? { checkKeyFor: projectId } : {}),
    });
    started = true;
    const abort = new AbortController();
    let stopping = false;
    const stop = (): void => {
      if (stopping) {
        void opened.close().finally(() => process.exit(130));
        return;
      }
      stopping = true;
      logger.log("info", "stopping", "stopping after the current step (Ctrl-C again to quit now; every finished step is saved)");
      abort.abort();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    try {
      await fn({ node: opened.node, logger, projectId, signal: abort.signal });
    } finally {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      await opened.close();
    }
  } catch (err) {
    failWith(logger, err, { json: f.json === true, started, cmd: o.cmd });
  }
}

/**
 * `setup`: reads the project (chain) and its model spec (IPFS), and prepares its circuit artifacts
 * (prepare.ts). Needs no key: it sends nothing.
 */
async function runSetup(f: Flags, logger: NodeLogger): Promise<void> {
  const { rpcUrl, market, projectId, chainId } = targetOf(f, process.env);
  const ipfs = ipfsOf(f, process.env);
  if (ipfs === undefined)
    throw new AggregatorError(
      "usage",
      "setup reads the project's model spec from IPFS: pass --ipfs-api <url>, --ipfs-repo <dir> or --data <dir> (its ipfs folder), " +
        "or set FEDMARKET_IPFS_API / FEDMARKET_IPFS_REPO",
    );
  const options = setupOptionsOf(f);
  const { provider } = await connectRpc(rpcUrl, { pollingIntervalMs: 1_000 });
  let store: BlobStore | undefined;
  try {
    const client = new FedMarketClient(market, provider);
    await client.checkNetwork(chainId);
    const project = await projectOf(client, projectId);
    store = "ipfsApi" in ipfs ? new KuboBlobStore({ apiUrl: ipfs.ipfsApi }) : await HeliaBlobStore.create({ dataDir: ipfs.ipfsRepo });
    await prepareProjectCircuits(client, store, project, logger, options);
  } finally {
    await store?.close();
    provider.destroy();
  }
}

function common(cmd: Command): Command {
  return cmd
    .option("--rpc-url <url>", "JSON-RPC endpoint (env FEDMARKET_RPC_URL; default http://127.0.0.1:8545)")
    .option("--market <address>", "FedMarket contract address (env FEDMARKET_MARKET)")
    .option("-p, --project <id>", "project id (env FEDMARKET_PROJECT)")
    .option("-d, --data <dir>", "data folder: round files, proofs, lock (env FEDMARKET_AGGREGATOR_DATA)")
    .option("--chain-id <id>", "expected chain id: refuse any other network")
    .option("--ipfs-api <url>", "Kubo RPC API, e.g. http://127.0.0.1:5001 (env FEDMARKET_IPFS_API)")
    .option("--ipfs-repo <dir>", "embedded IPFS block folder when no --ipfs-api (default <data>/ipfs)")
    .option("--seal-key-file <file>", "the aggregator's seal key file (64 hex; written by accept); else FEDMARKET_SEAL_KEY")
    .option("--circuits <dir>", "folder with chunk_k<K>_c<C> / decision_k<K>_c<C> .wasm, .zkey, .vkey.json (default: the repo's dev setup)")
    .option("--workers <n>", "proving worker threads (default: one per core)")
    .option("--chunk-batch <n>", "chunk proofs per transaction, verified as one batch (default 128)")
    .option("--poll-interval <ms>", "chain polling interval (default 5000)")
    .option("--confirmations <n>", "confirmations to wait for (default 1)")
    .option("--block-range <n>", "blocks per event query (default 2000)")
    .option("--ipfs-timeout <ms>", "per-attempt IPFS fetch timeout (default 30000)")
    .option("--ipfs-retries <n>", "IPFS fetch retries (default 3)")
    .option("--json", "structured JSON-lines logs on stdout");
}

/**
 * accept's seal key file: `--seal-key-file` (default aggregator.seal), or the deprecated `--key-file`
 * it was called before it got run's name for the same file; scripts that still pass it keep working,
 * with a warning on stderr (stdout may be JSON lines).
 */
function acceptKeyFileOf(opts: { sealKeyFile?: string; keyFile?: string }, cmd: Command): string {
  if (opts.keyFile === undefined) return opts.sealKeyFile ?? "aggregator.seal";
  if (cmd.getOptionValueSource("sealKeyFile") === "cli")
    throw new AggregatorError("usage", "--key-file is the deprecated name of --seal-key-file: pass only --seal-key-file");
  process.stderr.write("warning: --key-file is deprecated and will be removed: use --seal-key-file (the same file)\n");
  return opts.keyFile;
}

const program = new Command()
  .name("fedmarket-aggregator")
  .description(
    "fedmarket aggregator node: collect and open the round's updates, run the consensus rule, prove the round (Groth16) and finalize it on chain.",
  )
  .addHelpText("after", EXAMPLES);

common(program.command("setup"))
  .description(
    "prepare the project's circuit artifacts before any aggregation window: compile the circuits and make their DEV Groth16 keys " +
      "(cached in .cache/; minutes the first time), or check a ceremony's --circuits folder. Reads the project from the chain and its " +
      "model spec from IPFS; needs no key. Takes run's flags (uses --rpc-url, --market, --project, --ipfs-api / --ipfs-repo / --data, --circuits)",
  )
  .addHelpText(
    "after",
    `
Examples:
  fedmarket-aggregator setup --project 1 --ipfs-api http://127.0.0.1:5001
  fedmarket-aggregator setup --project 1 --data agg-data              # IPFS blocks in agg-data/ipfs
  fedmarket-aggregator setup --project 1 --ipfs-repo demo/ipfs --circuits ceremony/   # only checks the files`,
  )
  .action(async (opts: Flags, cmd: Command) => {
    const logger = createLogger({ json: opts.json === true });
    try {
      await runSetup(opts, logger);
    } catch (err) {
      failWith(logger, err, { json: opts.json === true, started: false, cmd });
    }
  });

common(program.command("run"))
  .description(
    "aggregate every round of the project as its submission window closes (resumable: restart after a crash continues where it stopped)",
  )
  .option("--once", "stop after one round is done")
  .option(
    "--validation <file>",
    "owner's validation data (IDX or PNG folder, .csv, .jsonl): after each finalized round, write an UNPROVEN " +
      "GTG-Shapley + leave-one-out report (report.json in the round folder, pinned, CID logged); it never delays the proofs or pays anything",
  )
  .option("--validation-limit <n>", "validation samples the round report uses: the first n (default 1000)")
  .option("--shapley-max-permutations <n>", "GTG-Shapley permutation cap of the round report (default 100)")
  .option(
    "--lr-decay <factor>",
    "next round's learning rate = this round's x factor, clamped to the project's on-chain bounds; " +
      "published with each finalization (default 1 = keep; epochs and batch size are kept)",
  )
  .addHelpText(
    "after",
    `
Examples:
  fedmarket-aggregator run --project 1 --data agg-data --ipfs-repo demo/ipfs
  fedmarket-aggregator run --project 1 --data agg-data --lr-decay 0.9
  fedmarket-aggregator run --project 1 --data agg-data --once --json
  fedmarket-aggregator run --project 1 --data agg-data --validation owner-val.csv --validation-limit 500`,
  )
  .action(async (opts: Flags, cmd: Command) => {
    await withNode(
      opts,
      async ({ node, logger, projectId, signal }) => {
        const out = await node.run(projectId, { once: opts.once === true, signal });
        logger.log(
          "info",
          "run.done",
          out.kind === "done"
            ? `round ${out.round}: ${out.done.kind}${out.done.txHash ? ` (${out.done.txHash})` : ""}`
            : out.kind === "ended"
              ? `project ${projectId} ${out.status}`
              : out.reason,
          {
            outcome: out.kind === "done" ? out.done.kind : out.kind,
            ...(out.kind === "done" ? { round: out.round, by: out.done.by, txHash: out.done.txHash } : {}),
            times: node.times,
          },
        );
      },
      { cmd, checkKey: true },
    );
  });

common(program.command("status"))
  .description(
    "where the open round (or --round) stands: on chain and in the data folder. Read only: needs no key " +
      "(no FEDMARKET_PRIVATE_KEY, no seal key), takes no lock, sends and writes nothing; uses --rpc-url, --market, --project, --data, --chain-id",
  )
  .option("--round <n>", "a past round instead of the open one")
  .addHelpText(
    "after",
    `
Anyone who can read the chain and the data folder can run it, also while \`run\` works on that folder
(\`run\` holds the folder's lock; status does not take it). The key and IPFS flags are accepted and ignored.

Examples:
  fedmarket-aggregator status --project 1 --data agg-data
  fedmarket-aggregator status --project 1 --data agg-data --round 0 --json`,
  )
  .action(async (opts: Flags, cmd: Command) => {
    const logger = createLogger({ json: opts.json === true });
    let started = false;
    try {
      const { config, projectId } = configOf(opts, process.env);
      const round = int(opts.round, "--round", 0);
      // not openAggregator: no Ethereum key, no seal key, no lock, no IPFS (setup.ts openStatusReader)
      const reader = await openStatusReader(config, logger);
      started = true;
      try {
        const s = await reader.status(projectId, round);
        if (opts.json === true) {
          logger.log("info", "status", `project ${projectId} round ${String(s.round)}`, s);
          return;
        }
        for (const [k, v] of Object.entries(s))
          if (v !== undefined) process.stdout.write(`${k.padEnd(22)} ${typeof v === "object" ? JSON.stringify(v) : String(v)}\n`);
      } finally {
        await reader.close();
      }
    } catch (err) {
      failWith(logger, err, { json: opts.json === true, started, cmd });
    }
  });

common(program.command("prove-round"))
  .argument("<round>", "the open round, after its submission window")
  .description("collect, open, compute and prove a round without submitting anything (proofs land in <data>/p<project>/r<round>/proofs)")
  .addHelpText(
    "after",
    `
Examples:
  fedmarket-aggregator prove-round 0 --project 1 --data agg-data
  fedmarket-aggregator prove-round 2 --project 1 --data agg-data --workers 1 --json`,
  )
  .action(async (round: string, opts: Flags, cmd: Command) => {
    await withNode(
      opts,
      async ({ node, logger, projectId }) => {
        const r = int(round, "<round>", 0) as number;
        const out = await node.proveRound(projectId, r);
        logger.log("info", "prove.done", `round ${r}: ${out.chunks} chunk proof(s) + decision proof in ${out.dir}`, {
          round: r,
          dir: out.dir,
          times: node.times,
        });
      },
      { cmd, checkKey: true },
    );
  });

program
  .command("accept")
  .description(
    "accept the appointment for a project: post the bond and register the seal key (created in --seal-key-file if missing); opens the next round",
  )
  .option("--rpc-url <url>", "JSON-RPC endpoint (env FEDMARKET_RPC_URL; default http://127.0.0.1:8545)")
  .option("--market <address>", "FedMarket contract address (env FEDMARKET_MARKET)")
  .option("-p, --project <id>", "project id (env FEDMARKET_PROJECT)")
  .option("--chain-id <id>", "expected chain id: refuse any other network")
  .option("--seal-key-file <file>", "the aggregator's seal key file (64 hex); created with mode 0600 if missing", "aggregator.seal")
  // the flag's name before it matched run's --seal-key-file (the same file): still read, not shown
  .addOption(new Option("--key-file <file>", "deprecated alias of --seal-key-file").hideHelp())
  .option("--bond <wei>", "the bond you agree to post: refuse any other (default: the appointment's, read now)")
  .option("--slash <wei>", "the slash amount per failed round you agree to: refuse any other (default: the appointment's)")
  .option("--ipfs-api <url>", "Kubo RPC API the project's model spec is read from for the setup (env FEDMARKET_IPFS_API)")
  .option("--ipfs-repo <dir>", "or an embedded IPFS block folder (env FEDMARKET_IPFS_REPO)")
  .option("-d, --data <dir>", "or run's data folder: its ipfs folder (env FEDMARKET_AGGREGATOR_DATA)")
  .option("--circuits <dir>", "a ceremony's circuit files (checked by the setup; default: the repo's dev setup, made if missing)")
  .option("--ipfs-timeout <ms>", "per-attempt IPFS fetch timeout (default 30000)")
  .option("--ipfs-retries <n>", "IPFS fetch retries (default 3)")
  .option("--skip-setup", "do not prepare the circuits first (`fedmarket-aggregator setup` already did; tests)")
  .option("--json", "structured JSON-lines logs on stdout")
  .addHelpText(
    "after",
    `
Before it sends anything, accept prepares the project's circuits (what \`setup\` does: minutes the first
time), so the bond is posted only once this machine can prove the project's rounds.

Example:
  FEDMARKET_PRIVATE_KEY=0x... fedmarket-aggregator accept --market 0x5FbD... --project 1 --seal-key-file aggregator.seal --ipfs-api http://127.0.0.1:5001
  FEDMARKET_PRIVATE_KEY=0x... fedmarket-aggregator run --market 0x5FbD... --project 1 --data agg-data --seal-key-file aggregator.seal`,
  )
  .action(async (opts: Flags & { keyFile?: string; bond?: string; slash?: string; skipSetup?: boolean }, cmd: Command) => {
    const logger = createLogger({ json: opts.json === true });
    try {
      const keyFile = acceptKeyFileOf(opts, cmd);
      const { rpcUrl, market, projectId, chainId } = targetOf(opts, process.env);
      const skipSetup = opts.skipSetup === true;
      const setup = setupOptionsOf(opts);
      await acceptProject(
        {
          rpcUrl,
          market,
          projectId,
          keyFile: path.resolve(keyFile),
          ...(chainId === undefined ? {} : { chainId }),
          ...(opts.bond === undefined ? {} : { bond: wei(opts.bond, "--bond") }),
          ...(opts.slash === undefined ? {} : { slashAmount: wei(opts.slash, "--slash") }),
          ...(skipSetup ? { skipSetup } : { ...ipfsOf(opts, process.env), setup }),
        },
        logger,
      );
    } catch (err) {
      failWith(logger, err, { json: opts.json === true, started: false, cmd });
    }
  });

applyCliConventions(program, { version: packageVersion(new URL("../package.json", import.meta.url)) });
await program.parseAsync(process.argv);
