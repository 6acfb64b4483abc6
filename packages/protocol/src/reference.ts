/**
 * The `fedmarket-reference/1` blob: the opening of an owner's reference commitment (core
 * `referenceCommitment`), pinned after the round's reveal window and announced on chain by
 * `publishReference`. JSON, every big number a decimal string; the values as one comma-separated
 * string of small integers, so a million-parameter reference stays a few megabytes of text.
 *
 * Who reads it: the aggregator (the round proofs absorb `v` and open the commitment) and the audit
 * (does it open the committed commitment?).
 */
import {
  checkReference,
  cipherChain,
  isFieldElement,
  packedLength,
  referenceCommitment,
  sealedCommitment,
  splitChunks,
  unpackLow,
  type CircuitConfig,
  type RoundReference,
} from "@fedmarket/core";
import type { ProjectInfo, RoundInfo } from "./chain/fedmarket.ts";

/** The format tag of a pinned reference. */
export const REFERENCE_FORMAT = "fedmarket-reference/1";

/** An owner's reference for one round of one project, and the salt of its commitment. */
export interface ReferenceBlob {
  readonly projectId: bigint;
  readonly round: number;
  /** `B`: the signed width of every value. */
  readonly bits: number;
  readonly salt: bigint;
  /** `v`, one value per trained parameter (`D`), each at `B` bits (core `checkReference`). */
  readonly values: readonly bigint[];
}

/** A reference blob that cannot be read, or does not open the commitment it is published for. */
export class ReferenceBlobError extends Error {
  constructor(message: string) {
    super(`reference blob: ${message}`);
    this.name = "ReferenceBlobError";
  }
}

/** The blob as pinned. */
export function encodeReference(r: ReferenceBlob): Uint8Array {
  const json = {
    format: REFERENCE_FORMAT,
    projectId: r.projectId.toString(),
    round: r.round,
    bits: r.bits,
    salt: r.salt.toString(),
    values: r.values.join(","),
  };
  return new TextEncoder().encode(`${JSON.stringify(json)}\n`);
}

/** Reads a pinned blob; throws a `ReferenceBlobError` that says what is wrong with it. */
export function decodeReference(bytes: Uint8Array): ReferenceBlob {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new ReferenceBlobError(`not JSON: ${(err as Error).message}`);
  }
  if (typeof json !== "object" || json === null) throw new ReferenceBlobError("not a JSON object");
  const o = json as Record<string, unknown>;
  if (o.format !== REFERENCE_FORMAT) throw new ReferenceBlobError(`format is ${String(o.format)}, not ${REFERENCE_FORMAT}`);
  const decimal = (v: unknown, what: string): bigint => {
    if (typeof v !== "string" || !/^[0-9]+$/.test(v)) throw new ReferenceBlobError(`${what} is not a decimal string`);
    return BigInt(v);
  };
  const count = (v: unknown, what: string, max: number): number => {
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0 || v > max) {
      throw new ReferenceBlobError(`${what} is not an integer in [0, ${max}]`);
    }
    return v;
  };
  const salt = decimal(o.salt, "salt");
  if (!isFieldElement(salt)) throw new ReferenceBlobError("salt is not a BN254 field element");
  if (typeof o.values !== "string") throw new ReferenceBlobError("values is not a comma-separated string");
  const values =
    o.values === ""
      ? []
      : o.values.split(",").map((x, i) => {
          if (!/^-?[0-9]{1,6}$/.test(x)) throw new ReferenceBlobError(`value ${i} (${x.slice(0, 20)}) is not a small integer`);
          return BigInt(x);
        });
  return {
    projectId: decimal(o.projectId, "projectId"),
    round: count(o.round, "round", 2 ** 32 - 1),
    bits: count(o.bits, "bits", 32),
    salt,
    values,
  };
}

/** What a published reference must match: its round on chain and the project's circuit. */
export interface ReferenceExpectation {
  readonly projectId: bigint;
  readonly round: number;
  /** The commitment on chain (`ReferenceCommitted`). */
  readonly commitment: bigint;
  /** The trained parameters `D`. */
  readonly modelSize: number;
  readonly circuit: CircuitConfig;
}

