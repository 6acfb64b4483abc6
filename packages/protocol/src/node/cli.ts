/**
 * What every fedmarket command line (`fedmarket`, `fedmarket-trainer`, `fedmarket-aggregator`)
 * does the same way: `--version` prints `<bin> <version>`; an argument error prints
 * `error: <what is wrong>`, one usage line and where the details are (not the whole help); and one
 * set of exit codes. Commander is each CLI's own dependency, so a command is seen here only through
 * the few members these helpers use (`CliCommand`, which commander's `Command` satisfies).
 */
import { readFileSync } from "node:fs";
import { RpcUnavailableError, WrongNetworkError } from "../chain/errors.ts";
import { reportFailure, type NodeLogger } from "./log.ts";

/** Exit codes of every fedmarket CLI. */
export const EXIT_OK = 0;
/** The operation failed: a transaction reverted, an audit found failures, a round could not be done. */
export const EXIT_FAILED = 1;
/** The command could not run: bad arguments, missing files, an unreachable RPC or IPFS before anything happened. */
export const EXIT_CANNOT_RUN = 2;

/** The exit-code paragraph of every CLI's `--help`. */
export const EXIT_CODES_HELP =
  "Exit codes: 0 done; 1 the operation failed (e.g. a transaction reverted, an audit found failures); " +
  "2 could not run (bad arguments, missing files, an unreachable RPC or IPFS before anything happened).";

/** The members of a commander `Command` the conventions use. */
export interface CliCommand {
  readonly commands: readonly CliCommand[];
  readonly options: readonly { readonly flags: string; readonly long?: string | undefined; readonly mandatory: boolean }[];
  readonly registeredArguments: readonly { readonly required: boolean; readonly variadic: boolean; name(): string }[];
  readonly parent: CliCommand | null;
  name(): string;
  showHelpAfterError(displayHelp: string): unknown;
  exitOverride(callback: (err: { readonly exitCode: number }) => void): unknown;
  version(str: string, flags?: string, description?: string): unknown;
}

/** `fedmarket project create`: the command's name with its parents'. */
export function commandPath(cmd: CliCommand): string {
  const names: string[] = [];
  for (let c: CliCommand | null = cmd; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/** One line: the command, its required options and arguments, then `[options]` (or `<command>` for a group). */
export function usageLine(cmd: CliCommand): string {
  const parts = [commandPath(cmd)];
  if (cmd.commands.length > 0) return `usage: ${parts[0]} <command> [options]`;
  for (const o of cmd.options) {
    if (!o.mandatory) continue;
    const arg = o.flags.match(/[<[].*[>\]]/)?.[0];
    parts.push(arg === undefined ? (o.long ?? o.flags) : `${o.long ?? o.flags} ${arg}`);
  }
  for (const a of cmd.registeredArguments) {
    const name = `${a.name()}${a.variadic ? "..." : ""}`;
    parts.push(a.required ? `<${name}>` : `[${name}]`);
  }
  if (cmd.options.some((o) => !o.mandatory)) parts.push("[options]");
  return `usage: ${parts.join(" ")}`;
}

/** What follows `error: ...` on an argument error: the usage line and where the details are. */
export function usageHint(cmd: CliCommand): string {
  return `${usageLine(cmd)}\nrun '${commandPath(cmd)} --help' for details`;
}

/** The `version` field of a package.json (`new URL("../package.json", import.meta.url)`). */
export function packageVersion(packageJson: URL): string {
  const { version } = JSON.parse(readFileSync(packageJson, "utf8")) as { version?: unknown };
  return typeof version === "string" ? version : "unknown";
}

function visit(cmd: CliCommand, fn: (c: CliCommand) => void): void {
  fn(cmd);
  for (const c of cmd.commands) visit(c, fn);
}

/**
 * Call once every command is registered: `-V, --version` on `program`, the short usage after an
 * argument error on every command, and exit code 2 for every argument error (0 for `--help` and
 * `--version`). `exit` is for tests (default `process.exit`).
 */
export function applyCliConventions(program: CliCommand, o: { readonly version: string; readonly exit?: (code: number) => void }): void {
  program.version(`${program.name()} ${o.version}`, "-V, --version", "print the version and exit");
  const exit = o.exit ?? ((code: number) => process.exit(code));
  visit(program, (c) => {
    c.showHelpAfterError(usageHint(c));
    c.exitOverride((err) => exit(err.exitCode === 0 ? EXIT_OK : EXIT_CANNOT_RUN));
  });
}

/** The chain endpoint cannot be reached, or is not the expected network / marketplace. */
export function isUnreachable(err: unknown): boolean {
  return err instanceof RpcUnavailableError || err instanceof WrongNetworkError;
}

/**
 * How a node CLI ends on an error. A command that could not run (exit 2) prints `error: <message>`
 * to stderr, then `usage` (the usage hint, when the arguments are to blame); under `--json`, and for
 * a failed operation, the error goes through `reportFailure` (a log line, a JSON line with --json).
 */
export function reportCliFailure(
  logger: NodeLogger,
  err: unknown,
  o: { readonly exitCode: number; readonly json: boolean; readonly usage?: string | undefined },
): void {
  if (o.exitCode !== EXIT_CANNOT_RUN || o.json) {
    reportFailure(logger, err, o.exitCode);
    return;
  }
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  if (o.usage !== undefined) process.stderr.write(`${o.usage}\n`);
  if (process.env.FEDMARKET_DEBUG) console.error(err);
  process.exitCode = o.exitCode;
}
