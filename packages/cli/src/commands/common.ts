/**
 * What every `fedmarket` owner command shares: option parsing helpers, input files read with
 * messages that name the flag, JSON output with bigints, contract reverts explained, and one way to
 * end on an error (exit 2 for usage, missing files and unreachable endpoints, 1 otherwise).
 */
import { readFile, writeFile } from "node:fs/promises";
import { InvalidArgumentError } from "commander";
import { isAddress } from "ethers";
import {
  describeMarketError,
  EXIT_CANNOT_RUN,
  EXIT_FAILED,
  isUnreachable,
  MarketRevertError,
  usageHint,
  type CliCommand,
} from "@fedmarket/protocol";
import { UsageError } from "../owner/connect.ts";
import { formatAmount } from "../owner/amount.ts";

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

/**
 * The bytes of an input file given with `flag`; a missing or unreadable file is a usage error
 * naming the flag and the file (exit 2), not a raw ENOENT.
 */
export async function readInputFile(file: string, flag: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "no such file"
        : code === "EISDIR"
          ? "it is a folder, not a file"
          : code === "EACCES"
            ? "permission denied"
            : (err as Error).message;
    throw new UsageError(`${flag} ${file}: cannot read it (${why}); check the path`);
  }
}

/** An input JSON file given with `flag`: missing, unreadable or invalid JSON is a usage error naming both. */
export async function readJsonFile(file: string, flag: string): Promise<unknown> {
  const text = (await readInputFile(file, flag)).toString("utf8");
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(`${flag} ${file} is not valid JSON: ${(err as Error).message}`);
  }
}

/** The flag behind each `InvalidConfig(field)` of `createProject`, and its rule. */
const CONFIG_FIELDS: Readonly<Record<string, string>> = {
  token: "--token: not a contract on this chain (pass an ERC-20 address, or leave it out for ETH)",
  aggregator: "--aggregator: the zero address cannot be the aggregator",
  verifier: "--verifier: not a round verifier (no code, or a K_MAX / input count the marketplace does not support)",
  numRounds: "--rounds: must be at least 1",
  rewardDecayPpm: "--reward-decay: must be above 0 and at most 1 (1,000,000 millionths)",
  submissionWindow: "--submission-window: must be 1 second to 365 days",
  revealWindow: "--reveal-window: must be 1 second to 365 days",
  aggregationWindow: "--aggregation-window: must be 1 second to 365 days",
  slashAmount: "--slash: the slash per failed round cannot exceed --bond",
  trainerStake: "--stake: too large (at most 2^128 - 1 base units)",
  maxTrainersPerRound:
    "--max-trainers: must be at least 2 x --byzantine-tolerance + 3 (the consensus rule's quorum) and at most the verifier's K_MAX",
  modelSize: "--spec: the model has no parameters",
  initialModelCommitment: "--initial-model: its commitment is not a BN254 field element",
  minHyperParams: "--spec: training.bounds must have a learning rate, epochs and batch size above 0",
  maxHyperParams: "--spec: training.bounds has a minimum above its maximum",
};

/**
 * A sentence that says what a marketplace revert means for the operator and what to do, for the
 * errors the chain client's messages leave as `Name(args)` or word for the contract rather than for
 * the flags; undefined when the chain client's own message says it.
 */
export function explainRevert(name: string, args: readonly unknown[]): string | undefined {
  const a = (i: number): string => String(args[i]);
  switch (name) {
    case "NotProjectOwner":
      return `${a(1)} is not the owner of project ${a(0)}: only the account that created the project may do this; sign with the owner's key (FEDMARKET_PRIVATE_KEY or --keystore)`;
    case "NotAggregator":
      return `${a(1)} is not the aggregator of project ${a(0)}: only the appointed aggregator may do this; use its key`;
    case "InvalidConfig": {
      const rule = CONFIG_FIELDS[a(0)];
      return rule === undefined ? undefined : `the contract refused the project's ${a(0)}: ${rule}`;
    }
    case "EthTransferFailed":
      return `the marketplace could not send ${formatAmount(BigInt(a(1)))} to ${a(0)}: that account does not accept ETH (a contract without a payable receive function); nothing was paid and the credit is kept`;
    case "SafeERC20FailedOperation":
      return `the ERC-20 token ${a(0)} refused the transfer: check the balance and the allowance given to the marketplace`;
    case "ReentrancyGuardReentrantCall":
      return "the marketplace refused a re-entrant call (a token or receiver called back into it)";
    default:
      return undefined;
  }
}

/** The message of a failure, with a marketplace revert explained (`explainRevert`). */
export function messageOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err instanceof MarketRevertError) {
    const better = explainRevert(err.errorName, err.args);
    if (better !== undefined) {
      const raw = describeMarketError(err.errorName, err.args);
      return err.message.includes(raw) ? err.message.replace(raw, better) : `${err.message}: ${better}`;
    }
  }
  return err.message;
}

/**
 * Exit code of a failed command: 2 = could not run (arguments, files, an unreachable or wrong
 * network, a project id that does not exist), 1 = the operation failed.
 */
export function exitCodeOf(err: unknown): number {
  const unknownProject = err instanceof MarketRevertError && err.errorName === "UnknownProject";
  return err instanceof UsageError || isUnreachable(err) || unknownProject ? EXIT_CANNOT_RUN : EXIT_FAILED;
}

/**
 * Prints `error: <message>` (the stack too with FEDMARKET_DEBUG) and sets the exit code; a usage
 * error of `cmd` is followed by its usage line and where the details are.
 */
export function fail(err: unknown, cmd?: CliCommand): void {
  process.stderr.write(`error: ${messageOf(err)}\n`);
  if (err instanceof UsageError && cmd !== undefined) process.stderr.write(`${usageHint(cmd)}\n`);
  if (process.env.FEDMARKET_DEBUG) console.error(err);
  process.exitCode = exitCodeOf(err);
}
