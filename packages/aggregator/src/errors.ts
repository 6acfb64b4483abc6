/**
 * The aggregator's one error class. Every failure the node can explain carries a stable code (what
 * the CLI and the tests branch on) and a message that says what to do; the class is the node
 * runtime's `NodeError<Code>` narrowed to the aggregator's codes, so a misspelt code does not compile.
 */
import { EXIT_CANNOT_RUN, EXIT_FAILED, isUnreachable, NodeError } from "@fedmarket/protocol";

/** What an `AggregatorError` is about: the CLI and tests branch on it, the message says what to do. */
export type AggregatorErrorCode =
  | "config"
  | "usage"
  /** The circuits' proving artifacts are not prepared (`fedmarket-aggregator setup` makes them). */
  | "artifacts"
  | "state"
  | "unknown-project"
  | "not-aggregator"
  | "verifier"
  | "ipfs"
  | "events"
  | "model"
  | "ctx"
  | "proof"
  | "round"
  | "internal";

/** A clear, actionable failure of the aggregator (the CLI prints `message`). */
export class AggregatorError extends NodeError<AggregatorErrorCode> {}

/** The codes that mean "the command could not run" (exit 2): arguments, configuration, missing artifacts. */
const CANNOT_RUN: readonly AggregatorErrorCode[] = ["usage", "config", "artifacts"];

/**
 * The CLI's exit code for an error (protocol's node/cli.ts): 2 when the command could not run
 * (arguments, configuration, keys, unprepared circuits, or the network before the node started),
 * else 1 (the operation failed).
 */
export function exitCodeOf(err: unknown, started: boolean): number {
  if (err instanceof AggregatorError && CANNOT_RUN.includes(err.code)) return EXIT_CANNOT_RUN;
  return !started && isUnreachable(err) ? EXIT_CANNOT_RUN : EXIT_FAILED;
}
