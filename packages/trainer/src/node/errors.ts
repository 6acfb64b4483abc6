/** The trainer node's typed failures. */
import { NodeError } from "@fedmarket/protocol";

/** What a `TrainerNodeError` is about: the CLI and tests branch on it, the message says what to do. */
export type TrainerErrorCode =
  | "unknown-project"
  | "project-ended"
  | "not-registered"
  | "insufficient-funds"
  | "window-closed"
  | "revert"
  | "pending"
  | "ipfs"
  | "spec"
  | "model-mismatch"
  | "no-key"
  | "no-data"
  | "bad-data"
  | "non-finite";

/** A clear, actionable failure of the node (the CLI prints `message` and exits 1). */
export class TrainerNodeError extends NodeError<TrainerErrorCode> {}
