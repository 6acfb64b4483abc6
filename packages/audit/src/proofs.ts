/**
 * Re-verifying a finalized round's proofs from chain data alone (an optimistic round's chunk proofs
 * from the bundle its aggregator pinned, checked against the committed Merkle root).
 *
 * The proofs are in the calldata of the round's `submitChunkProofs` / `finalizeRound`
 * transactions (found through the `ChunkProofsAccepted` / `RoundFinalized` events). The public
 * inputs are rebuilt the way FedMarket builds them (docs/PROOF-INTERFACE.md): each chunk proof
 * continues the accumulator (or restarts it at chunk 0); the decision proof gets
 * `[ctx, prevModel, newModel, accFinal, A.x, A.y, reference, c[0..K), outcomes]` with `ctx`
 * recomputed from the chain id, market, project, round and `paramsHash`, `prevModel` from the
 * round's `RoundOpened`, the seal key `A` its aggregator registered (`AggregatorAccepted`; facts.ts
 * `roundSealKey`), the owner's reference commitment from its `ReferenceCommitted` event when the
 * reference counts (published, and not flagged or answered: protocol `decisionReference`; else 0),
 * and the commitments from its `UpdateRevealed` events, 0 for a slot flagged as not available
 * (`UpdateFlagged`) that no `UpdatePublished` answered. Every proof is checked
 * twice: with snarkjs against the published verification key, and with a static call to the
 * project's verifier.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { Contract, type Provider } from "ethers";
import * as snarkjs from "snarkjs";
import { computeCtx, unpackOutcome, type CircuitConfig, type SlotOutcome } from "@fedmarket/core";
import {
  ChunkAccumulatorTree,
  decisionReference,
  decodeProofBundle,
  fedMarketInterface,
  proofFromWords,
  type ChunksCommittedRecord,
  type ProofBundle,
  ROUND_VERIFIER_ABI,
  unansweredSlots,
  type RoundHistory,
  type SealKey,
} from "@fedmarket/protocol";
import { circuitNames } from "@fedmarket/core";
import { roundKeccak } from "@fedmarket/protocol";

/** A Groth16 proof as the contract takes it (`uint256[8]`, snarkjs's `b` coordinates swapped). */
export type ProofWords = readonly bigint[];

export interface VerificationKeys {
  readonly chunk: snarkjs.VerificationKey;
  readonly decision: snarkjs.VerificationKey;
  readonly chunkFile: string;
  readonly decisionFile: string;
}

/**
 * The published verification keys of a circuit configuration in `dir`: the names the Solidity
 * generator writes (`ChunkVerifier_<suffix>.vkey.json`) or a ceremony folder's (`chunk_<suffix>.vkey.json`).
 */
export function loadVerificationKeys(dir: string, circuit: CircuitConfig): VerificationKeys {
  const names = circuitNames(circuit);
  const find = (circuitName: string, contractPrefix: string): string => {
    const suffix = circuitName.replace(/^(chunk|decision)_/, "");
    const candidates = [path.join(dir, `${contractPrefix}_${suffix}.vkey.json`), path.join(dir, `${circuitName}.vkey.json`)];
    const found = candidates.find((f) => existsSync(f));
    if (found === undefined)
      throw new Error(
        `no published verification key for ${circuitName} in ${dir} (looked for ${candidates.map((c) => path.basename(c)).join(" or ")}); pass --vkey-dir`,
      );
    return found;
  };
  const chunkFile = find(names.chunk, "ChunkVerifier");
  const decisionFile = find(names.decision, "DecisionVerifier");
  const read = (f: string): snarkjs.VerificationKey => JSON.parse(readFileSync(f, "utf8")) as snarkjs.VerificationKey;
  return { chunk: read(chunkFile), decision: read(decisionFile), chunkFile, decisionFile };
}

interface ChunkProofCall {
  readonly proof: ProofWords;
  readonly accOut: bigint;
}
interface DecodedCall {
  readonly name: "submitChunkProofs" | "finalizeRound" | "finalizeRoundOptimistic";
  readonly projectId: bigint;
  readonly round: number;
  readonly firstChunk: number;
  readonly chunkProofs: readonly ChunkProofCall[];
  readonly result?: {
    readonly newModelCommitment: bigint;
    readonly outcomes: readonly bigint[];
    readonly proof: ProofWords;
    readonly newModelCid: string;
  };
}

