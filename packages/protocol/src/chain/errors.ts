/**
 * Turns marketplace reverts (IFedMarket's custom errors) and RPC failures into messages that say
 * what happened and what to do.
 */
import { fedMarketInterface } from "./abi.ts";

/** A decoded revert of the marketplace contract. */
export class MarketRevertError extends Error {
  /** The custom error's name, e.g. `SubmissionWindowClosed`. */
  readonly errorName: string;
  readonly args: readonly unknown[];
  constructor(errorName: string, args: readonly unknown[], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MarketRevertError";
    this.errorName = errorName;
    this.args = args;
  }
}

/** The JSON-RPC endpoint is unreachable or keeps failing. */
export class RpcUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RpcUnavailableError";
  }
}

/** The endpoint is on another chain, or the address holds no marketplace. */
export class WrongNetworkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WrongNetworkError";
  }
}

const STATUS = ["None", "AwaitingAggregator", "Active", "Completed", "Cancelled"];

function time(ts: unknown): string {
  const n = Number(ts);
  return Number.isFinite(n) ? `${new Date(n * 1000).toISOString()} (${n})` : String(ts);
}

/** A human sentence (with a hint) for a marketplace custom error. */
export function describeMarketError(name: string, args: readonly unknown[]): string {
  const a = (i: number): string => String(args[i]);
  switch (name) {
    case "UnknownProject":
      return `project ${a(0)} does not exist on this marketplace (check --project, --market and the network)`;
    case "NotRegistered":
      return `${a(1)} is not registered in project ${a(0)}: run \`fedmarket-trainer join\` first`;
    case "AlreadyRegistered":
      return `${a(1)} is already registered in project ${a(0)}`;
    case "NotAllowlisted":
      return `${a(1)} is not on project ${a(0)}'s allowlist: ask the owner for a Merkle proof (--allowlist-proof)`;
    case "WrongEthAmount":
      return `wrong ETH amount: the call needs ${a(0)} wei, ${a(1)} were sent`;
    case "WrongRound":
      return `round ${a(2)} is not the open round of project ${a(0)} (open round: ${a(1)}); the update was trained for a round that has ended`;
    case "SubmissionWindowClosed":
      return `the submission window of round ${a(1)} of project ${a(0)} closed at ${time(args[2])}; wait for the next round (\`fedmarket-trainer run\` does)`;
    case "AlreadySubmitted":
      return `${a(2)} already submitted an update for round ${a(1)} of project ${a(0)}`;
    case "RoundFull":
      return `all ${a(2)} trainer slots of round ${a(1)} of project ${a(0)} are taken; try again next round`;
    case "InvalidCommitment":
      return `commitment ${a(0)} is zero or not a BN254 field element`;
    case "InvalidCid":
      return "the CID is empty or longer than 128 bytes";
    case "HyperParamOutOfBounds":
      return `hyper-parameter ${a(0)} = ${a(1)} is outside the project's bounds [${a(2)}, ${a(3)}]; choose a value within them`;
    case "InvalidConfig":
      return `invalid project configuration: ${a(0)} is out of its allowed range`;
    case "WrongProjectStatus":
      return `project ${a(0)} is ${STATUS[Number(args[1])] ?? a(1)}, which does not allow this call`;
    case "ProjectCancelling":
      return `project ${a(0)} is being cancelled by its owner: no new submissions`;
    case "NothingToWithdraw":
      return `${a(1)} has nothing to withdraw in ${a(0) === "0x0000000000000000000000000000000000000000" ? "ETH" : a(0)}`;
    case "NoStakeToRelease":
      return `no stake to release for ${a(1)} in project ${a(0)} (none deposited, already released, or the project has not ended)`;
    case "InsufficientDeposit":
      return `insufficient deposit: ${a(0)} required, ${a(1)} received`;
    case "AggregatorIsOwner":
      return `${a(0)} owns the project and cannot also be its aggregator: appoint another account`;
    case "AppointmentTermsChanged":
      return `the appointment of project ${a(0)} now asks for bond ${a(1)} and slash amount ${a(2)}, not the terms accepted; check them and accept again if they suit you`;
    case "InvalidSealKey":
      return "the seal key is not a BabyJubJub public key (both coordinates below the BN254 field, on the curve, not the identity): pass the public key A = a * Base8 of the aggregator's seal secret";
    case "AcceptanceWindowOpen":
      return `project ${a(0)} may still wait for its aggregator until ${time(args[1])}; it can be expired after that`;
    case "NothingToRefund":
      return `${a(1)} has no unrefunded deposit in project ${a(0)}, or the project has not ended yet`;
    case "InvalidChunkProofs":
      return `the ${a(1)} chunk proofs from chunk ${a(0)} on do not all verify (the market checks them as one batch, which cannot name the bad one): check each with the verifier's verifyChunk, re-prove those it rejects with the keys of the project's verifier, and resubmit from chunk ${a(0)}, or from chunk 0 if the first proof does not continue the stored accumulator`;
    // The owner's reference (commitReference, publishReference).
    case "ReferenceAlreadyCommitted":
      return `the owner already committed a reference for round ${a(1)} of project ${a(0)}; it cannot be changed (publish that one after the reveal window)`;
    case "ReferenceNotCommitted":
      return `no reference was committed for round ${a(1)} of project ${a(0)}: there is nothing to publish (commit one in the next round's commit window)`;
    case "ReferenceDepositUnavailable":
      return `committing a reference for round ${a(1)} of project ${a(0)} takes the round's reward (${a(3)}) from the budget as a deposit, but the budget holds ${a(2)}: fund the project first (fedmarket project fund)`;
    case "ReferenceAlreadyPublished":
      return `the reference of round ${a(1)} of project ${a(0)} is already published; nothing to do`;
    case "OutsideReferenceWindow":
      return `a reference of round ${a(1)} of project ${a(0)} is published from ${time(args[2])} (the end of the reveal window) until ${time(args[3])} (a quarter into the aggregation window)`;
    case "ReferenceNotPublished":
      return `the reference of round ${a(1)} of project ${a(0)} is not published: there is nothing to flag`;
    case "ReferenceAlreadyFlagged":
      return `the reference of round ${a(1)} of project ${a(0)} is already flagged; nothing to do`;
    case "ReferenceNotFlagged":
      return `the reference of round ${a(1)} of project ${a(0)} is not flagged, or was already answered: there is nothing to answer`;
    case "PublishedReferenceMismatch":
      return `the values and salt do not open the reference committed for round ${a(1)} of project ${a(0)}: answer with the opening saved when it was committed (fedmarket project reference --state-dir)`;
    // "Not available" flags and their answers (flagUnavailable, publishUpdate).
    case "FlaggingClosed":
      return `the flagging window of round ${a(1)} of project ${a(0)} has closed (flags are taken only in the first half of the aggregation window, before any chunk proof): a slot not flagged by then cannot be left out, and a round whose updates cannot all be decrypted cannot be proven; it will fail`;
    case "ChunkProofsStarted":
      return `chunk proofs of round ${a(1)} of project ${a(0)} were already submitted: slots can no longer be flagged this round`;
    case "InvalidSlotMask":
      return `the slot mask ${a(0)} is empty or names a slot beyond the round's trainer slots: flag only revealed slots of this round`;
    case "NotRevealed":
      return `slot ${a(2)} of round ${a(1)} of project ${a(0)} holds no revealed update: only revealed slots can be flagged`;
    case "AlreadyFlagged":
      return `slot ${a(2)} of round ${a(1)} of project ${a(0)} is already flagged this round; nothing to do`;
    case "NotFlagged":
      return `slot ${a(2)} of round ${a(1)} of project ${a(0)} is not flagged, or was already answered: there is nothing to publish (read unavailableFlags)`;
    case "AnswerWindowClosed":
      return `the answer window of round ${a(1)} of project ${a(0)} closed at ${time(args[2])}: the flagged update can no longer be published and its slot counts as empty`;
    case "AnswerWindowOpen":
      return `flagged slots of round ${a(1)} of project ${a(0)} may be answered until ${time(args[2])}: chunk proofs are taken after that; wait for the answer deadline`;
    case "ReferencePublicationOpen":
      return `the owner's reference of round ${a(1)} of project ${a(0)} is committed and may be published until ${time(args[2])}: chunk proofs are taken after that (at once if it is published sooner); wait for its publication`;
    case "WrongCipherLength":
      return `the published ciphertext has ${a(1)} elements, the project needs ${a(0)} (numChunks x the verifier's cipherWidth): publish the sealed update exactly as pinned`;
    case "NonCanonicalElement":
      return `published element ${a(0)} is not below the BN254 field modulus: publish the sealed update exactly as pinned`;
    case "OwnerWrapTooLong":
      return `the owner wrap is ${a(0)} bytes, longer than 1,024: publish the wrap of the sealed update as pinned (an FMEV envelope of a 32-byte secret)`;
    case "NotSlotTrainer":
      return `only the trainer of slot ${a(2)} of round ${a(1)} of project ${a(0)} publishes its update in parts; anyone may send the whole update in one publishUpdate`;
    case "WrongPartLength":
      return `a part of ${a(0)} elements is not a non-empty whole number of chunks of ${a(1)} elements within the ${a(2)} chunk(s) not yet published: send the next whole chunks`;
    case "PublishedUpdateMismatch":
      return `the published data does not open the commitment revealed in slot ${a(2)} of round ${a(1)} of project ${a(0)}: only the sealed update that was committed can answer its flag`;
    default:
      return `${name}(${args.map(String).join(", ")})`;
  }
}

