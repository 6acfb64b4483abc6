/** `fedmarket project create|fund|status|reference|cancel|expire|refund`: the owner's (and funders') side of a project. */
import path from "node:path";
import { type Command } from "commander";
import { parseUnits, ZeroAddress } from "ethers";
import {
  BlobStoreError,
  decodeWeights,
  FedMarketClient,
  isUnreachable,
  MarketRevertError,
  sleep,
  ProjectStatus,
  type ModelSpec,
  type ModelSummary,
  type ProjectInfo,
} from "@fedmarket/protocol";
import { formatAmount, unitOf } from "../owner/amount.ts";
import { connectRpc, connectSigner, rpcUrlOf, UsageError } from "../owner/connect.ts";
import { loadOrCreateX25519KeyFile } from "../owner/key-file.ts";
import { cancelProject, createProject, fundProject, tokenDecimals } from "../owner/project.ts";
import { formatStatus, projectStatus } from "../owner/status.ts";
import { openBlobStore } from "../owner/store.ts";
import { referenceStep, type ReferenceStep } from "../owner/reference.ts";
import { fail, jsonText, parseAddress, parseAmount, parseCount, parseProjectId, readInputFile, readJsonFile, writeJson } from "./common.ts";
import {
  checkAggregationWindow,
  checkCreateAmounts,
  parseRewardDecay,
  checkSpecAgainstVerifier,
  checkTrainerSlots,
  MAX_WINDOW_SECONDS,
} from "./create-checks.ts";
import { checkFrozenFlags, checkPinnedFrozenWeights, frozenSpecInputs } from "./frozen-inputs.ts";

/** What `project create` writes (`--out project.json`); the other commands can read it with `--project-file`. */
export interface ProjectFile {
  readonly rpcUrl: string;
  readonly chainId: string;
  readonly market: string;
  readonly verifier: string;
  readonly projectId: string;
  readonly specCid: string;
  readonly modelCid: string;
  /** The spec's `frozenWeights` (the frozen layers' weights), present only when the spec freezes layers. */
  readonly frozenWeightsCid?: string;
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
  frozenWeights?: string;
  pretrained?: string;
  budget?: string;
  rewardPerRound: string;
  rewardDecay: string;
  rounds: string;
  maxTrainers?: string;
  byzantineTolerance?: string;
  submissionWindow: string;
  revealWindow: string;
  aggregationWindow: string;
  bond: string;
  slash: string;
  stake: string;
  token?: string;
  allowUnderfunded?: boolean;
  allowShortAggregationWindow?: boolean;
  ownerKeyFile: string;
  out: string;
  ipfsApi?: string;
  ipfsRepo?: string;
  seed?: string;
}

export async function readProjectFile(file: string | undefined): Promise<Partial<ProjectFile>> {
  if (file === undefined) return {};
  return (await readJsonFile(file, "--project-file")) as Partial<ProjectFile>;
}

/** Market and RPC URL from flags, env and `--project-file` (what the commands without a project need). */
export async function marketTarget(
  flags: Pick<Common, "market" | "projectFile" | "rpcUrl">,
): Promise<{ market: string; rpcUrl: string; file: Partial<ProjectFile> }> {
  const file = await readProjectFile(flags.projectFile);
  const market = flags.market ?? process.env.FEDMARKET_MARKET ?? file.market;
  if (market === undefined)
    throw new UsageError(
      "the marketplace address is missing: pass --market 0x... (or --project-file project.json, or set FEDMARKET_MARKET)",
    );
  const rpcUrl = rpcUrlOf(flags.rpcUrl ?? (process.env.FEDMARKET_RPC_URL === undefined ? file.rpcUrl : undefined));
  return { market, rpcUrl, file };
}