function toChunkProofs(v: unknown): ChunkProofCall[] {
  return Array.from(v as ArrayLike<{ proof: ArrayLike<bigint>; accOut: bigint }>).map((p) => ({
    proof: Array.from(p.proof, BigInt),
    accOut: BigInt(p.accOut),
  }));
}

/** Decodes a round transaction's calldata (it must call the marketplace directly). */
export async function decodeRoundCall(provider: Provider, market: string, txHash: string): Promise<DecodedCall> {
  const tx = await provider.getTransaction(txHash);
  if (tx === null) throw new Error(`transaction ${txHash} not found on this node`);
  if (tx.to === null || tx.to.toLowerCase() !== market.toLowerCase()) {
    throw new Error(`transaction ${txHash} calls ${tx.to ?? "no contract"}, not the marketplace: its proofs cannot be read from calldata`);
  }
  const parsed = fedMarketInterface.parseTransaction({ data: tx.data, value: tx.value });
  if (parsed === null || !["submitChunkProofs", "finalizeRound", "finalizeRoundOptimistic"].includes(parsed.name)) {
    throw new Error(`transaction ${txHash} is ${parsed?.name ?? "not a FedMarket call"}, not submitChunkProofs/finalizeRound(Optimistic)`);
  }
  const decision = (v: unknown): NonNullable<DecodedCall["result"]> => {
    const r = v as { newModelCommitment: bigint; outcomes: ArrayLike<bigint>; proof: ArrayLike<bigint>; newModelCid: string };
    return {
      newModelCommitment: BigInt(r.newModelCommitment),
      outcomes: Array.from(r.outcomes, BigInt),
      proof: Array.from(r.proof, BigInt),
      newModelCid: String(r.newModelCid),
    };
  };
  // finalizeRoundOptimistic(projectId, round, accFinal, chunkRoot, proofsCid, result): no chunk proof in calldata.
  if (parsed.name === "finalizeRoundOptimistic") {
    return {
      name: "finalizeRoundOptimistic",
      projectId: BigInt(parsed.args[0] as bigint),
      round: Number(parsed.args[1] as bigint),
      firstChunk: 0,
      chunkProofs: [],
      result: decision(parsed.args[5]),
    };
  }
  const base = {
    projectId: BigInt(parsed.args[0] as bigint),
    round: Number(parsed.args[1] as bigint),
    firstChunk: Number(parsed.args[2] as bigint),
    chunkProofs: toChunkProofs(parsed.args[3]),
  };
  if (parsed.name === "submitChunkProofs") return { name: "submitChunkProofs", ...base };
  return { name: "finalizeRound", ...base, result: decision(parsed.args[4]) };
}

export interface RoundProofCheck {
  readonly chunkProofs: number;
  readonly outcomes: SlotOutcome[];
  readonly decisionInputs: bigint[];
  readonly failures: string[];
}

export interface RoundProofContext {
  readonly provider: Provider;
  readonly market: string;
  readonly chainId: bigint;
  readonly projectId: bigint;
  readonly paramsHash: string;
  readonly byzantineTolerance: number;
  /** The model size `D` (the project's `modelSize`; `ctx` carries it). */
  readonly modelSize: number;
  readonly numChunks: number;
  readonly kMax: number;
  readonly verifier: string;
  /** The seal key the round was proven for (`undefined`: the history read does not say). */
  readonly sealKey: SealKey | undefined;
  /** The published keys; without them only the on-chain verifier is asked (the caller reports their absence). */
  readonly keys?: VerificationKeys;
  /** An optimistic round's pinned proof bundle, by CID (IFedMarketOptimistic: its chunk proofs are not in calldata). */
  readonly fetchBundle?: (cid: string) => Promise<Uint8Array>;
}

/**
 * An optimistic round's pinned bundle, checked to be the committed chain (its Merkle root, its last
 * accumulator); `undefined` with the reason in `failures` when it cannot be used. A round whose
 * bundle is missing or wrong is one a watcher should have challenged: the audit cannot verify it.
 */
