/**
 * A small driver of the real FedMarket contract on a local chain, for the mechanism benchmark
 * (bench-attacks.ts): projects, registrations, the commit and reveal phases, and finalizations
 * whose proofs the MockRoundVerifier accepts (a "proof" is the keccak hash of its public inputs),
 * and the "not available" flags with their answers (`flagUnavailable`, `publishUpdate`). The
 * verifier is the only mock: slots, windows, flags, quorum and every money rule are the contract's.
 * Each party's commitment opens a sealed update of labels (`sealedData`) under the mock's keccak
 * stand-in for the Poseidon commitment, so a flagged party can answer with data the contract checks.
 */
import { AbiCoder, Contract, keccak256, toUtf8Bytes, ZeroAddress, type JsonRpcProvider, type Signer } from "ethers";
import { CURVE_BASE, REWARD_DECAY_ONE } from "@fedmarket/core";
import { FEDMARKET_ABI } from "@fedmarket/protocol";
import type { LocalChain } from "../../chain/local-chain.ts";

const coder = AbiCoder.defaultAbiCoder();
export const FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
export const COMMIT_WINDOW = 3600;
export const REVEAL_WINDOW = 1800;
export const AGGREGATION_WINDOW = 3600;
/**
 * Ciphertext elements of a published update: the driven projects have one chunk (model size 100,
 * chunk 100) and the mock verifier's `cipherWidth` is 1 (the contract checks the length).
 */
export const CIPHER_LENGTH = 1;
/**
 * Where the commitments start in the decision proof's public inputs
 * (`[ctx, prev, new, acc, A.x, A.y, reference, c[0..K), outcomes]`; the driven owners commit no reference).
 */
export const DECISION_HEAD = 7;
/**
 * The seal key every driven aggregator registers (`acceptAggregator` takes a BabyJubJub point on the
 * curve, not the identity): the subgroup's generator. Nothing is sealed for it here: the mock
 * verifier decrypts nothing, and the commitments are labels.
 */
export const DRIVER_SEAL_KEY: readonly [bigint, bigint] = CURVE_BASE;

/** Slot outcome as the decision proof encodes it (status 1 inlier, 2 not aggregated, 3 excluded). */
export interface SlotOutcome {
  readonly status: number;
  readonly score: bigint;
}

/** A participant: a signer and a label (`honest-3`, `sybil-0`, ...). */
export interface Party {
  readonly label: string;
  readonly signer: Signer;
  readonly address: string;
}

/** A field element derived from a label: a distinct commitment per (party, round). */
export function fieldOf(label: string): bigint {
  return BigInt(keccak256(toUtf8Bytes(label))) % FIELD || 1n;
}

export function cidOf(label: string): string {
  return `bafkrei${keccak256(toUtf8Bytes(label)).slice(2, 54)}`;
}

/** Packs slot outcomes three per word, 66 bits per slot (`status | score << 2`). */
export function packOutcomes(outcomes: readonly SlotOutcome[], kMax: number): bigint[] {
  const words = new Array<bigint>(Math.ceil(kMax / 3)).fill(0n);
  outcomes.forEach((o, slot) => {
    const w = Math.floor(slot / 3);
    words[w] = (words[w] as bigint) | ((BigInt(o.status) | (o.score << 2n)) << (66n * BigInt(slot % 3)));
  });
  return words;
}

export class MarketDriver {
  readonly chain: LocalChain;
  readonly provider: JsonRpcProvider;
  readonly market: string;
  readonly verifier: string;
  readonly kMax: number;

  constructor(chain: LocalChain, provider: JsonRpcProvider, market: string, verifier: string, kMax: number) {
    this.chain = chain;
    this.provider = provider;
    this.market = market;
    this.verifier = verifier;
    this.kMax = kMax;
  }

  as(signer: Signer): Contract {
    return new Contract(this.market, FEDMARKET_ABI, signer);
  }

  async send(signer: Signer, name: string, args: readonly unknown[], value = 0n): Promise<void> {
    const tx = (await this.as(signer)
      .getFunction(name)
      .send(...args, { value })) as { wait(): Promise<unknown> };
    await tx.wait();
  }

