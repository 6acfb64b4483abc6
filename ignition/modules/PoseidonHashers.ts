import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

/**
 * Deploys poseidon-solidity's Poseidon libraries (PoseidonT2..T6: Poseidon of 1..5 inputs), the
 * hashers Groth16RoundVerifier checks published sealed updates with (`publishUpdate`). Deployed once
 * per chain and shared by every round verifier: each adapter takes PoseidonT(min(NP, 5) + 1),
 * PoseidonT3 and PoseidonT4 for its `NP = packedLength(CHUNK, B)` (PoseidonT6 for any NP >= 5). Used by the RoundVerifier modules; a
 * deployment that uses several of them deploys the libraries once.
 */
export default buildModule("PoseidonHashers", (m) => {
  const poseidonT2 = m.contract("PoseidonT2");
  const poseidonT3 = m.contract("PoseidonT3");
  const poseidonT4 = m.contract("PoseidonT4");
  const poseidonT5 = m.contract("PoseidonT5");
  const poseidonT6 = m.contract("PoseidonT6");
  return { poseidonT2, poseidonT3, poseidonT4, poseidonT5, poseidonT6 };
});