/**
 * Decodes a pinned reference and checks it against what the chain committed: the project and
 * round, `B`, one value per parameter at `B` bits, and the commitment. Returns the
 * blob; throws a `ReferenceBlobError` naming the first mismatch.
 */
export function openReference(bytes: Uint8Array, expected: ReferenceExpectation): ReferenceBlob {
  const r = decodeReference(bytes);
  if (r.projectId !== expected.projectId || r.round !== expected.round) {
    throw new ReferenceBlobError(
      `it is for project ${r.projectId} round ${r.round}, not project ${expected.projectId} round ${expected.round}`,
    );
  }
  if (r.bits !== expected.circuit.updateBits) {
    throw new ReferenceBlobError(`its values have ${r.bits} bits, the project's circuit B = ${expected.circuit.updateBits}`);
  }
  try {
    checkReference(r.values, expected.modelSize, expected.circuit);
  } catch (err) {
    throw new ReferenceBlobError((err as Error).message);
  }
  const commitment = referenceCommitment(r.values, r.salt, expected.circuit);
  if (commitment !== expected.commitment) {
    throw new ReferenceBlobError(`it opens commitment ${commitment}, not the committed ${expected.commitment}`);
  }
  return r;
}

/**
 * The end of `publishReference`'s window, chain time: `revealDeadline + aggregationWindow / 4`, as
 * FedMarketStorage `_referenceWindow` computes it. Chunk proofs wait for it while a committed
 * reference is unpublished (`ReferencePublicationOpen`).
 */
export function referencePublicationEnd(project: Pick<ProjectInfo, "aggregationWindow">, round: Pick<RoundInfo, "revealDeadline">): number {
  return round.revealDeadline + Math.floor(project.aggregationWindow / 4);
}

/**
 * The reference a flag's answer put on chain: the packed chunks of the owner's parts
 * (`ReferencePartAnswered`, in order) and of the answer (`ReferenceAnswered`, with the salt),
 * unpacked at `B` from each element's low bits (as the chunk proofs read them) and cut to the
 * model's `D` parameters. The contract checked that they open the commitment; this checks it
 * again, so that a lagging or wrong RPC endpoint cannot hand the prover another vector (a
 * `ReferenceBlobError` names the mismatch).
 */
export function answeredReference(
  parts: readonly { readonly firstChunk: number; readonly packed: readonly bigint[] }[],
  answer: { readonly firstChunk: number; readonly packed: readonly bigint[]; readonly salt: bigint },
  expected: ReferenceExpectation,
): RoundReference {
  const { circuit, modelSize } = expected;
  const width = packedLength(circuit.chunk, circuit.updateBits);
  const packed: bigint[] = [];
  for (const part of [...parts, answer]) {
    if (part.firstChunk * width !== packed.length) {
      throw new ReferenceBlobError(`an answer part starts at chunk ${part.firstChunk}, after ${packed.length / width} chunks`);
    }
    packed.push(...part.packed);
  }
  const chunks = Math.ceil(modelSize / circuit.chunk);
  if (packed.length !== chunks * width) throw new ReferenceBlobError(`the answer has ${packed.length} elements, not ${chunks * width}`);
  // The low bits of each element (core `unpackLow`), as the chunk proofs read them: the contract
  // bounds an answer's elements by 2^253, not by their packed width, so they may hold more.
  const values = splitChunks(packed, width)
    .flatMap((c) => unpackLow(c, circuit.updateBits, circuit.chunk))
    .slice(0, modelSize);
  const commitment = sealedCommitment(cipherChain(splitChunks(packed, width)), [answer.salt, 0n]);
  if (commitment !== expected.commitment) {
    throw new ReferenceBlobError(`the answer opens commitment ${commitment}, not the committed ${expected.commitment}`);
  }
  return { values, salt: answer.salt };
}
