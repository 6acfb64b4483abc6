/**
 * Groth16RoundVerifier's sealed commitments against the TypeScript reference: the adapter hashes a
 * published sealed update with the deployed poseidon-solidity libraries (core's `hashNarrow` per
 * chunk with PoseidonT(min(NP, 5) + 1), PoseidonT3 for the chain, PoseidonT4 for the commitment) and must give exactly core's
 * `sealedCommitment(cipherChain(chunks), E)`, the value trainers reveal and the circuits open.
 * Only the hashing is exercised here: the adapters are deployed without proof verifiers.
 */
import { expect } from "chai";
import { network } from "hardhat";

import { FIELD_MODULUS, cipherChain, publicKeyOf, randomScalar, sealedCommitment, type CurvePoint } from "@fedmarket/core";
import { deployGroth16RoundVerifier, deployPoseidonHashers } from "./helpers/round-verifier.js";

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
  const circuit = { kMax: 4, chunk: 15 * np, updateBits: 16 };
  return deployGroth16RoundVerifier(ethers, { chunkVerifier: ethers.ZeroAddress, decisionVerifier: ethers.ZeroAddress, circuit });
}

describe("Groth16RoundVerifier", function () {
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
        4n,
        30n,
        2n,
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
            4n,
            16n,
            np,
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
      expect(await adapter.decisionInputCount()).to.equal(12n);
    });
  });
});
