/**
 * End to end with real proofs: the reference implementation computes a round, snarkjs proves every
 * chunk and the decision with the dev setup of the test circuits (K_MAX = 4, CHUNK = 16), and the
 * committed generated verifiers check them on the in-process Hardhat network through the
 * marketplace's finalize path. Then every public input is tampered with in turn.
 *
 * Trainers commit sealed commitments, then reveal them, as on any chain. The test circuits have
 * K_MAX = 4 slots, and a project needs 2f + 3 <= slots, so f = 0 here: Multi-Krum then aggregates
 * every valid update and the proven scores are what keeps a harmful update from being paid.
 *
 * The first run on a fresh machine compiles the circuits and generates the dev powers of tau
 * (several minutes); later runs use the cache in .cache/.
 *
 * Sealed updates (docs/PROOF-INTERFACE.md): the decision proof's public inputs include the
 * aggregator's registered seal key (inputs 4 and 5). Until the generated decision verifier is
 * regenerated from a decision circuit that takes them, this suite is skipped (it says so).
 */
import { readFileSync } from "node:fs";

import { expect } from "chai";
import { network } from "hardhat";

import {
  committedSlot,
  modelCommitment,
  rewardShares,
  simulateRound,
  type CircuitConfig,
  type RoundResult as CoreRound,
  type RoundSlot,
} from "@fedmarket/core";
import { loadProver, releaseCurves, type Prover } from "../scripts/circuits/prover.js";
import { proofWords } from "@fedmarket/protocol";
import type { FedMarket, Groth16RoundVerifier } from "../types/ethers-contracts/index.js";
import {
  ETH,
  SEAL_KEY,
  cid,
  commitAll,
  revealAll,
  toAggregationWindow,
  type Chain,
  type Update,
  type UpdateFor,
} from "./helpers/market.js";

const { ethers, networkHelpers } = await network.create();

const config: CircuitConfig = { kMax: 4, chunk: 16, updateBits: 16, modelBits: 32 };
const D = 40; // three chunks, the last one padded
/** Byzantine tolerance: 2f + 3 must fit the circuit's K_MAX = 4 slots. */
const F = 0;
const SUBMISSION_WINDOW = 3600n;
const REVEAL_WINDOW = 600n;
const REWARD = 10n ** 18n;
/** Public inputs of the decision proof: ctx, prevModel, newModel, accFinal, sealKey.x, sealKey.y, c[0..K), outcome words. */
const DECISION_INPUTS = 6 + config.kMax + Math.ceil(config.kMax / 3);
/** Public inputs of the committed generated decision verifier (its verification key says). */
const GENERATED_DECISION_INPUTS = (
  JSON.parse(readFileSync(new URL("../contracts/verifiers/generated/DecisionVerifier_k4_c16.vkey.json", import.meta.url), "utf8")) as {
    nPublic: number;
  }
).nPublic;

/** A deterministic pseudo-random integer stream for reproducible updates. */
function ints(seed: number): (lo: number, hi: number) => bigint {
  let s = seed >>> 0 || 1;
  return (lo, hi) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return BigInt(lo + (s % (hi - lo + 1)));
  };
}

/** Three honest updates near a common direction and one sign-flipped update (it works against them). */
function roundUpdates(seed: number): bigint[][] {
  const r = ints(seed);
  const base = Array.from({ length: D }, () => r(-300, 300));
  const honest = [0, 1, 2].map(() => base.map((v) => v + r(-20, 20)));
  const attacker = base.map((v) => -v);
  return [...honest, attacker];
}

