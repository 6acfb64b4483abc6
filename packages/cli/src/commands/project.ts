/** `fedmarket project create|fund|status|cancel`: the owner's side of a project. */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { type Command } from "commander";
import { parseUnits, ZeroAddress } from "ethers";
import { decodeWeights, FedMarketClient, validateModelSpec } from "@fedmarket/protocol";
import { connectRpc, connectSigner, rpcUrlOf, UsageError } from "../owner/connect.ts";
import { loadOrCreateX25519KeyFile } from "../owner/key-file.ts";
import { cancelProject, createProject, fundProject, tokenDecimals } from "../owner/project.ts";
import { formatStatus, projectStatus } from "../owner/status.ts";
import { openBlobStore } from "../owner/store.ts";
import { fail, jsonText, parseAddress, parseAmount, parseCount, parseProjectId, writeJson } from "./common.ts";

/** What `project create` writes (`--out project.json`); the other commands can read it with `--project-file`. */
export interface ProjectFile {
  readonly rpcUrl: string;
  readonly chainId: string;
  readonly market: string;
  readonly verifier: string;
  readonly projectId: string;
  readonly specCid: string;
  readonly modelCid: string;
  readonly ownerKeyFile: string;
  /** Block of the creation transaction: event scans (status, audit) start there. */
  readonly createdBlock: number;
}

interface Common {
  rpcUrl?: string;
  keystore?: string;
  market?: string;
  project?: string;
  projectFile?: string;
  fromBlock?: string;
}
interface CreateFlags extends Omit<Common, "market"> {
  market: string;
  verifier: string;
  spec: string;
  aggregator: string;
  initialModel?: string;
  budget?: string;
  rewardPerRound: string;
  rounds: string;
  maxTrainers?: string;
  byzantineTolerance?: string;
  submissionWindow: string;
  aggregationWindow: string;
  bond: string;
  slash: string;
  stake: string;
  token?: string;
  ownerKeyFile: string;
  out: string;
  ipfsApi?: string;
  ipfsRepo?: string;
  seed?: string;
}

export async function readProjectFile(file: string | undefined): Promise<Partial<ProjectFile>> {
  if (file === undefined) return {};
  try {
    return JSON.parse(await readFile(file, "utf8")) as Partial<ProjectFile>;
  } catch (err) {
    throw new UsageError(`cannot read --project-file ${file}: ${(err as Error).message}`);
  }
}

/** Market, project id, RPC URL and first block from flags, env and `--project-file`. */
async function target(flags: Common): Promise<{ market: string; projectId: bigint; rpcUrl: string; fromBlock?: number }> {
  const file = await readProjectFile(flags.projectFile);
  const market = flags.market ?? process.env.FEDMARKET_MARKET ?? file.market;
  if (market === undefined)
    throw new UsageError(
      "the marketplace address is missing: pass --market 0x... (or --project-file project.json, or set FEDMARKET_MARKET)",
    );
  const project = flags.project ?? process.env.FEDMARKET_PROJECT ?? file.projectId;
  if (project === undefined || !/^[1-9][0-9]*$/.test(project))
    throw new UsageError("the project is missing: pass --project <id> (or --project-file project.json)");
  const rpcUrl = rpcUrlOf(flags.rpcUrl ?? (process.env.FEDMARKET_RPC_URL === undefined ? file.rpcUrl : undefined));
  const fromBlock = flags.fromBlock !== undefined ? Number(flags.fromBlock) : file.createdBlock;
  return { market, projectId: BigInt(project), rpcUrl, ...(fromBlock === undefined ? {} : { fromBlock }) };
}

function targetOptions(cmd: Command, signs: boolean): Command {
  cmd
    .option("--rpc-url <url>", "JSON-RPC endpoint (env FEDMARKET_RPC_URL; default http://127.0.0.1:8545)")
    .option("--market <address>", "FedMarket address (env FEDMARKET_MARKET)", parseAddress)
    .option("-p, --project <id>", "project id (env FEDMARKET_PROJECT)", parseProjectId)
    .option("--project-file <file>", "read market, project and RPC URL from the project.json of `project create`");
  if (signs)
    cmd.option("--keystore <file>", "owner keystore (password in FEDMARKET_KEYSTORE_PASSWORD) when FEDMARKET_PRIVATE_KEY is not set");
  return cmd;
}

async function amountIn(client: FedMarketClient, token: string, value: string, name: string): Promise<bigint> {
  try {
    return parseUnits(value, await tokenDecimals(client.provider, token));
  } catch (err) {
    throw new UsageError(`${name} ${value}: ${(err as Error).message}`);
  }
}

function int(v: string | undefined, name: string, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`${name} must be an integer >= ${min} (got ${JSON.stringify(v)})`);
  return n;
}

