import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { maxRounds } from "@fedmarket/core";

import PoseidonHashersModule from "./PoseidonHashers.ts";

/**
 * Deploys the Groth16 verifiers of the demo circuit configuration (K_MAX = 8, CHUNK = 128, B = 8,
 * BG = 24: `circuits/main/*_k8_c128_b8_g24.circom`), the chunk key's batch verifier and the `Groth16RoundVerifier` adapter that
 * projects name as their `verifier`. `npm run demo` deploys it. The adapter checks published sealed
 * updates with the shared Poseidon libraries (`PoseidonHashers.ts`): NP = packedLength(128, 8) = 5
 * ciphertext elements per chunk, hashed by PoseidonT6.
 *
 *   npx hardhat ignition deploy ignition/modules/RoundVerifierK8C128.ts --network localhost
 *
 * The committed verifiers come from a DEV setup (public seeds): anyone can forge their proofs.
 * Production deployments build their own from a public ceremony's powers of tau (circuits/README.md).
 */
export default buildModule("RoundVerifierK8C128B8G24", (m) => {
  const chunkVerifier = m.contract("ChunkVerifier_k8_c128_b8_g24");
  const batchChunkVerifier = m.contract("BatchChunkVerifier_k8_c128_b8_g24");
  const decisionVerifier = m.contract("DecisionVerifier_k8_c128_b8_g24");
  const { poseidonT3, poseidonT4, poseidonT6 } = m.useModule(PoseidonHashersModule);
  // K_MAX 8, CHUNK 128, NP 5 (B 8): chunks hashed by PoseidonT6, the chain by PoseidonT3, the commitment by PoseidonT4;
  // the model's headroom in rounds for B 8, BG 24.
  const roundVerifier = m.contract("Groth16RoundVerifier", [
    chunkVerifier,
    decisionVerifier,
    batchChunkVerifier,
    8n,
    128n,
    5n,
    BigInt(maxRounds({ kMax: 8, chunk: 128, updateBits: 8, modelBits: 24 })),
    poseidonT6,
    poseidonT3,
    poseidonT4,
  ]);
  return { chunkVerifier, batchChunkVerifier, decisionVerifier, roundVerifier };
});
