import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { maxRounds } from "@fedmarket/core";

import PoseidonHashersModule from "./PoseidonHashers.ts";

/**
 * Deploys the Groth16 verifiers of one circuit configuration and the `Groth16RoundVerifier`
 * adapter that projects name as their `verifier`. The verifiers are generated into
 * `contracts/verifiers/generated/` by `npm run circuits:build`, the chunk key's batch verifier (the
 * market's path for chunk proofs) by `node scripts/circuits/batch-verifier.ts`. The adapter checks published sealed
 * updates with the shared Poseidon libraries (`PoseidonHashers.ts`): NP = packedLength(16, 16) = 2
 * ciphertext elements per chunk, hashed by PoseidonT3.
 *
 *   npx hardhat ignition deploy ignition/modules/RoundVerifier.ts --network localhost
 *
 * The committed configuration is the test/demo one (K_MAX = 4, CHUNK = 16) with a DEV setup:
 * anyone can forge its proofs. Production deployments build their own verifiers from a public
 * ceremony's powers of tau (see circuits/README.md).
 */
export default buildModule("RoundVerifierK4C16", (m) => {
  const chunkVerifier = m.contract("ChunkVerifier_k4_c16");
  const batchChunkVerifier = m.contract("BatchChunkVerifier_k4_c16");
  const decisionVerifier = m.contract("DecisionVerifier_k4_c16");
  const { poseidonT3, poseidonT4 } = m.useModule(PoseidonHashersModule);
  // K_MAX 4, CHUNK 16, NP 2 (B 16): chunks hashed by PoseidonT3, the chain by PoseidonT3, the commitment by PoseidonT4;
  // the model's headroom in rounds for B 16, BG 32.
  const roundVerifier = m.contract("Groth16RoundVerifier", [
    chunkVerifier,
    decisionVerifier,
    batchChunkVerifier,
    4n,
    16n,
    2n,
    BigInt(maxRounds({ kMax: 4, chunk: 16, updateBits: 16, modelBits: 32 })),
    poseidonT3,
    poseidonT3,
    poseidonT4,
  ]);
  return { chunkVerifier, batchChunkVerifier, decisionVerifier, roundVerifier };
});