async function initialWeightsFor(flags: CreateFlags, specJson: unknown): Promise<Float32Array> {
  const { spec, summary } = validateModelSpec(specJson);
  if (flags.initialModel !== undefined) {
    return decodeWeights(new Uint8Array(await readFile(flags.initialModel)), summary.parameters);
  }
  // No weights given: the spec's architecture with seeded initial weights (TF.js, loaded only here).
  const { selectBackend, initialWeights } = await import("@fedmarket/ml");
  const backend = await selectBackend({ log: () => {} });
  return initialWeights(backend.tf, spec, int(flags.seed, "--seed", 0) ?? spec.seed ?? 1);
}

export function register(program: Command): void {
  const project = program.command("project").description("the owner's project commands: create, fund, status, cancel");

  project
    .command("create")
    .description("pin the model spec and the initial model to IPFS, create the project and escrow its budget; writes project.json")
    .option("--rpc-url <url>", "JSON-RPC endpoint (env FEDMARKET_RPC_URL; default http://127.0.0.1:8545)")
    .option("--keystore <file>", "owner keystore (password in FEDMARKET_KEYSTORE_PASSWORD) when FEDMARKET_PRIVATE_KEY is not set")
    .requiredOption("--market <address>", "FedMarket address", parseAddress)
    .requiredOption("--verifier <address>", "the round verifier of the spec's circuit configuration", parseAddress)
    .requiredOption("--spec <file>", "model spec (fedmarket-model-spec/1 JSON with a circuit section)")
    .requiredOption("--aggregator <address>", "the aggregator's account (it accepts with `fedmarket-aggregator accept`)", parseAddress)
    .option("--initial-model <file>", "initial weights (.fmw); default: the spec's architecture with seeded random weights")
    .option("--seed <n>", "seed of the generated initial weights (default: the spec's seed, else 1)")
    .option("--budget <amount>", "escrowed budget in ETH (or token units); default reward-per-round x rounds", parseAmount)
    .option("--reward-per-round <amount>", "reward of one round, split by proven score", parseAmount, "0.1")
    .option("--rounds <n>", "number of rounds", parseCount, "3")
    .option("--max-trainers <n>", "trainer slots per round (default: the verifier's K_MAX)", parseCount)
    .option(
      "--byzantine-tolerance <f>",
      "Multi-Krum's f (a round needs f + 3 updates; default the largest f with 2f + 3 <= slots)",
      parseCount,
    )
    .option("--submission-window <sec>", "submission window per round", parseCount, "3600")
    .option("--aggregation-window <sec>", "aggregation window per round", parseCount, "3600")
    .option("--bond <amount>", "aggregator bond", parseAmount, "0.01")
    .option("--slash <amount>", "slashed from the bond per failed round", parseAmount, "0.001")
    .option("--stake <amount>", "trainer registration stake", parseAmount, "0")
    .option("--token <address>", "ERC-20 reward token (default ETH)", parseAddress)
    .option("--owner-key-file <file>", "the owner's X25519 key (created 0600 if missing): decrypts updates for audits", "owner.x25519")
    .option("--ipfs-api <url>", "Kubo RPC API (env FEDMARKET_IPFS_API)")
    .option("--ipfs-repo <dir>", "embedded IPFS block folder (env FEDMARKET_IPFS_REPO)")
    .requiredOption("--out <file>", "where to write project.json")
    .addHelpText(
      "after",
      `
Example:
  FEDMARKET_PRIVATE_KEY=0x... fedmarket project create --market 0x5FbD... --verifier 0xe7f1... \\
    --spec model-spec.json --aggregator 0x7099... --reward-per-round 0.1 --rounds 3 \\
    --ipfs-api http://127.0.0.1:5001 --out project.json`,
    )
    .action(async (flags: CreateFlags) => {
      let store;
      try {
        const specJson = JSON.parse(await readFile(flags.spec, "utf8")) as unknown;
        const weights = await initialWeightsFor(flags, specJson);
        const rpcUrl = rpcUrlOf(flags.rpcUrl);
        const { signer, chainId, provider } = await connectSigner(rpcUrl, flags.keystore);
        try {
          const client = new FedMarketClient(flags.market, signer);
          await client.checkNetwork();
          const token = flags.token ?? ZeroAddress;
          const key = await loadOrCreateX25519KeyFile(flags.ownerKeyFile);
          if (key.created)
            process.stderr.write(`created the owner's X25519 key in ${flags.ownerKeyFile} (keep it: it decrypts every update)\n`);
          store = await openBlobStore(flags);
          const budget = flags.budget === undefined ? undefined : await amountIn(client, token, flags.budget, "--budget");
          const maxTrainers = int(flags.maxTrainers, "--max-trainers", 1);
          const f = int(flags.byzantineTolerance, "--byzantine-tolerance", 0);
          const created = await createProject({
            signer,
            market: flags.market,
            verifier: flags.verifier,
            aggregator: flags.aggregator,
            store,
            specJson,
            initialWeights: weights,
            ownerPublicKey: key.publicKey,
            rewardPerRound: await amountIn(client, token, flags.rewardPerRound, "--reward-per-round"),
            numRounds: int(flags.rounds, "--rounds", 1) as number,
            submissionWindow: int(flags.submissionWindow, "--submission-window", 1) as number,
            aggregationWindow: int(flags.aggregationWindow, "--aggregation-window", 1) as number,
            aggregatorBond: await amountIn(client, token, flags.bond, "--bond"),
            slashAmount: await amountIn(client, token, flags.slash, "--slash"),
            trainerStake: await amountIn(client, token, flags.stake, "--stake"),
            token,
            ...(budget === undefined ? {} : { budget }),
            ...(maxTrainers === undefined ? {} : { maxTrainersPerRound: maxTrainers }),
            ...(f === undefined ? {} : { byzantineTolerance: f }),
          });
          const out: ProjectFile = {
            rpcUrl,
            chainId: chainId.toString(),
            market: client.address,
            verifier: flags.verifier,
            projectId: created.projectId.toString(),
            specCid: created.specCid,
            modelCid: created.modelCid,
            ownerKeyFile: path.resolve(flags.ownerKeyFile),
            createdBlock: created.blockNumber,
          };
          await writeJson(flags.out, out);
          process.stdout.write(`${jsonText(out)}\n`);
          process.stderr.write(
            `project ${created.projectId} created (f = ${created.byzantineTolerance}, budget of ${created.budget} base units (wei for ETH) escrowed, tx ${created.txHash}); it starts when the aggregator runs \`fedmarket-aggregator accept --project ${created.projectId}\`\n`,
          );
        } finally {
          provider.destroy();
        }
      } catch (err) {
        fail(err);
      } finally {
        await store?.close();
      }
    });

  targetOptions(project.command("fund"), true)
    .description("add to a project's budget (anyone may fund a project)")
    .requiredOption("--amount <amount>", "amount in ETH (or token units)", parseAmount)
    .action(async (flags: Common & { amount: string }) => {
      try {
        const t = await target(flags);
        const { signer, provider } = await connectSigner(t.rpcUrl, flags.keystore);
        try {
          const client = new FedMarketClient(t.market, signer);
          await client.checkNetwork();
          const p = await client.getProject(t.projectId);
          const receipt = await fundProject(client, t.projectId, p.token, await amountIn(client, p.token, flags.amount, "--amount"));
          const after = await client.getProject(t.projectId);
          process.stdout.write(
            `${jsonText({ projectId: t.projectId, funded: flags.amount, budget: after.budget, txHash: receipt.hash })}\n`,
          );
        } finally {
          provider.destroy();
        }
      } catch (err) {
        fail(err);
      }
    });

  targetOptions(project.command("status"), false)
    .description("rounds (models, outliers, scores, payouts) and trainers' totals as tables")
    .option("--from-block <n>", "first block of the event scan (default: project.json's createdBlock, else 0)", parseCount)
    .option("--json", "print JSON instead of tables")
    .action(async (flags: Common & { json?: boolean }) => {
      try {
        const t = await target(flags);
        const { provider } = await connectRpc(t.rpcUrl);
        try {
          const client = new FedMarketClient(t.market, provider);
          await client.checkNetwork();
          const report = await projectStatus(client, t.projectId, t.fromBlock === undefined ? {} : { fromBlock: t.fromBlock });
          process.stdout.write(`${flags.json === true ? jsonText(report) : formatStatus(report)}\n`);
        } finally {
          provider.destroy();
        }
      } catch (err) {
        fail(err);
      }
    });

  targetOptions(project.command("cancel"), true)
    .description(
      "cancel the project: the open round's reward goes to its submitters (with a quorum, the round runs to its end first); " +
        "the unspent budget is refunded pro rata: the owner's part is credited (withdraw it with `fedmarket-trainer claim` " +
        "or any wallet calling withdraw), third-party funders claim theirs (claimRefund)",
    )
    .action(async (flags: Common) => {
      try {
        const t = await target(flags);
        const { signer, provider } = await connectSigner(t.rpcUrl, flags.keystore);
        try {
          const client = new FedMarketClient(t.market, signer);
          await client.checkNetwork();
          const receipt = await cancelProject(client, t.projectId);
          const p = await client.getProject(t.projectId);
          process.stdout.write(
            `${jsonText({ projectId: t.projectId, status: p.statusName, cancelRequested: p.cancelRequested, txHash: receipt.hash })}\n`,
          );
        } finally {
          provider.destroy();
        }
      } catch (err) {
        fail(err);
      }
    });
}