interface EthersLikeError {
  code?: unknown;
  revert?: { name?: unknown; args?: unknown } | null;
  shortMessage?: unknown;
  message?: unknown;
  data?: unknown;
}

/**
 * The marketplace revert carried by an ethers error: decoded by ethers (calls), or decoded here
 * from the raw revert data (ethers leaves `estimateGas` reverts undecoded).
 */
export function decodedRevert(err: unknown): { name: string; args: readonly unknown[] } | undefined {
  const e = err as EthersLikeError | null;
  if (e === null || typeof e !== "object") return undefined;
  const revert = e.revert;
  if (revert && typeof revert.name === "string") {
    return { name: revert.name, args: Array.isArray(revert.args) ? revert.args : Array.from((revert.args as Iterable<unknown>) ?? []) };
  }
  if (typeof e.data === "string" && /^0x[0-9a-fA-F]{8}/.test(e.data)) {
    const parsed = (() => {
      try {
        return fedMarketInterface.parseError(e.data as string);
      } catch {
        return null;
      }
    })();
    if (parsed !== null) return { name: parsed.name, args: Array.from(parsed.args) };
  }
  return undefined;
}

/** Wraps an ethers error into `MarketRevertError` when it is a decoded revert; else returns it. */
export function toMarketError(err: unknown, action: string): unknown {
  const revert = decodedRevert(err);
  if (revert !== undefined) {
    return new MarketRevertError(revert.name, revert.args, `${action} failed: ${describeMarketError(revert.name, revert.args)}`, {
      cause: err,
    });
  }
  return err;
}