  /** Whether the call reverts, and with which custom error (`undefined`: it did not revert). */
  async revertOf(signer: Signer, name: string, args: readonly unknown[], value = 0n): Promise<string | undefined> {
    const c = this.as(signer);
    try {
      await c.getFunction(name).staticCall(...args, { value });
      return undefined;
    } catch (err) {
      const data = (err as { data?: string }).data;
      const parsed = data === undefined ? null : c.interface.parseError(data);
      return parsed?.name ?? (err as Error).message;
    }
  }

  async skip(seconds: number): Promise<void> {
    await this.chain.rpc("evm_increaseTime", [seconds]);
    await this.chain.rpc("evm_mine", []);
  }

  /** Creates an ETH project with `rounds` rounds of `reward`, f, and a trainer stake. */
  async createProject(
    owner: Signer,
    aggregator: string,
    o: { rounds: number; reward: bigint; f: number; stake: bigint; bond?: bigint; slash?: bigint },
  ): Promise<bigint> {
    const hp = { learningRateMicros: 10_000n, localEpochs: 1n, batchSize: 32n };
    const config = {
      token: ZeroAddress,
      aggregator,
      verifier: this.verifier,
      budget: o.reward * BigInt(o.rounds),
      rewardPerRound: o.reward,
      rewardDecayPpm: REWARD_DECAY_ONE,
      numRounds: o.rounds,
      maxTrainersPerRound: this.kMax,
      submissionWindow: COMMIT_WINDOW,
      revealWindow: REVEAL_WINDOW,
      aggregationWindow: AGGREGATION_WINDOW,
      challengeWindow: 0,
      aggregatorBond: o.bond ?? 10n ** 18n,
      slashAmount: o.slash ?? 5n * 10n ** 17n,
      challengeDeposit: 0n,
      trainerStake: o.stake,
      allowlistRoot: `0x${"00".repeat(32)}`,
      ownerEncryptionKey: `0x${"11".repeat(32)}`,
      initialModelCommitment: fieldOf("model-0"),
      params: { modelSize: 100, byzantineTolerance: o.f, quantizationScale: 1n << 16n, clipBound: 127n },
      initialHyperParams: hp,
      minHyperParams: hp,
      maxHyperParams: hp,
      specCid: cidOf("spec"),
      initialModelCid: cidOf("model-0"),
    };
    await this.send(owner, "createProject", [config], config.budget);
    return BigInt((await this.as(owner).getFunction("projectCount").staticCall()) as bigint);
  }

  async register(projectId: bigint, parties: readonly Party[]): Promise<void> {
    const p = (await this.as(this.provider as never)
      .getFunction("getProject")
      .staticCall(projectId)) as { trainerStake: bigint };
    for (const t of parties) await this.send(t.signer, "registerTrainer", [projectId, []], p.trainerStake);
  }

  async accept(projectId: bigint, aggregator: Signer): Promise<void> {
    const p = (await this.as(aggregator).getFunction("getProject").staticCall(projectId)) as {
      aggregatorBond: bigint;
      slashAmount: bigint;
    };
    await this.send(aggregator, "acceptAggregator", [projectId, [...DRIVER_SEAL_KEY], p.aggregatorBond, p.slashAmount], p.aggregatorBond);
  }

  async round(projectId: bigint): Promise<{ round: number; seed: bigint; candidates: number; submissions: number }> {
    const r = (await this.as(this.provider as never)
      .getFunction("getCurrentRound")
      .staticCall(projectId)) as Record<string, bigint>;
    return { round: Number(r.round), seed: BigInt(r.seed as bigint), candidates: Number(r.candidates), submissions: Number(r.submissions) };
  }

  async slotOf(projectId: bigint, party: Party): Promise<number | undefined> {
    const [, selected, slot] = (await this.as(party.signer).getFunction("slotOf").staticCall(projectId, party.address)) as [
      boolean,
      boolean,
      bigint,
    ];
    return selected ? Number(slot) : undefined;
  }

