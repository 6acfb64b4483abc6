/**
 * End to end with real proofs: the reference implementation computes a round, snarkjs proves every
 * chunk and the decision with the dev setup of the test circuits (K_MAX = 4, CHUNK = 16), and the
 * committed generated verifiers check them on the in-process Hardhat network through the
 * marketplace's finalize path. Then every public input is tampered with in turn.
 *
 * Trainers commit sealed commitments, then reveal them, as on any chain. The test circuits have
 * K_MAX = 4 slots, and a project needs 2f + 3 <= slots, so f = 0 here (quorum 3 valid updates): the
 * consensus rule's test keeps the updates that agree with the others and leaves a sign-flipped one
 * out, unpaid.
 *
 * The first run on a fresh machine compiles the circuits and generates the dev powers of tau
 * (several minutes); later runs use the cache in .cache/.
 *
 * Sealed updates (docs/PROOF-INTERFACE.md): trainers seal their updates for the seal key the
 * aggregator registered (`publicKeyOf(SEAL_SECRET)`), the commitments are over the ciphertexts, and
 * the decision proof decrypts with the secret of exactly that key: the key is among its public
 * inputs (4 and 5), so a proof made for another seal key does not verify.
 */
import { expect } from "chai";
import { network } from "hardhat";

import {
  modelCommitment,
  publicKeyOf,
  rewardShares,
  sealedSlot,
  simulateRound,
  type CircuitConfig,
  type RoundResult as CoreRound,
  type RoundSlot,
} from "@fedmarket/core";
import { loadProver, releaseCurves, type Prover } from "../scripts/circuits/prover.js";
import { ChunkAccumulatorTree, proofWords } from "@fedmarket/protocol";
import type { FedMarket, IFedMarketOptimistic } from "../types/ethers-contracts/index.js";
import { ETH, cid, commitAll, revealAll, toAggregationWindow, type Chain, type Update, type UpdateFor } from "./helpers/market.js";
import { deployGeneratedVerifiers, deployGroth16RoundVerifier } from "./helpers/round-verifier.js";
import { rng } from "../scripts/circuits/xorshift.js";

const { ethers, networkHelpers } = await network.create();

const config: CircuitConfig = { kMax: 4, chunk: 16, updateBits: 16, modelBits: 32 };
const D = 40; // three chunks, the last one padded
/** Byzantine tolerance: 2f + 3 must fit the circuit's K_MAX = 4 slots. */
const F = 0;
const SUBMISSION_WINDOW = 3600n;
const REVEAL_WINDOW = 600n;
const REWARD = 10n ** 18n;
/** Public inputs of the decision proof: ctx, prevModel, newModel, accFinal, sealKey.x, sealKey.y, reference, c[0..K), outcome words. */
const DECISION_INPUTS = 7 + config.kMax + Math.ceil(config.kMax / 3);
/** The aggregator's secret scalar (public: tests only); the decision prover decrypts with it. */
const SEAL_SECRET = 0xfed5ea1n;
/** The seal key the aggregator registers with `acceptAggregator`, and trainers seal for. */
const SEAL_KEY = publicKeyOf(SEAL_SECRET);
/** Another valid seal key (a point of the subgroup, like SEAL_KEY). */
const OTHER_KEY = publicKeyOf(SEAL_SECRET + 1n);
/** Names of the decision proof's public inputs, for failure messages. */
const INPUT_NAMES = [
  "ctx",
  "prevModel",
  "newModel",
  "accFinal",
  "sealKey.x",
  "sealKey.y",
  "reference",
  ...Array.from({ length: config.kMax }, (_, k) => `commitment ${k}`),
  ...Array.from({ length: Math.ceil(config.kMax / 3) }, (_, w) => `outcome word ${w}`),
];

/**
 * Three honest updates around a common direction, each with its own part (cosine about 0.7, not
 * near-duplicates: each is its own cluster and scores its alignment with the others), and one
 * sign-flipped update (it works against them).
 */
function roundUpdates(seed: number): bigint[][] {
  const r = rng(seed);
  const base = Array.from({ length: D }, () => r(-300, 300));
  const honest = [0, 1, 2].map(() => base.map((v) => v + r(-200, 200)));
  const attacker = base.map((v) => -v);
  return [...honest, attacker];
}

