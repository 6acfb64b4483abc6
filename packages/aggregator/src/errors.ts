/**
 * The aggregator's one error class. Every failure the node can explain carries a stable code (what
 * the CLI and the tests branch on) and a message that says what to do; the class is the node
 * runtime's `NodeError<Code>` narrowed to the aggregator's codes, so a misspelt code does not compile.
 */
import { NodeError } from "@fedmarket/protocol";

/** What an `AggregatorError` is about: the CLI and tests branch on it, the message says what to do. */
export type AggregatorErrorCode =
  | "config"
  | "usage"
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
