import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

/**
 * Deploys the Groth16 verifiers of one circuit configuration and the `Groth16RoundVerifier`
 * adapter that projects name as their `verifier`. The verifiers are generated into
 * `contracts/verifiers/generated/` by `npm run circuits:build`.
 *
 *   npx hardhat ignition deploy ignition/modules/RoundVerifier.ts --network localhost
 *
 * The committed configuration is the test/demo one (K_MAX = 4, CHUNK = 16) with a DEV setup:
 * anyone can forge its proofs. Production deployments build their own verifiers from a public
 * ceremony's powers of tau (see circuits/README.md).
 */
export default buildModule("RoundVerifierK4C16", (m) => {
  const chunkVerifier = m.contract("ChunkVerifier_k4_c16");
  const decisionVerifier = m.contract("DecisionVerifier_k4_c16");
  const roundVerifier = m.contract("Groth16RoundVerifier", [chunkVerifier, decisionVerifier, 4n, 16n]);
  return { chunkVerifier, decisionVerifier, roundVerifier };
});