/** Market, project id, RPC URL and first block from flags, env and `--project-file`. */
async function target(flags: Common): Promise<{ market: string; projectId: bigint; rpcUrl: string; fromBlock?: number }> {
  const { market, rpcUrl, file } = await marketTarget(flags);
  const project = flags.project ?? process.env.FEDMARKET_PROJECT ?? file.projectId;
  if (project === undefined || !/^[1-9][0-9]*$/.test(project))
    throw new UsageError("the project is missing: pass --project <id> (or --project-file project.json)");
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

/** Decimals of `token` (18 for ETH); a token that does not answer `decimals()` is named with `flag`. */
async function decimalsOf(client: FedMarketClient, token: string, flag: string): Promise<number> {
  try {
    return await tokenDecimals(client.provider, token);
  } catch (err) {
    if (isUnreachable(err)) throw err;
    throw new UsageError(
      `${flag} ${token} is not an ERC-20 token on this chain (its decimals() call failed): check the address and --rpc-url`,
    );
  }
}

/** `value` (a decimal amount) in base units of a token with `decimals`. */
export function amountOf(value: string, decimals: number, name: string): bigint {
  try {
    return parseUnits(value, decimals);
  } catch (err) {
    throw new UsageError(`${name} ${value} is not an amount with at most ${decimals} decimals (${(err as Error).message.split(" (")[0]})`);
  }
}

/** An integer flag in [min, max]; the message names the flag and the range. */
export function int(v: string | undefined, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new UsageError(
      `${name} must be an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`} (got ${JSON.stringify(v)})`,
    );
  return n;
}

/** Where `openBlobStore` pins and fetches, for messages (flags first, then the environment, as it does). */
function storeName(flags: { ipfsApi?: string; ipfsRepo?: string }, env: NodeJS.ProcessEnv = process.env): string {
  const api = flags.ipfsApi ?? (flags.ipfsRepo === undefined ? env.FEDMARKET_IPFS_API : undefined);
  if (api !== undefined && api !== "") return `the IPFS node at ${api}`;
  return `the IPFS repo ${flags.ipfsRepo ?? env.FEDMARKET_IPFS_REPO ?? "(none)"}`;
}

async function initialWeightsFor(
  checked: { spec: ModelSpec; summary: ModelSummary; initialWeights?: Float32Array },
  initialModel: { file: string; bytes: Uint8Array } | undefined,
  seed: number | undefined,
): Promise<Float32Array> {
  const { spec, summary } = checked;
  // --pretrained: its trainable layers, already split off and checked by frozenSpecInputs.
  if (checked.initialWeights !== undefined) return checked.initialWeights;
  if (initialModel !== undefined) {
    try {
      return decodeWeights(initialModel.bytes, summary.parameters);
    } catch (err) {
      throw new UsageError(`--initial-model ${initialModel.file} does not fit the spec's model: ${(err as Error).message}`);
    }
  }
  // No weights given: the spec's architecture with seeded initial weights (TF.js, loaded only here).
  const { selectBackend, initialWeights } = await import("@fedmarket/ml");
  const backend = await selectBackend({ log: () => {} });
  return initialWeights(backend.tf, spec, seed ?? spec.seed ?? 1);
}

