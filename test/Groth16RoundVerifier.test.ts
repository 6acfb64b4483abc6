/**
 * Groth16RoundVerifier's sealed commitments against the TypeScript reference: the adapter hashes a
 * published sealed update with the deployed poseidon-solidity libraries (core's `hashNarrow` per
 * chunk with PoseidonT(min(NP, 5) + 1), PoseidonT3 for the chain, PoseidonT4 for the commitment) and must give exactly core's
 * `sealedCommitment(cipherChain(chunks), E)`, the value trainers reveal and the circuits open.
 * Only the hashing is exercised there: those adapters are deployed without proof verifiers.
 *
 * `verifyChunks` (the market's path for chunk proofs) runs over the committed K4 verifiers with real
 * chunk proofs of one 3-chunk round (dev setup, cached in .cache/; a few seconds): it accepts the
 * round's batch and rejects each kind of tamper. test/BatchVerifier.differential.test.ts checks the
 * batch verifier itself against the single one over every tamper.
 */
import { expect } from "chai";
import { network } from "hardhat";

import {
  FIELD_MODULUS,
  cipherChain,
  maxRounds,
  publicKeyOf,
  randomScalar,
  sealedCommitment,
  sealedSlot,
  simulateRound,
  type CircuitConfig,
  type CurvePoint,
} from "@fedmarket/core";
import { proofWords } from "@fedmarket/protocol";
import { BASE_FIELD } from "../scripts/circuits/batch-verifier.js";
import { loadProver, releaseCurves } from "../scripts/circuits/prover.js";
import type { Groth16RoundVerifier } from "../types/ethers-contracts/index.js";
import { deployGeneratedVerifiers, deployGroth16RoundVerifier, deployPoseidonHashers } from "./helpers/round-verifier.js";

const { ethers } = await network.create();

/** A uniformly random field element (256 random bits, reduced: the bias is irrelevant here). */
function randomElement(): bigint {
  return BigInt(ethers.hexlify(ethers.randomBytes(32))) % FIELD_MODULUS;
}

/** `chunks` chunks of `width` random ciphertext elements, and a random ephemeral key. */
function randomSealed(width: number, chunks: number): { ephemeral: CurvePoint; chunks: bigint[][] } {
  return {
    ephemeral: publicKeyOf(randomScalar()),
    chunks: Array.from({ length: chunks }, () => Array.from({ length: width }, randomElement)),
  };
}

/** An adapter of cipher width `NP`: CHUNK and B chosen so that packedLength(CHUNK, B) = NP (B = 16: 15 values per element). */
async function adapterOfWidth(np: number) {
  const circuit = { kMax: 4, chunk: 15 * np, updateBits: 16, modelBits: 32 };
  return deployGroth16RoundVerifier(ethers, {
    chunkVerifier: ethers.ZeroAddress,
    batchChunkVerifier: ethers.ZeroAddress,
    decisionVerifier: ethers.ZeroAddress,
    circuit,
  });
}