  async sealed(projectId: bigint, round: number, party: Party, commitment: bigint, cid: string): Promise<string> {
    return (await this.as(party.signer)
      .getFunction("sealedCommitment")
      .staticCall(projectId, round, party.address, commitment, cid)) as string;
  }

  /** The sealed update a party's commitment opens in a round (labels: the mock decrypts nothing). */
  sealedData(projectId: bigint, round: number, party: Party): { ephemeral: [bigint, bigint]; cipher: bigint[] } {
    const label = `p${projectId}-r${round}-${party.address}`;
    return {
      ephemeral: [fieldOf(`${label}-E.x`), fieldOf(`${label}-E.y`)],
      cipher: Array.from({ length: CIPHER_LENGTH }, (_, i) => fieldOf(`${label}-c${i}`)),
    };
  }

  /**
   * The opening a party commits to in a round (deterministic per party and round): the mock
   * verifier's `sealedCommitment` of its `sealedData`, so that the party can answer a flag.
   */
  opening(projectId: bigint, round: number, party: Party): { commitment: bigint; cid: string } {
    const label = `p${projectId}-r${round}-${party.address}`;
    const { ephemeral, cipher } = this.sealedData(projectId, round, party);
    // MockRoundVerifier's stand-in chain at cipher width 1: one keccak step per element, then the key.
    const acc = cipher.reduce((a, x) => BigInt(keccak256(coder.encode(["uint256", "uint256[]"], [a, [x]]))) % FIELD, 0n);
    const commitment = BigInt(keccak256(coder.encode(["uint256", "uint256[2]"], [acc, ephemeral]))) % FIELD;
    return { commitment, cid: cidOf(label) };
  }

  /** The aggregator flags the revealed `slots` of the open round as not available (one transaction). */
  async flag(projectId: bigint, aggregator: Signer, slots: readonly number[]): Promise<string | undefined> {
    const { round } = await this.round(projectId);
    const mask = slots.reduce((m, k) => m | (1n << BigInt(k)), 0n);
    const error = await this.revertOf(aggregator, "flagUnavailable", [projectId, round, mask]);
    if (error === undefined) await this.send(aggregator, "flagUnavailable", [projectId, round, mask]);
    return error;
  }

  /** `party` answers the flag on its slot by publishing its sealed update; returns the custom error if it reverts. */
  async publish(projectId: bigint, party: Party): Promise<string | undefined> {
    const { round } = await this.round(projectId);
    const slot = await this.slotOf(projectId, party);
    if (slot === undefined) return "NotSelected";
    const { ephemeral, cipher } = this.sealedData(projectId, round, party);
    const args = [projectId, round, slot, ephemeral, cipher, "0x"];
    const error = await this.revertOf(party.signer, "publishUpdate", args);
    if (error === undefined) await this.send(party.signer, "publishUpdate", args);
    return error;
  }

  /** The open round's flags (`unavailableFlags`). */
  async flags(projectId: bigint): Promise<{ pendingMask: bigint; flaggedMask: bigint; answerDeadline: number }> {
    const [pendingMask, flaggedMask, answerDeadline] = (await this.as(this.provider as never)
      .getFunction("unavailableFlags")
      .staticCall(projectId)) as [bigint, bigint, bigint];
    return { pendingMask, flaggedMask, answerDeadline: Number(answerDeadline) };
  }

  /** Mines a block at the open round's answer deadline: unanswered flags are final, chunk proofs are taken. */
  async passAnswerDeadline(projectId: bigint): Promise<void> {
    const { answerDeadline } = await this.flags(projectId);
    const block = await this.provider.getBlock("latest");
    if (answerDeadline > (block?.timestamp ?? 0)) await this.chain.rpc("evm_setNextBlockTimestamp", [answerDeadline]);
    await this.chain.rpc("evm_mine", []);
  }

  /**
   * Slot -> the commitment the contract passes to the decision proof for the open round (what the
   * proof must decrypt and score): 0 for an empty slot, and for a flagged slot nobody answered.
   */
  async decisionCommitments(projectId: bigint): Promise<bigint[]> {
    const inputs = (await this.as(this.provider as never)
      .getFunction("decisionPublicInputs")
      .staticCall(projectId, 1n, packOutcomes([], this.kMax))) as bigint[];
    return [...inputs].slice(DECISION_HEAD, DECISION_HEAD + this.kMax).map((x) => BigInt(x));
  }