export function register(program: Command): void {
  const project = program
    .command("project")
    .description("the owner's project commands: create, fund, status, reference, cancel, expire, refund");

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
    .option(
      "--frozen-weights <file>",
      "the frozen layers' weights (.fmw; layers with \"trainable\": false, spec order): pinned, its CID inserted as the spec's frozenWeights",
    )
    .option(
      "--pretrained <file>",
      "the whole network's weights (.fmw; every layer as if none were frozen): split into the frozen part (pinned as with --frozen-weights) and the initial model; not with --initial-model or --frozen-weights",
    )
    .option("--seed <n>", "seed of the generated initial weights (default: the spec's seed, else 1)")
    .option(
      "--budget <amount>",
      "escrowed budget in ETH (or token units); default what the rounds reserve (reward-per-round x rounds without a decay); less is refused without --allow-underfunded",
      parseAmount,
    )
    .option("--allow-underfunded", "accept a --budget below what the rounds reserve (warns; fund the rest later)")
    .option("--reward-per-round <amount>", "reward of the first round, split by proven score (> 0)", parseAmount, "0.1")
    .option(
      "--reward-decay <ratio>",
      "each round's reward over the previous one's, in (0, 1], up to six decimals (1: equal rounds; see below)",
      "1",
    )
    .option("--rounds <n>", "number of rounds (>= 1)", parseCount, "3")
    .option("--max-trainers <n>", "trainer slots per round: 2f + 3 to the verifier's K_MAX (default: K_MAX)", parseCount)
    .option(
      "--byzantine-tolerance <f>",
      "tolerated Byzantine trainers f (a round needs 2f + 3 valid updates; default the largest f with 2f + 3 <= slots)",
      parseCount,
    )
    .option(
      "--submission-window <sec>",
      "commit window per round: drawn trainers lock sealed commitments (1 s to 365 days)",
      parseCount,
      "3600",
    )
    .option("--reveal-window <sec>", "reveal window after it: trainers reveal their updates (1 s to 365 days)", parseCount, "1800")
    .option(
      "--aggregation-window <sec>",
      "aggregation window per round (1 s to 365 days; refused below the round's proving time on one core, see below)",
      parseCount,
      "3600",
    )
    .option(
      "--allow-short-aggregation-window",
      "accept an --aggregation-window below the estimated proving time on one core (warns; the aggregator proves on more cores)",
    )
    .option("--bond <amount>", "aggregator bond (> 0, at least --slash)", parseAmount, "0.01")
    .option("--slash <amount>", "slashed from the bond per failed round (at most --bond)", parseAmount, "0.001")
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
    --ipfs-api http://127.0.0.1:5001 --out project.json

It prints D (the model's trainable parameters) and the proofs of a round: ceil(D / CHUNK) chunk proofs + 1 decision
proof, and their proving time on one core (a lower bound from bench/circuit.json). An --aggregation-window shorter
than that is refused (exit 1): the aggregator would be slashed for every round.

Training only a head: mark the backbone's layers "trainable": false in the spec and pass their weights with
--frozen-weights <file>, or pass the whole pretrained network with --pretrained <file>; the command pins the frozen
weights and writes their CID into the published spec (frozenWeights). D counts the trainable parameters only: the
frozen layers are not trained, committed or proven.

Reward schedule: round r reserves --reward-per-round x --reward-decay^r (rounded down at each round), fixed at creation.
A model gains most in its first rounds, and a decay pays those rounds more: docs/SCORING.md measured 0.5 over five
rounds (payouts track the trainers' contributions better, and a free rider copying the last rounds earns less).`,
    )
    .action(async (flags: CreateFlags, cmd: Command) => {
      let store;
      try {
        // What needs no chain first: the spec, the initial model, the numbers (exit 2 before anything is sent).
        checkFrozenFlags(flags);
        const rawSpec = await readJsonFile(flags.spec, "--spec");
        const frozenFiles = {
          ...(flags.frozenWeights === undefined
            ? {}
            : { frozenWeights: new Uint8Array(await readInputFile(flags.frozenWeights, "--frozen-weights")) }),
          ...(flags.pretrained === undefined ? {} : { pretrained: new Uint8Array(await readInputFile(flags.pretrained, "--pretrained")) }),
        };
        // The frozen layers' weights from a flag get their CID inserted into the spec before it is validated.
        const checked = await frozenSpecInputs(rawSpec, flags, frozenFiles);
        const specJson = checked.specJson;
        const initialModel =
          flags.initialModel === undefined
            ? undefined
            : { file: flags.initialModel, bytes: new Uint8Array(await readInputFile(flags.initialModel, "--initial-model")) };
        const numRounds = int(flags.rounds, "--rounds", 1, 2 ** 32 - 1) as number;
        const submissionWindow = int(flags.submissionWindow, "--submission-window", 1, MAX_WINDOW_SECONDS) as number;
        const revealWindow = int(flags.revealWindow, "--reveal-window", 1, MAX_WINDOW_SECONDS) as number;
        const aggregationWindow = int(flags.aggregationWindow, "--aggregation-window", 1, MAX_WINDOW_SECONDS) as number;
        const maxTrainers = int(flags.maxTrainers, "--max-trainers", 1);
        const f = int(flags.byzantineTolerance, "--byzantine-tolerance", 0, 255);
        const seed = int(flags.seed, "--seed", 0);
        const rewardDecayPpm = parseRewardDecay(flags.rewardDecay);
        // The round's proofs against the aggregation window (the verifier's K_MAX / CHUNK are checked against the spec's below).
        const proofs =
          checked.spec.circuit === undefined
            ? undefined
            : checkAggregationWindow({
                parameters: checked.summary.parameters,
                circuit: checked.spec.circuit,
                aggregationWindow,
                allowShort: flags.allowShortAggregationWindow === true,
              });
        const rpcUrl = rpcUrlOf(flags.rpcUrl);
        const { signer, chainId, provider } = await connectSigner(rpcUrl, flags.keystore);
        try {
          const client = new FedMarketClient(flags.market, signer);
          await client.checkNetwork();
          if (flags.aggregator.toLowerCase() === signer.address.toLowerCase())
            throw new UsageError(`--aggregator ${flags.aggregator} is the owner's own account: appoint another account as the aggregator`);
          const token = flags.token ?? ZeroAddress;
          const decimals = await decimalsOf(client, token, "--token");
          const unit = unitOf(token, decimals);
          const rewardPerRound = amountOf(flags.rewardPerRound, decimals, "--reward-per-round");
          const budget = flags.budget === undefined ? undefined : amountOf(flags.budget, decimals, "--budget");
          const aggregatorBond = amountOf(flags.bond, decimals, "--bond");
          const slashAmount = amountOf(flags.slash, decimals, "--slash");
          const trainerStake = amountOf(flags.stake, decimals, "--stake");
          const warnings = checkCreateAmounts({
            rewardPerRound,
            rewardDecayPpm,
            rounds: numRounds,
            budget,
            bond: aggregatorBond,
            slash: slashAmount,
            allowUnderfunded: flags.allowUnderfunded === true,
            unit,
          });
          let verifier: { maxTrainers: number; chunkSize: number };
          try {
            verifier = await client.verifierConfig(flags.verifier);
          } catch (err) {
            if (isUnreachable(err)) throw err;
            throw new UsageError(
              `--verifier ${flags.verifier} is not a round verifier on chain ${chainId} (maxTrainers()/chunkSize() failed)`,
            );
          }
          checkSpecAgainstVerifier(checked.spec, { address: flags.verifier, ...verifier }, flags.spec);
          checkTrainerSlots({ maxTrainers, byzantineTolerance: f, kMax: verifier.maxTrainers, verifier: flags.verifier });
          if (proofs !== undefined) process.stderr.write(`${proofs.summary}\n`);
          if (checked.summary.frozenParameters > 0)
            process.stderr.write(
              `frozen layers: ${checked.summary.frozenParameters} parameters in frozenWeights ${checked.spec.frozenWeights} (not trained, committed or proven)\n`,
            );
          for (const w of [...warnings, ...(proofs?.warning === undefined ? [] : [proofs.warning])]) process.stderr.write(`${w}\n`);
          const weights = await initialWeightsFor(checked, initialModel, seed);
          const key = await loadOrCreateX25519KeyFile(flags.ownerKeyFile).catch((err: NodeJS.ErrnoException) => {
            throw new UsageError(
              `--owner-key-file ${flags.ownerKeyFile}: ${err.code === "ENOENT" ? "its folder does not exist" : err.message}`,
            );
          });
          if (key.created)
            process.stderr.write(`created the owner's X25519 key in ${flags.ownerKeyFile} (keep it: it decrypts every update)\n`);
          store = await openBlobStore(flags);
          const opened = store;
          // A CID the spec names itself must be fetchable before anything is sent; one bounded retry, not the default backoff.
          if (checked.pinnedFrozenCid !== undefined)
            await checkPinnedFrozenWeights(checked, (cid) => opened.get(cid, { retries: 1, timeoutMs: 30_000 }), storeName(flags));
          const created = await createProject({
            signer,
            market: flags.market,
            verifier: flags.verifier,
            aggregator: flags.aggregator,
            store,
            specJson,
            initialWeights: weights,
            ...(checked.frozenWeights === undefined ? {} : { frozenWeights: checked.frozenWeights }),
            ownerPublicKey: key.publicKey,
            rewardPerRound,
            rewardDecayPpm,
            numRounds,
            submissionWindow,
            revealWindow,
            aggregationWindow,
            aggregatorBond,
            slashAmount,
            trainerStake,
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
            ...(created.frozenWeightsCid === undefined ? {} : { frozenWeightsCid: created.frozenWeightsCid }),
            ownerKeyFile: path.resolve(flags.ownerKeyFile),
            createdBlock: created.blockNumber,
          };
          await writeJson(flags.out, out);
          process.stdout.write(`${jsonText(out)}\n`);
          process.stderr.write(
            `project ${created.projectId} created (f = ${created.byzantineTolerance}, budget of ${formatAmount(created.budget, unit)} escrowed, tx ${created.txHash}); it starts when the aggregator runs \`fedmarket-aggregator accept --project ${created.projectId}\`\n`,
          );
        } finally {
          provider.destroy();
        }
      } catch (err) {
        fail(err, cmd);
      } finally {
        await store?.close();
      }
    });

  targetOptions(project.command("fund"), true)
    .description("add to a project's budget (anyone may fund a project)")
    .requiredOption("--amount <amount>", "amount in ETH (or token units)", parseAmount)
    .action(async (flags: Common & { amount: string }, cmd: Command) => {
      await withSignedClient(flags, cmd, async ({ client, t }) => {
        const p = await existingProject(client, t.projectId);
        const decimals = await decimalsOf(client, p.token, "the project's token");
        const amount = amountOf(flags.amount, decimals, "--amount");
        if (amount === 0n) throw new UsageError("--amount must be greater than 0");
        const receipt = await fundProject(client, t.projectId, p.token, amount);
        const after = await client.getProject(t.projectId);
        process.stdout.write(`${jsonText({ projectId: t.projectId, funded: flags.amount, budget: after.budget, txHash: receipt.hash })}\n`);
        const unit = unitOf(p.token, decimals);
        process.stderr.write(
          `funded project ${t.projectId} with ${formatAmount(amount, unit)}; its budget is now ${formatAmount(after.budget, unit)} (tx ${receipt.hash})\n`,
        );
      });
    });

  targetOptions(project.command("status"), false)
    .description("rounds (models, outliers, scores, payouts) and trainers' totals as tables")
    .option("--from-block <n>", "first block of the event scan (default: project.json's createdBlock, else 0)", parseCount)
    .option("--json", "print JSON instead of tables")
    .action(async (flags: Common & { json?: boolean }, cmd: Command) => {
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
        fail(err, cmd);
      }
    });

  targetOptions(project.command("reference"), true)
    .description(
      "the owner's reference direction for the open round (docs/PROOF-INTERFACE.md, \"The owner's reference\"): in the commit " +
        "window, compute it from your validation data at the round's model and commit to it; after the reveal window, pin and " +
        "publish it; if the aggregator flags it, answer with the values on chain. Does what is due now (or, with --watch, every " +
        "round until the project ends)",
    )
    .requiredOption(
      "--data <location>",
      "the owner's validation data (a folder or file, as `fedmarket-trainer run --data` takes); never shared. Use samples the " +
        "initial model was not trained on, labelled as the task should be: at a model fitted to these very samples the reference " +
        "is about zero, aligns no update, and the rule counts nobody",
    )
    .option("--label-column <name>", "label column of CSV/JSONL data (default: label)")
    .option("--state-dir <dir>", "where each round's opening (values and salt) is kept between commit and publish", "fedmarket-owner")
    .option("--watch", "keep going: commit and publish in every round until the project ends, riding out RPC and IPFS outages")
    .option("--ipfs-api <url>", "Kubo RPC API (env FEDMARKET_IPFS_API)")
    .option("--ipfs-repo <dir>", "embedded IPFS block folder (env FEDMARKET_IPFS_REPO)")
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  FEDMARKET_PRIVATE_KEY=0x... fedmarket project reference --project-file project.json --data data/owner-validation --ipfs-api http://127.0.0.1:5001\n" +
        "  FEDMARKET_PRIVATE_KEY=0x... fedmarket project reference --project-file project.json --data data/owner-validation --watch\n" +
        "Keep --state-dir: a committed reference can only be opened with the salt saved there.",
    )
    .action(
      async (
        flags: Common & { data: string; labelColumn?: string; stateDir: string; watch?: boolean; ipfsApi?: string; ipfsRepo?: string },
        cmd: Command,
      ) => {
        let store: Awaited<ReturnType<typeof openBlobStore>> | undefined;
        try {
          store = await openBlobStore(flags);
          const blobs = store;
          await withSignedClient(flags, cmd, async ({ client, t }) => {
            const { loadDataset } = await import("@fedmarket/ml");
            const options = {
              client,
              store: blobs,
              projectId: t.projectId,
              ...(t.fromBlock === undefined ? {} : { fromBlock: t.fromBlock }),
              stateDir: path.resolve(flags.stateDir),
              validation: (spec: ModelSpec) =>
                loadDataset(path.resolve(flags.data), {
                  inputShape: spec.inputShape,
                  labels: spec.labels,
                  ...(flags.labelColumn === undefined ? {} : { labelColumn: flags.labelColumn }),
                }),
              log: (line: string) => process.stderr.write(`${line}\n`),
            };
            for (;;) {
              let step: ReferenceStep;
              try {
                step = await referenceStep(options);
              } catch (err) {
                // A watch rides out outages, and a window that closed between reading the round and
                // sending (the next step reads the new state); anything else is for a person.
                const late = err instanceof MarketRevertError && REFERENCE_LATE.has(err.errorName);
                if (flags.watch !== true || !(isUnreachable(err) || err instanceof BlobStoreError || late)) throw err;
                process.stderr.write(`${(err as Error).message}; retrying in 15 s\n`);
                await sleep(15_000);
                continue;
              }
              process.stdout.write(`${jsonText({ projectId: t.projectId, ...step })}\n`);
              if (step.action !== "waiting") process.stderr.write(`${describeReferenceStep(step)}\n`);
              if (flags.watch !== true || (step.action === "waiting" && step.until === undefined)) {
                if (step.action === "waiting") process.stderr.write(`${step.reason}\n`);
                return;
              }
              // Chain time leads or lags the local clock; never sleep long past a deadline.
              const until = step.action === "waiting" ? step.until : undefined;
              const wait = until === undefined ? 0 : (until - (await client.chainTime())) * 1000;
              await sleep(Math.min(60_000, Math.max(2_000, wait)));
            }
          });
        } catch (err) {
          fail(err, cmd);
        } finally {
          await store?.close();
        }
      },
    );

  targetOptions(project.command("cancel"), true)
    .description(
      "cancel the project: the open round's reward goes to its submitters (with a quorum, the round runs to its end first); " +
        "the unspent budget is refunded pro rata: the owner's part is credited (withdraw it with `fedmarket withdraw`), " +
        "third-party funders claim theirs with `fedmarket project refund`",
    )
    .action(async (flags: Common, cmd: Command) => {
      await withSignedClient(flags, cmd, async ({ client, t }) => {
        const receipt = await cancelProject(client, t.projectId);
        const p = await client.getProject(t.projectId);
        process.stdout.write(
          `${jsonText({ projectId: t.projectId, status: p.statusName, cancelRequested: p.cancelRequested, txHash: receipt.hash })}\n`,
        );
        process.stderr.write(`${REFUND_HINT(t.projectId)}\n`);
      });
    });

  targetOptions(project.command("expire"), true)
    .description(
      "close a project whose aggregator never accepted within 7 days of its creation (expireProject; anyone may): " +
        "the budget is refunded as in a cancellation",
    )
    .addHelpText("after", "\nExample:\n  FEDMARKET_PRIVATE_KEY=0x... fedmarket project expire --market 0x5FbD... --project 3")
    .action(async (flags: Common, cmd: Command) => {
      await withSignedClient(flags, cmd, async ({ client, t }) => {
        const p = await existingProject(client, t.projectId);
        if (p.status !== ProjectStatus.AwaitingAggregator)
          throw new Error(
            `project ${t.projectId} is ${p.statusName}: only a project still awaiting its aggregator can expire` +
              (p.status === ProjectStatus.Active
                ? " (its aggregator accepted; the owner can end it with `fedmarket project cancel`)"
                : " (it has already ended)"),
          );
        const now = await client.chainTime();
        if (now < p.acceptanceDeadline)
          throw new Error(
            `project ${t.projectId} may wait for its aggregator until ${new Date(p.acceptanceDeadline * 1000).toISOString()} ` +
              `(chain time now ${new Date(now * 1000).toISOString()}): run this again after that; nothing was sent`,
          );
        const receipt = await client.wait(await client.expireProject(t.projectId));
        const after = await client.getProject(t.projectId);
        process.stdout.write(`${jsonText({ projectId: t.projectId, status: after.statusName, txHash: receipt.hash })}\n`);
        process.stderr.write(`project ${t.projectId} expired (tx ${receipt.hash}). ${REFUND_HINT(t.projectId)}\n`);
      });
    });

  targetOptions(project.command("refund"), true)
    .description(
      "a third-party funder's refund of an ended project (claimRefund): credits this account's pro-rata share of the unspent " +
        "budget; withdraw it with `fedmarket withdraw` (the owner's own part is credited without this)",
    )
    .addHelpText(
      "after",
      "\nExample:\n  FEDMARKET_PRIVATE_KEY=0x... fedmarket project refund --project-file project.json && fedmarket withdraw",
    )
    .action(async (flags: Common, cmd: Command) => {
      await withSignedClient(flags, cmd, async ({ client, t, signer }) => {
        const p = await existingProject(client, t.projectId);
        const unit = unitOf(p.token, await decimalsOf(client, p.token, "the project's token"));
        const funder = await client.getFunder(t.projectId, signer.address);
        if (funder.deposit === 0n)
          throw new Error(
            `${signer.address} has no deposit to refund in project ${t.projectId}: refunds are for third-party funders ` +
              "(`fedmarket project fund` from an account other than the owner's); the owner's part is credited when the project ends " +
              "(see `fedmarket balance`)",
          );
        if (p.status === ProjectStatus.AwaitingAggregator || p.status === ProjectStatus.Active)
          throw new Error(
            `project ${t.projectId} is ${p.statusName}${p.cancelRequested ? " (cancel requested)" : ""}: refunds open when it ends ` +
              `(completed, cancelled or expired); your deposit is ${formatAmount(funder.deposit, unit)}`,
          );
        const receipt = await client.wait(await client.claimRefund(t.projectId));
        process.stdout.write(
          `${jsonText({ projectId: t.projectId, funder: signer.address, deposit: funder.deposit, refunded: funder.refundable, txHash: receipt.hash })}\n`,
        );
        process.stderr.write(
          `credited ${formatAmount(funder.refundable, unit)} to ${signer.address} (refund of its ${formatAmount(funder.deposit, unit)} ` +
            `deposit in project ${t.projectId}, tx ${receipt.hash}); withdraw it with \`fedmarket withdraw${p.token === ZeroAddress ? "" : ` --token ${p.token}`}\`\n`,
        );
      });
    });
}