describe("Round proofs end to end (real Groth16 on the Hardhat network)", function () {
  this.timeout(30 * 60 * 1000);

  let chunkProver: Prover;
  let decisionProver: Prover;

  before(async function () {
    if (GENERATED_DECISION_INPUTS !== DECISION_INPUTS) {
      // TODO(sealed updates, stage 2): remove once `npm run circuits:build` regenerated the verifiers.
      console.log(
        `      skipped: DecisionVerifier_k4_c16 takes ${GENERATED_DECISION_INPUTS} public inputs, the market passes ` +
          `${DECISION_INPUTS} (with the seal key); regenerate the verifiers from the sealed-update circuits (npm run circuits:build)`,
      );
      this.skip();
    }
    const log = (m: string): void => console.log(`      ${m}`);
    chunkProver = await loadProver("chunk_k4_c16", { kind: "dev" }, log);
    decisionProver = await loadProver("decision_k4_c16", { kind: "dev" }, log);
  });

  after(async function () {
    await releaseCurves();
  });

  async function deploy() {
    const [owner, aggregator, ...trainers] = await ethers.getSigners();
    const chunkVerifier = await ethers.deployContract("ChunkVerifier_k4_c16");
    const decisionVerifier = await ethers.deployContract("DecisionVerifier_k4_c16");
    const verifier = (await ethers.deployContract("Groth16RoundVerifier", [
      await chunkVerifier.getAddress(),
      await decisionVerifier.getAddress(),
      config.kMax,
      config.chunk,
    ])) as unknown as Groth16RoundVerifier;
    const market = (await ethers.deployContract("FedMarket")) as unknown as FedMarket;
    return { market, verifier, owner: owner!, aggregator: aggregator!, trainers: trainers.slice(0, 4) };
  }

  /** Round 0's hyper-parameters (also the upper bounds); not part of the proven statement. */
  const HYPER = { learningRateMicros: 10_000n, localEpochs: 2n, batchSize: 16n };

  async function createProject(f: Awaited<ReturnType<typeof deploy>>, prevModel: readonly bigint[]): Promise<bigint> {
    await f.market.connect(f.owner).createProject(
      {
        token: ETH,
        aggregator: f.aggregator.address,
        verifier: await f.verifier.getAddress(),
        budget: REWARD * 3n,
        rewardPerRound: REWARD,
        numRounds: 3,
        maxTrainersPerRound: config.kMax,
        submissionWindow: SUBMISSION_WINDOW,
        revealWindow: REVEAL_WINDOW,
        aggregationWindow: 3600n,
        aggregatorBond: 0n,
        slashAmount: 0n,
        trainerStake: 0n,
        allowlistRoot: ethers.ZeroHash,
        ownerEncryptionKey: ethers.ZeroHash,
        initialModelCommitment: modelCommitment([...prevModel], config.chunk, config.modelBits),
        params: { modelSize: D, byzantineTolerance: F, quantizationScale: 1n << 12n, clipBound: 1n << 14n },
        initialHyperParams: HYPER,
        minHyperParams: { learningRateMicros: 1_000n, localEpochs: 1n, batchSize: 8n },
        maxHyperParams: HYPER,
        specCid: cid("spec"),
        initialModelCid: cid("model"),
      },
      { value: REWARD * 3n },
    );
    const projectId = await f.market.projectCount();
    // Round 0's candidates are the trainers registered when it opens: four, one per slot.
    for (const t of f.trainers) await f.market.connect(t).registerTrainer(projectId, []);
    // TODO(sealed updates, stage 2): register the public key of the secret the decision prover
    // decrypts with (`publicKeyOf(a)`); Base8 is the key of a = 1.
    await f.market.connect(f.aggregator).acceptAggregator(projectId, SEAL_KEY, 0n, 0n);
    return projectId;
  }

  function chain(f: Awaited<ReturnType<typeof deploy>>): Chain {
    return { market: f.market, time: networkHelpers.time };
  }

  /** Trainers commit to the round's updates on chain (trainer k holds slot k); they reveal later. */
  async function commitRound(
    f: Awaited<ReturnType<typeof deploy>>,
    projectId: bigint,
    seed: number,
  ): Promise<{ slots: RoundSlot[]; updates: Update[] }> {
    const slots = roundUpdates(seed).map((u, k) => committedSlot(config, u, BigInt(1000 * seed + k + 1)));
    const updateFor: UpdateFor = (_t, k) => ({ commitment: slots[k]!.commitment, cid: cid(`u${seed}${k}`) });
    const updates = await commitAll(chain(f), projectId, f.trainers, updateFor);
    expect(updates.map((u) => u.slot)).to.deep.equal([0, 1, 2, 3]);
    return { slots, updates };
  }

  /** The aggregator's computation of the open round, with the reference implementation. */
  async function computeRound(
    f: Awaited<ReturnType<typeof deploy>>,
    projectId: bigint,
    prevModel: readonly bigint[],
    slots: readonly RoundSlot[],
  ): Promise<CoreRound> {
    const round = (await f.market.getCurrentRound(projectId)).round;
    const { chainId } = await ethers.provider.getNetwork();
    const project = await f.market.getProject(projectId);
    const keccak = BigInt(
      ethers.keccak256(
        ethers.AbiCoder.defaultAbiCoder().encode(
          ["uint256", "address", "uint256", "uint256", "bytes32"],
          [chainId, await f.market.getAddress(), projectId, round, project.paramsHash],
        ),
      ),
    );
    return simulateRound({ config, prevModel, slots, f: F, keccak });
  }

  /** Commitments, reveals, the end of the reveal window, and the aggregator's computation. */
  async function playRound(
    f: Awaited<ReturnType<typeof deploy>>,
    projectId: bigint,
    prevModel: readonly bigint[],
    seed: number,
  ): Promise<CoreRound> {
    const { slots, updates } = await commitRound(f, projectId, seed);
    await revealAll(chain(f), projectId, updates);
    await toAggregationWindow(chain(f), projectId);
    return computeRound(f, projectId, prevModel, slots);
  }

  async function prove(r: CoreRound) {
    const chunkProofs = [];
    for (const w of r.chunkWitnesses) {
      const { proof } = await chunkProver.prove(w.input);
      chunkProofs.push({ proof: proofWords(proof), accOut: w.publicSignals[1]! });
    }
    const { proof } = await decisionProver.prove(r.decision.input);
    return { chunkProofs, decisionProof: proofWords(proof) };
  }

  it("finalizes a round with real proofs and pays by proven score: nothing to the update that works against the others", async function () {
    const f = await deploy();
    const prevModel = Array.from({ length: D }, (_, i) => BigInt(i - 20));
    const projectId = await createProject(f, prevModel);
    const round = await playRound(f, projectId, prevModel, 1);
    // f = 0: Multi-Krum keeps all n - f = 4 valid updates; the sign-flipped one scores 0.
    expect(round.krum.inliers).to.deep.equal([true, true, true, true]);
    expect(round.krum.scores.map((s) => s > 0n)).to.deep.equal([true, true, true, false]);
    const { chunkProofs, decisionProof } = await prove(round);

    // The contract computes the same ctx the reference implementation was given.
    expect(await f.market.roundContext(projectId, 0n)).to.equal(round.ctx);

    const tx = f.market.connect(f.aggregator).finalizeRound(projectId, 0n, 0n, chunkProofs, {
      newModelCommitment: round.newModelCommitment,
      outcomes: round.outcome,
      proof: decisionProof,
      newModelCid: cid("model1"),
      // The aggregator decays the learning rate: the same proof verifies with any in-bounds choice.
      nextHyperParams: { ...HYPER, learningRateMicros: 9_000n },
    });
    await expect(tx)
      .to.emit(f.market, "RoundFinalized")
      .withArgs(
        projectId,
        0n,
        round.newModelCommitment,
        cid("model1"),
        round.krum.scores.reduce((a, b) => a + b, 0n),
        (v: bigint) => v <= REWARD,
        (h: { learningRateMicros: bigint }) => h.learningRateMicros === 9_000n,
      );
    const receipt = await (await tx).wait();
    console.log(`      finalizeRound with ${chunkProofs.length} chunk proofs + decision: ${receipt!.gasUsed} gas`);

    expect((await f.market.getProject(projectId)).modelCommitment).to.equal(round.newModelCommitment);
    expect((await f.market.getCurrentRound(projectId)).hyperParams.learningRateMicros).to.equal(9_000n);
    const shares = rewardShares(REWARD, round.krum.scores);
    for (const [k, t] of f.trainers.entries()) {
      expect(await f.market.creditOf(ETH, t.address)).to.equal(shares.rewards[k]);
    }
    expect(await f.market.creditOf(ETH, f.trainers[3]!.address)).to.equal(0n);
  });

  it("rejects every tampered public input and a tampered proof", async function () {
    const f = await deploy();
    const prevModel = Array.from({ length: D }, () => 0n);
    const projectId = await createProject(f, prevModel);
    const round = await playRound(f, projectId, prevModel, 2);
    const { chunkProofs, decisionProof } = await prove(round);

    // Chunk proofs: [accIn, accOut].
    for (const [j, w] of round.chunkWitnesses.entries()) {
      const [accIn, accOut] = w.publicSignals as [bigint, bigint];
      const proof = chunkProofs[j]!.proof;
      expect(await f.verifier.verifyChunk(proof, accIn, accOut)).to.equal(true);
      expect(await f.verifier.verifyChunk(proof, accIn + 1n, accOut)).to.equal(false);
      expect(await f.verifier.verifyChunk(proof, accIn, accOut + 1n)).to.equal(false);
    }
    // Decision proof: every one of its public inputs.
    const inputs = [...round.decision.publicSignals];
    expect(await f.verifier.verifyDecision(decisionProof, inputs)).to.equal(true);
    for (let i = 0; i < inputs.length; i++) {
      const tampered = [...inputs];
      tampered[i] = tampered[i]! + 1n;
      expect(await f.verifier.verifyDecision(decisionProof, tampered), `public input ${i}`).to.equal(false);
    }
    for (let i = 0; i < 8; i++) {
      const proof = [...decisionProof];
      proof[i] = proof[i]! + 1n;
      expect(await f.verifier.verifyDecision(proof, inputs), `proof word ${i}`).to.equal(false);
    }

    // Through the marketplace: a wrong accumulator step and a wrong claimed result both revert.
    const agg = f.market.connect(f.aggregator);
    const badChunk = { ...chunkProofs[0]!, accOut: BigInt(chunkProofs[0]!.accOut) + 1n };
    await expect(agg.submitChunkProofs(projectId, 0n, 0n, [badChunk]))
      .to.be.revertedWithCustomError(f.market, "InvalidChunkProof")
      .withArgs(0n);
    await agg.submitChunkProofs(projectId, 0n, 0n, chunkProofs);
    const result = {
      newModelCommitment: round.newModelCommitment,
      outcomes: round.outcome,
      proof: decisionProof,
      newModelCid: cid("m"),
      nextHyperParams: HYPER,
    };
    await expect(
      agg.finalizeRound(projectId, 0n, 0n, [], { ...result, newModelCommitment: round.newModelCommitment + 1n }),
    ).to.be.revertedWithCustomError(f.market, "InvalidDecisionProof");
    for (let w = 0; w < round.outcome.length; w++) {
      const outcomes = [...round.outcome];
      outcomes[w] = outcomes[w]! ^ 4n; // flip the lowest score bit of the word's first slot
      await expect(agg.finalizeRound(projectId, 0n, 0n, [], { ...result, outcomes })).to.be.revertedWithCustomError(
        f.market,
        "InvalidDecisionProof",
      );
    }
    await agg.finalizeRound(projectId, 0n, 0n, [], result);
  });

  it("rejects a round's proofs in the next round and in another project", async function () {
    const f = await deploy();
    const prevModel = Array.from({ length: D }, () => 1n);
    const projectA = await createProject(f, prevModel);
    const projectB = await createProject(f, prevModel);
    // Both projects receive identical submissions (same trainers, updates and salts), so their
    // commitments match: only ctx tells the rounds apart. Both commit windows close before the reveals.
    const a = await commitRound(f, projectA, 3);
    const b = await commitRound(f, projectB, 3);
    await revealAll(chain(f), projectA, a.updates);
    await revealAll(chain(f), projectB, b.updates);
    await toAggregationWindow(chain(f), projectB);
    const [slotsA, slotsB] = [a.slots, b.slots];
    const round0 = await computeRound(f, projectA, prevModel, slotsA);
    const roundB = await computeRound(f, projectB, prevModel, slotsB);
    expect(roundB.commitments).to.deep.equal(round0.commitments);
    const proofs0 = await prove(round0);
    const result0 = {
      newModelCommitment: round0.newModelCommitment,
      outcomes: round0.outcome,
      proof: proofs0.decisionProof,
      newModelCid: cid("a1"),
      nextHyperParams: HYPER,
    };
    const agg = f.market.connect(f.aggregator);
    await expect(agg.finalizeRound(projectB, 0n, 0n, proofs0.chunkProofs, result0)).to.be.revertedWithCustomError(
      f.market,
      "InvalidDecisionProof",
    );

    await agg.finalizeRound(projectA, 0n, 0n, proofs0.chunkProofs, result0);
    // Round 1 of project A, again with identical submissions: round 0's proof is stale.
    await playRound(f, projectA, round0.newModel, 3);
    await expect(agg.finalizeRound(projectA, 1n, 0n, proofs0.chunkProofs, result0)).to.be.revertedWithCustomError(
      f.market,
      "InvalidDecisionProof",
    );
  });
});