  /** `commitUpdate` with the party's own opening; returns the custom error if it reverts. */
  async commit(projectId: bigint, round: number, party: Party, sealed?: string): Promise<string | undefined> {
    const o = this.opening(projectId, round, party);
    const s = sealed ?? (await this.sealed(projectId, round, party, o.commitment, o.cid));
    let error = await this.revertOf(party.signer, "commitUpdate", [projectId, round, s]);
    if (error === "SeedPending") {
      // the opening block is the latest one: its hash is readable from the next block on
      await this.send(party.signer, "drawSeed", [projectId]);
      error = await this.revertOf(party.signer, "commitUpdate", [projectId, round, s]);
    }
    if (error === undefined) await this.send(party.signer, "commitUpdate", [projectId, round, s]);
    return error;
  }

  /** `revealUpdate` of `opening` (default: the party's own); returns the custom error if it reverts. */
  async reveal(projectId: bigint, round: number, party: Party, opening?: { commitment: bigint; cid: string }): Promise<string | undefined> {
    const o = opening ?? this.opening(projectId, round, party);
    const error = await this.revertOf(party.signer, "revealUpdate", [projectId, round, o.commitment, o.cid]);
    if (error === undefined) await this.send(party.signer, "revealUpdate", [projectId, round, o.commitment, o.cid]);
    return error;
  }

  /** Revealed slot -> trainer address of the open round. */
  async revealed(projectId: bigint, round: number): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    const c = this.as(this.provider as never);
    for (let slot = 0; slot < this.kMax; slot++) {
      const [trainer, commitment] = (await c.getFunction("getSubmission").staticCall(projectId, round, slot)) as [string, bigint];
      if (commitment !== 0n) out.set(slot, trainer);
    }
    return out;
  }

  /** Finalizes the open round with the given outcome per slot, through mock proofs. */
  async finalize(projectId: bigint, aggregator: Signer, outcomes: readonly SlotOutcome[]): Promise<void> {
    const c = this.as(aggregator);
    const { round } = await this.round(projectId);
    const p = (await c.getFunction("getProject").staticCall(projectId)) as { numChunks: bigint };
    const proofs = [];
    let acc = 0n;
    for (let i = 0; i < Number(p.numChunks); i++) {
      const next = fieldOf(`acc-${projectId}-${round}-${i}`);
      proofs.push({
        proof: [BigInt(keccak256(coder.encode(["uint256", "uint256"], [acc, next]))), 0n, 0n, 0n, 0n, 0n, 0n, 0n],
        accOut: next,
      });
      acc = next;
    }
    await this.send(aggregator, "submitChunkProofs", [projectId, round, 0, proofs]);
    const words = packOutcomes(outcomes, this.kMax);
    const newModel = fieldOf(`model-${projectId}-${round + 1}`);
    const inputs = (await c.getFunction("decisionPublicInputs").staticCall(projectId, newModel, words)) as bigint[];
    const proof = [BigInt(keccak256(coder.encode(["uint256[]"], [[...inputs]]))), 0n, 0n, 0n, 0n, 0n, 0n, 0n];
    const hp = { learningRateMicros: 10_000n, localEpochs: 1n, batchSize: 32n };
    await this.send(aggregator, "finalizeRound", [
      projectId,
      round,
      Number(p.numChunks),
      [],
      { newModelCommitment: newModel, outcomes: words, proof, newModelCid: cidOf(`model-${round + 1}`), nextHyperParams: hp },
    ]);
  }

  async credit(address: string): Promise<bigint> {
    return (await this.as(this.provider as never)
      .getFunction("creditOf")
      .staticCall(ZeroAddress, address)) as bigint;
  }

  async creditsOf(parties: readonly Party[]): Promise<bigint> {
    let sum = 0n;
    for (const p of parties) sum += await this.credit(p.address);
    return sum;
  }
}