describe("Groth16RoundVerifier", function () {
  it("reports the model's headroom in rounds: core's maxRounds, 2^(BG-B-1)", async function () {
    const adapter = await adapterOfWidth(2);
    expect(await adapter.maxRounds()).to.equal(BigInt(maxRounds({ kMax: 4, chunk: 30, updateBits: 16, modelBits: 32 })));
    expect(await adapter.maxRounds()).to.equal(2n ** 15n);
  });

  describe("# sealedCommitment", function () {
    for (const np of [2, 5, 17]) {
      for (const chunks of [2, 3]) {
        it(`equals core's sealedCommitment(cipherChain(chunks), E) for NP = ${np}, ${chunks} chunks of random elements`, async function () {
          const adapter = await adapterOfWidth(np);
          expect(await adapter.cipherWidth()).to.equal(BigInt(np));
          for (let trial = 0; trial < 3; trial++) {
            const sealed = randomSealed(np, chunks);
            const expected = sealedCommitment(cipherChain(sealed.chunks), sealed.ephemeral);
            expect(await adapter.sealedCommitment([...sealed.ephemeral], sealed.chunks.flat())).to.equal(expected);
          }
        });
      }
    }

    it("equals the reference at every width from one call to a zero-padded group of PoseidonT6 calls (NP = 1..10)", async function () {
      for (let np = 1; np <= 10; np++) {
        const adapter = await adapterOfWidth(np);
        const sealed = randomSealed(np, 2);
        const expected = sealedCommitment(cipherChain(sealed.chunks), sealed.ephemeral);
        expect(await adapter.sealedCommitment([...sealed.ephemeral], sealed.chunks.flat())).to.equal(expected, `NP = ${np}`);
      }
    });

    it("binds the order of the chunks and the ephemeral key", async function () {
      const adapter = await adapterOfWidth(2);
      const sealed = randomSealed(2, 2);
      const commitment = await adapter.sealedCommitment([...sealed.ephemeral], sealed.chunks.flat());
      const swapped = [...sealed.chunks[1]!, ...sealed.chunks[0]!];
      expect(await adapter.sealedCommitment([...sealed.ephemeral], swapped)).to.not.equal(commitment);
      const otherKey = publicKeyOf(randomScalar());
      expect(await adapter.sealedCommitment([...otherKey], sealed.chunks.flat())).to.not.equal(commitment);
    });

    it("rejects a ciphertext that is empty or not a whole number of chunks", async function () {
      const adapter = await adapterOfWidth(2);
      const key: [bigint, bigint] = [...publicKeyOf(1n)];
      await expect(adapter.sealedCommitment(key, [])).to.be.revertedWithCustomError(adapter, "CipherLengthNotWhole").withArgs(0n, 2n);
      await expect(adapter.sealedCommitment(key, [1n, 2n, 3n]))
        .to.be.revertedWithCustomError(adapter, "CipherLengthNotWhole")
        .withArgs(3n, 2n);
    });

    it("fails loudly when a hasher is not a Poseidon library", async function () {
      const hashers = await deployPoseidonHashers(ethers, 2);
      const adapter = await ethers.deployContract("Groth16RoundVerifier", [
        ethers.ZeroAddress,
        ethers.ZeroAddress,
        ethers.ZeroAddress,
        4n,
        30n,
        2n,
        32768n,
        hashers.cipherHasher,
        ethers.ZeroAddress, // no code: the call returns nothing
        hashers.tripleHasher,
      ]);
      await expect(adapter.sealedCommitment([...publicKeyOf(1n)], [1n, 2n]))
        .to.be.revertedWithCustomError(adapter, "HasherFailed")
        .withArgs(ethers.ZeroAddress);
    });
  });

  describe("# constructor", function () {
    it("refuses a cipher width of 0", async function () {
      const hashers = await deployPoseidonHashers(ethers, 2);
      const factory = await ethers.getContractFactory("Groth16RoundVerifier");
      for (const np of [0n]) {
        await expect(
          ethers.deployContract("Groth16RoundVerifier", [
            ethers.ZeroAddress,
            ethers.ZeroAddress,
            ethers.ZeroAddress,
            4n,
            16n,
            np,
            32768n,
            hashers.cipherHasher,
            hashers.pairHasher,
            hashers.tripleHasher,
          ]),
        )
          .to.be.revertedWithCustomError(factory, "UnsupportedCipherWidth")
          .withArgs(np);
      }
    });

    it("exposes its hashers and circuit parameters", async function () {
      const adapter = await adapterOfWidth(5);
      const hashers = await deployPoseidonHashers(ethers, 5);
      expect(await adapter.cipherHasher()).to.equal(hashers.cipherHasher);
      expect(await adapter.pairHasher()).to.equal(hashers.pairHasher);
      expect(await adapter.tripleHasher()).to.equal(hashers.tripleHasher);
      expect(await adapter.maxTrainers()).to.equal(4n);
      expect(await adapter.chunkSize()).to.equal(75n);
      expect(await adapter.decisionInputCount()).to.equal(13n); // 7 + K_MAX + ceil(K_MAX / 3)
    });
  });

  describe("# verifyChunks (real K4 chunk proofs)", function () {
    this.timeout(5 * 60 * 1000);
    const config: CircuitConfig = { kMax: 4, chunk: 16, updateBits: 16, modelBits: 32 };
    /** The aggregator's secret scalar (public: tests only); the updates are sealed for its key. */
    const SEAL_SECRET = 0xc4a1n;

    let adapter: Groth16RoundVerifier;
    /** A 3-chunk round: proof `i` proves `accs[i] -> accs[i + 1]`. */
    let proofs: bigint[][];
    let accs: bigint[];

    before(async function () {
      adapter = await deployGroth16RoundVerifier(ethers, { ...(await deployGeneratedVerifiers(ethers, config)), circuit: config });
      const d = 40; // three chunks, the last one padded
      const update = (k: number): bigint[] => Array.from({ length: d }, (_, i) => BigInt(((i * 7 + k * 13) % 61) - 30));
      const slots = [0, 1, 2, 3].map((k) => sealedSlot(config, update(k), publicKeyOf(SEAL_SECRET), BigInt(k + 1)));
      const prevModel = Array.from({ length: d }, (_, i) => BigInt(i % 9) - 4n);
      const round = simulateRound({ config, prevModel, slots, f: 0, keccak: 1n << 100n, secret: SEAL_SECRET });
      const prover = await loadProver("chunk_k4_c16", { kind: "dev" }, (m) => console.log(`      ${m}`));
      proofs = [];
      accs = [round.chunkWitnesses[0]!.publicSignals[0]];
      for (const w of round.chunkWitnesses) {
        proofs.push(proofWords((await prover.prove(w.input)).proof));
        accs.push(w.publicSignals[1]);
      }
      expect(proofs).to.have.length(3);
    });

    after(async function () {
      await releaseCurves();
    });

    const copy = (): { p: bigint[][]; a: bigint[] } => ({ p: proofs.map((w) => [...w]), a: [...accs] });

    it("accepts a round's proofs as one batch and as any contiguous part, as verifyChunk accepts each", async function () {
      expect(accs[0]).to.equal(0n);
      for (const [i, p] of proofs.entries()) expect(await adapter.verifyChunk(p, accs[i]!, accs[i + 1]!), `proof ${i}`).to.equal(true);
      expect(await adapter.verifyChunks(proofs, accs)).to.equal(true);
      for (let from = 0; from < 3; from++) {
        for (let to = from + 1; to <= 3; to++) {
          expect(await adapter.verifyChunks(proofs.slice(from, to), accs.slice(from, to + 1)), `[${from}, ${to})`).to.equal(true);
        }
      }
    });

    it("rejects a batch with one proof word changed, one accumulator changed, or two proofs swapped", async function () {
      for (let i = 0; i < proofs.length; i++) {
        for (let w = 0; w < 8; w++) {
          const { p, a } = copy();
          p[i]![w] = (p[i]![w]! + 1n) % BASE_FIELD;
          expect(await adapter.verifyChunks(p, a), `proof ${i} word ${w}`).to.equal(false);
        }
      }
      for (let j = 0; j < accs.length; j++) {
        const { p, a } = copy();
        a[j] = a[j]! + 1n;
        expect(await adapter.verifyChunks(p, a), `accs[${j}]`).to.equal(false);
      }
      for (let i = 0; i + 1 < proofs.length; i++) {
        const { p, a } = copy();
        [p[i], p[i + 1]] = [p[i + 1]!, p[i]!];
        expect(await adapter.verifyChunks(p, a), `proofs ${i} and ${i + 1} swapped`).to.equal(false);
      }
    });

    it("rejects malformed batches, and answers false when its batch verifier is missing", async function () {
      expect(await adapter.verifyChunks([], [])).to.equal(false);
      expect(await adapter.verifyChunks([], [0n])).to.equal(false);
      expect(await adapter.verifyChunks(proofs, accs.slice(0, 3))).to.equal(false);
      expect(await adapter.verifyChunks(proofs, [...accs, 0n])).to.equal(false);
      // An adapter without a batch verifier (no code at the address): false, never true.
      expect(await (await adapterOfWidth(2)).verifyChunks(proofs, accs)).to.equal(false);
    });
  });
});