async function optimisticBundle(
  ctx: RoundProofContext,
  r: number,
  committed: ChunksCommittedRecord,
  failures: string[],
): Promise<ProofBundle | undefined> {
  if (ctx.fetchBundle === undefined) {
    failures.push(
      `round ${r}: finalized optimistically, and this audit reads no IPFS: its chunk proofs (${committed.proofsCid}) are not checked`,
    );
    return undefined;
  }
  let bundle: ProofBundle;
  try {
    bundle = decodeProofBundle(await ctx.fetchBundle(committed.proofsCid));
  } catch (err) {
    failures.push(`round ${r}: the optimistic round's chunk proofs ${committed.proofsCid} cannot be read: ${(err as Error).message}`);
    return undefined;
  }
  const root = bundle.accs.length >= 2 && bundle.accs[0] === 0n ? new ChunkAccumulatorTree(bundle.accs).root : undefined;
  if (root !== committed.chunkRoot || bundle.accs.at(-1) !== committed.accFinal) {
    failures.push(
      `round ${r}: the pinned chunk proofs ${committed.proofsCid} are not the committed chain (root ${committed.chunkRoot}, accFinal ${committed.accFinal})`,
    );
    return undefined;
  }
  return bundle;
}

/** Verifies every chunk proof and the decision proof of a finalized round; lists what fails. */
export async function checkRoundProofs(ctx: RoundProofContext, round: RoundHistory): Promise<RoundProofCheck> {
  const failures: string[] = [];
  const r = round.round;
  const end = round.end;
  if (end?.kind !== "finalized") throw new Error(`round ${r} is not finalized`);
  const verifier = new Contract(ctx.verifier, ROUND_VERIFIER_ABI, ctx.provider);
  const calls = new Map<string, DecodedCall>();
  const call = async (hash: string): Promise<DecodedCall> => {
    let c = calls.get(hash);
    if (c === undefined) {
      c = await decodeRoundCall(ctx.provider, ctx.market, hash);
      if (c.projectId !== ctx.projectId || c.round !== r)
        throw new Error(`transaction ${hash} is for project ${c.projectId} round ${c.round}, not project ${ctx.projectId} round ${r}`);
      calls.set(hash, c);
    }
    return c;
  };

  // The accumulator chain, batch by batch in the order the contract accepted them; an optimistic
  // round's from its pinned bundle, which must be the committed chain.
  let acc = 0n;
  let verified = 0;
  let chunkProofs = 0;
  const committed = round.optimistic?.committed;
  const batches: { firstChunk: number; count: number; accumulator: bigint; transactionHash: string; proofs?: ChunkProofCall[] }[] = [
    ...round.chunkBatches,
  ];
  if (committed !== undefined) {
    const bundle = await optimisticBundle(ctx, r, committed, failures);
    if (bundle !== undefined) {
      const proofs = bundle.proofs.map((p, j) => ({ proof: [...p], accOut: bundle.accs[j + 1] as bigint }));
      batches.push({ firstChunk: 0, count: proofs.length, accumulator: committed.accFinal, transactionHash: committed.proofsCid, proofs });
    }
  }
  for (const batch of batches) {
    const c = batch.proofs === undefined ? await call(batch.transactionHash) : { firstChunk: 0, chunkProofs: batch.proofs };
    if (c.firstChunk !== batch.firstChunk || c.chunkProofs.length !== batch.count) {
      failures.push(
        `round ${r}: transaction ${batch.transactionHash} carries chunks [${c.firstChunk}, +${c.chunkProofs.length}) but its ChunkProofsAccepted event says [${batch.firstChunk}, +${batch.count})`,
      );
      continue;
    }
    if (batch.firstChunk === 0) acc = 0n;
    for (const [i, p] of c.chunkProofs.entries()) {
      const j = batch.firstChunk + i;
      const signals = [acc, p.accOut].map(String);
      const off = ctx.keys === undefined || (await snarkjs.groth16.verify(ctx.keys.chunk, signals, proofFromWords(p.proof)));
      if (!off)
        failures.push(
          `round ${r}: chunk proof ${j} (tx ${batch.transactionHash}) does not verify against the published verification key ${ctx.keys?.chunkFile} for accIn ${acc}, accOut ${p.accOut}`,
        );
      const on = Boolean(await verifier.getFunction("verifyChunk").staticCall([...p.proof], acc, p.accOut));
      if (!on)
        failures.push(`round ${r}: chunk proof ${j} (tx ${batch.transactionHash}) is rejected by the project's verifier ${ctx.verifier}`);
      acc = p.accOut;
      chunkProofs++;
    }
    verified = batch.firstChunk + batch.count;
    if (acc !== batch.accumulator)
      failures.push(
        `round ${r}: the accumulator after chunk ${verified - 1} is ${acc} from calldata but ${batch.accumulator} in ChunkProofsAccepted`,
      );
  }
  if (verified !== ctx.numChunks)
    failures.push(`round ${r}: ${verified} chunk proofs form the final accumulator chain, the model has ${ctx.numChunks} chunks`);

  const fin = await call(end.transactionHash);
  const result = fin.result;
  const finalizer = committed === undefined ? "finalizeRound" : "finalizeRoundOptimistic";
  if (fin.name !== finalizer || result === undefined) throw new Error(`round ${r}: transaction ${end.transactionHash} is not ${finalizer}`);
  if (result.newModelCommitment !== end.newModelCommitment || result.newModelCid !== end.newModelCid) {
    failures.push(
      `round ${r}: finalizeRound calldata records model ${result.newModelCommitment} (${result.newModelCid}) but RoundFinalized says ${end.newModelCommitment} (${end.newModelCid})`,
    );
  }
  const prevModel = round.opened?.modelCommitment;
  if (prevModel === undefined) {
    failures.push(`round ${r}: no RoundOpened event found (scan from an earlier block with --from-block)`);
    return { chunkProofs, outcomes: [], decisionInputs: [], failures };
  }
  if (ctx.sealKey === undefined) {
    failures.push(
      `round ${r}: no AggregatorAccepted event before the round found: the seal key its decision proof is about is unknown (scan from an earlier block with --from-block)`,
    );
    return { chunkProofs, outcomes: [], decisionInputs: [], failures };
  }
  // As the contract builds them: a slot flagged as not available and not answered by the deadline
  // is passed with commitment 0 (empty); an answered one keeps its commitment. The same for the
  // owner's reference: withheld, or flagged and not answered, it is 0.
  const unanswered = new Set(unansweredSlots(round));
  const commitments = new Array<bigint>(ctx.kMax).fill(0n);
  for (const s of round.submissions) {
    if (s.slot >= ctx.kMax) failures.push(`round ${r}: submission in slot ${s.slot} is beyond K_MAX ${ctx.kMax}`);
    else commitments[s.slot] = unanswered.has(s.slot) ? 0n : s.commitment;
  }
  const roundCtx = computeCtx(
    roundKeccak(ctx.chainId, ctx.market, ctx.projectId, r, ctx.paramsHash),
    ctx.byzantineTolerance,
    ctx.modelSize,
  );
  const inputs = [
    roundCtx,
    prevModel,
    result.newModelCommitment,
    acc,
    ctx.sealKey[0],
    ctx.sealKey[1],
    decisionReference(round),
    ...commitments,
    ...result.outcomes,
  ];
  const off = ctx.keys === undefined || (await snarkjs.groth16.verify(ctx.keys.decision, inputs.map(String), proofFromWords(result.proof)));
  if (!off)
    failures.push(
      `round ${r}: the decision proof (tx ${end.transactionHash}) does not verify against the published verification key ${ctx.keys?.decisionFile}`,
    );
  const on = Boolean(await verifier.getFunction("verifyDecision").staticCall([...result.proof], inputs));
  if (!on)
    failures.push(`round ${r}: the decision proof (tx ${end.transactionHash}) is rejected by the project's verifier ${ctx.verifier}`);
  let outcomes: SlotOutcome[] = [];
  try {
    outcomes = unpackOutcome(result.outcomes, ctx.kMax);
  } catch (err) {
    failures.push(`round ${r}: the proven outcome words do not decode: ${(err as Error).message}`);
  }
  return { chunkProofs, outcomes, decisionInputs: inputs, failures };
}