describe("Round proofs end to end (real Groth16 on the Hardhat network)", function () {
  this.timeout(30 * 60 * 1000);

  let chunkProver: Prover;
  let decisionProver: Prover;

  before(async function () {
    const log = (m: string): void => console.log(`      ${m}`);
    chunkProver = await loadProver("chunk_k4_c16", { kind: "dev" }, log);
    decisionProver = await loadProver("decision_k4_c16", { kind: "dev" }, log);
  });

  after(async function () {
    await releaseCurves();
  });

  async function deploy() {
    const [owner, aggregator, ...trainers] = await ethers.getSigners();
    const verifier = await deployGroth16RoundVerifier(ethers, { ...(await deployGeneratedVerifiers(ethers, config)), circuit: config });
    const market = (await ethers.deployContract("FedMarket")) as unknown as FedMarket;
    return { market, verifier, owner: owner!, aggregator: aggregator!, trainers: trainers.slice(0, 4) };
  }

  /** Round 0's hyper-parameters (also the upper bounds); not part of the proven statement. */
  const HYPER = { learningRateMicros: 10_000n, localEpochs: 2n, batchSize: 16n };

  async function createProject(
    f: Awaited<ReturnType<typeof deploy>>,
    prevModel: readonly bigint[],
    sealKey: readonly [bigint, bigint] = SEAL_KEY,
    challengeWindow = 0n,
  ): Promise<bigint> {
    await f.market.connect(f.owner).createProject(
      {
        token: ETH,
        aggregator: f.aggregator.address,
        verifier: await f.verifier.getAddress(),
        budget: REWARD * 3n,
        rewardPerRound: REWARD,
        rewardDecayPpm: 1_000_000,
        numRounds: 3,
        maxTrainersPerRound: config.kMax,
        submissionWindow: SUBMISSION_WINDOW,
        revealWindow: REVEAL_WINDOW,
        aggregationWindow: 3600n,
        challengeWindow,
        aggregatorBond: 0n,
        slashAmount: 0n,
        challengeDeposit: 0n,
        trainerStake: 0n,
        allowlistRoot: ethers.ZeroHash,
        ownerEncryptionKey: ethers.ZeroHash,
        initialModelCommitment: modelCommitment([...prevModel], undefined, config), // an initial model: step zero
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
    // Normally the public key of the secret the decision prover decrypts with (SEAL_KEY).
    await f.market.connect(f.aggregator).acceptAggregator(projectId, [...sealKey], 0n, 0n);
    return projectId;
  }

  function chain(f: Awaited<ReturnType<typeof deploy>>): Chain {
    return { market: f.market, time: networkHelpers.time };
  }

  /**
   * Trainers seal the round's updates for the registered seal key (ephemeral secrets derived from
   * `seed`) and commit to them on chain (trainer k holds slot k); they reveal later.
   */
  async function commitRound(
    f: Awaited<ReturnType<typeof deploy>>,
    projectId: bigint,
    seed: number,
    updateSeed: number = seed,
  ): Promise<{ slots: RoundSlot[]; updates: Update[] }> {
    const slots = roundUpdates(updateSeed).map((u, k) => sealedSlot(config, u, SEAL_KEY, BigInt(1000 * seed + k + 1)));
    const updateFor: UpdateFor = (_t, k) => ({ commitment: slots[k]!.commitment, cid: cid(`u${seed}${k}`) });
    const updates = await commitAll(chain(f), projectId, f.trainers, updateFor);
    expect(updates.map((u) => u.slot)).to.deep.equal([0, 1, 2, 3]);
    return { slots, updates };
  }

  /**
   * The aggregator's computation of the open round, with the reference implementation; `prevStep` is
   * the step committed with `prevModel` (the round that produced it; omitted: zeros, an initial model).
   */
  async function computeRound(
    f: Awaited<ReturnType<typeof deploy>>,
    projectId: bigint,
    prevModel: readonly bigint[],
    slots: readonly RoundSlot[],
    prevStep?: readonly bigint[],
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
    return simulateRound({ config, prevModel, ...(prevStep === undefined ? {} : { prevStep }), slots, f: F, keccak, secret: SEAL_SECRET });
  }

  /** Commitments, reveals, the end of the reveal window, and the aggregator's computation. */
  async function playRound(
    f: Awaited<ReturnType<typeof deploy>>,
    projectId: bigint,
    prevModel: readonly bigint[],
    seed: number,
    prevStep?: readonly bigint[],
  ): Promise<CoreRound> {
    const { slots, updates } = await commitRound(f, projectId, seed);
    await revealAll(chain(f), projectId, updates);
    await toAggregationWindow(chain(f), projectId);
    return computeRound(f, projectId, prevModel, slots, prevStep);
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
    // f = 0: the consensus test keeps the three honest updates and leaves the sign-flipped one out (status 2, score 0).
    expect(round.rule.aggregated).to.deep.equal([true, true, true, false]);
    expect(round.rule.scores.map((s) => s > 0n)).to.deep.equal([true, true, true, false]);
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
        round.rule.scores.reduce((a, b) => a + b, 0n),
        (v: bigint) => v <= REWARD,
        (h: { learningRateMicros: bigint }) => h.learningRateMicros === 9_000n,
      );
    const receipt = await (await tx).wait();
    console.log(`      finalizeRound with ${chunkProofs.length} chunk proofs + decision: ${receipt!.gasUsed} gas`);

    expect((await f.market.getProject(projectId)).modelCommitment).to.equal(round.newModelCommitment);
    expect((await f.market.getCurrentRound(projectId)).hyperParams.learningRateMicros).to.equal(9_000n);
    const shares = rewardShares(REWARD, round.rule.scores);
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
    // Decision proof: every one of its public inputs, the two coordinates of the seal key included.
    const inputs = [...round.decision.publicSignals];
    expect(inputs).to.have.length(DECISION_INPUTS);
    expect(inputs.slice(4, 6)).to.deep.equal([...SEAL_KEY]);
    expect(await f.verifier.verifyDecision(decisionProof, inputs)).to.equal(true);
    for (let i = 0; i < inputs.length; i++) {
      const tampered = [...inputs];
      tampered[i] = tampered[i]! + 1n;
      expect(await f.verifier.verifyDecision(decisionProof, tampered), `public input ${i} (${INPUT_NAMES[i]})`).to.equal(false);
    }
    // Another valid seal key, and the registered one with its coordinates swapped.
    for (const [what, key] of [
      ["another seal key", OTHER_KEY],
      ["the seal key's coordinates swapped", [SEAL_KEY[1], SEAL_KEY[0]]],
    ] as const) {
      const tampered = [...inputs.slice(0, 4), ...key, ...inputs.slice(6)];
      expect(await f.verifier.verifyDecision(decisionProof, tampered), what).to.equal(false);
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
      .to.be.revertedWithCustomError(f.market, "InvalidChunkProofs")
      .withArgs(0n, 1n);
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

  it("an optimistic round: the decision proof binds the committed accumulator, a challenged chunk is answered with its real proof", async function () {
    const f = await deploy();
    const prevModel = Array.from({ length: D }, (_, i) => BigInt(i % 7));
    const projectId = await createProject(f, prevModel, SEAL_KEY, SUBMISSION_WINDOW);
    const opt = (await ethers.getContractAt("IFedMarketOptimistic", await f.market.getAddress())) as unknown as IFedMarketOptimistic;
    const round = await playRound(f, projectId, prevModel, 3);
    const { chunkProofs, decisionProof } = await prove(round);
    const tree = new ChunkAccumulatorTree([0n, ...chunkProofs.map((p) => p.accOut)]);
    const accFinal = tree.accs.at(-1)!;
    const result = {
      newModelCommitment: round.newModelCommitment,
      outcomes: round.outcome,
      proof: decisionProof,
      newModelCid: cid("model1"),
      nextHyperParams: HYPER,
    };
    const agg = opt.connect(f.aggregator);
    // The committed final accumulator is the decision proof's: another one does not verify.
    await expect(agg.finalizeRoundOptimistic(projectId, 0n, accFinal + 1n, tree.root, cid("proofs"), result)).to.be.revertedWithCustomError(
      f.market,
      "InvalidDecisionProof",
    );
    const tx = await agg.finalizeRoundOptimistic(projectId, 0n, accFinal, tree.root, cid("proofs"), result);
    console.log(`      finalizeRoundOptimistic (decision proof, no chunk proofs): ${(await tx.wait())!.gasUsed} gas`);

    await opt.connect(f.trainers[0]!).challengeRound(projectId, 0n, 1n, 1n);
    // Another chunk's real proof does not answer for chunk 1.
    await expect(agg.answerChallenge(projectId, 0n, tree.accs[1]!, tree.proof(1), [chunkProofs[0]!], tree.proof(2)))
      .to.be.revertedWithCustomError(f.market, "InvalidChunkProofs")
      .withArgs(1n, 1n);
    await expect(agg.answerChallenge(projectId, 0n, tree.accs[1]!, tree.proof(1), [chunkProofs[1]!], tree.proof(2))).to.emit(
      opt,
      "ChallengeAnswered",
    );
  });

  it("refuses a decision proof for another seal key than the one the aggregator registered", async function () {
    const f = await deploy();
    const prevModel = Array.from({ length: D }, () => 2n);
    // The aggregator registers OTHER_KEY, but the trainers sealed for SEAL_KEY and it proves with
    // SEAL_SECRET: a valid proof, of a statement about another key than the registered one.
    const projectId = await createProject(f, prevModel, OTHER_KEY);
    const round = await playRound(f, projectId, prevModel, 6);
    const { chunkProofs, decisionProof } = await prove(round);
    expect(await f.verifier.verifyDecision(decisionProof, [...round.decision.publicSignals])).to.equal(true);
    const agg = f.market.connect(f.aggregator);
    await agg.submitChunkProofs(projectId, 0n, 0n, chunkProofs);
    // The market's inputs differ from the proof's exactly in the seal key.
    const onChain = await f.market.decisionPublicInputs(projectId, round.newModelCommitment, round.outcome);
    const expected = [...round.decision.publicSignals];
    expected.splice(4, 2, ...OTHER_KEY);
    expect(onChain).to.deep.equal(expected);
    expect(await f.verifier.verifyDecision(decisionProof, [...onChain])).to.equal(false);
    await expect(
      agg.finalizeRound(projectId, 0n, 0n, [], {
        newModelCommitment: round.newModelCommitment,
        outcomes: round.outcome,
        proof: decisionProof,
        newModelCid: cid("m"),
        nextHyperParams: HYPER,
      }),
    ).to.be.revertedWithCustomError(f.market, "InvalidDecisionProof");
  });

  it("rejects a round's proofs in the next round and in another project", async function () {
    const f = await deploy();
    const prevModel = Array.from({ length: D }, () => 1n);
    const projectA = await createProject(f, prevModel);
    const projectB = await createProject(f, prevModel);
    // Both projects receive the same updates from the same trainers, sealed under other ephemeral
    // secrets (a commitment can be revealed only once in the market). Both commit windows close
    // before the reveals.
    const a = await commitRound(f, projectA, 3);
    const b = await commitRound(f, projectB, 4, 3);
    await revealAll(chain(f), projectA, a.updates);
    await revealAll(chain(f), projectB, b.updates);
    await toAggregationWindow(chain(f), projectB);
    const round0 = await computeRound(f, projectA, prevModel, a.slots);
    const roundB = await computeRound(f, projectB, prevModel, b.slots);
    expect(roundB.newModelCommitment).to.equal(round0.newModelCommitment);
    expect(roundB.outcome).to.deep.equal(round0.outcome);
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
    // ctx alone tells the rounds apart: round 0's inputs with project B's context do not verify.
    const inputs0 = [...round0.decision.publicSignals];
    expect(await f.verifier.verifyDecision(proofs0.decisionProof, inputs0)).to.equal(true);
    const inB = [await f.market.roundContext(projectB, 0n), ...inputs0.slice(1)];
    expect(await f.verifier.verifyDecision(proofs0.decisionProof, inB)).to.equal(false);

    await agg.finalizeRound(projectA, 0n, 0n, proofs0.chunkProofs, result0);
    // Round 1 of project A (new updates): round 0's proof is stale.
    const round1 = await playRound(f, projectA, round0.newModel, 5, round0.step);
    expect(round1.prevModelCommitment).to.equal(round0.newModelCommitment, "round 1 opens the commitment round 0 recorded");
    const in1 = [await f.market.roundContext(projectA, 1n), ...inputs0.slice(1)];
    expect(await f.verifier.verifyDecision(proofs0.decisionProof, in1)).to.equal(false);
    await expect(agg.finalizeRound(projectA, 1n, 0n, proofs0.chunkProofs, result0)).to.be.revertedWithCustomError(
      f.market,
      "InvalidDecisionProof",
    );
  });
});