/** Runs a signed project command: the command's account, a client checked against the network, failures reported the CLI way. */
async function withSignedClient(
  flags: Common,
  cmd: Command,
  fn: (c: {
    client: FedMarketClient;
    t: Awaited<ReturnType<typeof target>>;
    signer: Awaited<ReturnType<typeof connectSigner>>["signer"];
  }) => Promise<void>,
): Promise<void> {
  try {
    const t = await target(flags);
    const { signer, provider } = await connectSigner(t.rpcUrl, flags.keystore);
    try {
      const client = new FedMarketClient(t.market, signer);
      await client.checkNetwork();
      await fn({ client, t, signer });
    } finally {
      provider.destroy();
    }
  } catch (err) {
    fail(err, cmd);
  }
}

/** Reverts of a reference step sent just as its window closed. */
const REFERENCE_LATE: ReadonlySet<string> = new Set([
  "SubmissionWindowClosed",
  "OutsideReferenceWindow",
  "AnswerWindowClosed",
  "WrongRound",
]);

function describeReferenceStep(step: Exclude<ReferenceStep, { action: "waiting" }>): string {
  return step.action === "committed"
    ? `round ${step.round}: committed the reference${step.loss === undefined ? " saved earlier" : ` (validation loss ${step.loss.toFixed(4)})`}, ` +
        `tx ${step.txHash}; publish it after the reveal window (run this again, or use --watch)`
    : step.action === "published"
      ? `round ${step.round}: published the reference at ${step.cid}, tx ${step.txHash}`
      : `round ${step.round}: the aggregator flagged the reference; answered it on chain in ${step.transactions} transaction(s), last tx ${step.txHash}`;
}

const REFUND_HINT = (id: bigint): string =>
  "The unspent budget is refunded pro rata: the owner's part is credited to its account (`fedmarket balance`, `fedmarket withdraw`); " +
  `third-party funders claim theirs with \`fedmarket project refund --project ${id}\`.`;

/** The project, or a usage error when there is none with that id on this marketplace. */
async function existingProject(client: FedMarketClient, projectId: bigint): Promise<ProjectInfo> {
  try {
    return await client.getProject(projectId);
  } catch (err) {
    if (err instanceof MarketRevertError && err.errorName === "UnknownProject")
      throw new UsageError(
        `project ${projectId} does not exist on the marketplace at ${client.address}: check --project, --market and the network`,
      );
    throw err;
  }
}
