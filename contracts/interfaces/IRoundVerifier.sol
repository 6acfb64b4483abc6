// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IRoundVerifier
/// @notice Verifies the Groth16 proofs of one aggregation round for one circuit configuration.
/// @dev A round over a model of `D` parameters is proven by `ceil(D / chunkSize())` chunk proofs,
///      each one step of a hash-chained accumulator (`accIn -> accOut`), followed by one decision
///      proof over the final accumulator. The public-input layout is fixed in docs/PROOF-INTERFACE.md.
///      A proof is passed as eight words in the order the snarkjs Solidity verifier takes them:
///      `[a.x, a.y, b.x[1], b.x[0], b.y[1], b.y[0], c.x, c.y]` (snarkjs' `exportSolidityCallData`).
interface IRoundVerifier {
    /// @notice Number of trainer slots `K_MAX` the decision circuit was compiled for.
    function maxTrainers() external view returns (uint256);

    /// @notice Number of model parameters one chunk proof covers (`CHUNK`).
    function chunkSize() external view returns (uint256);

    /// @notice Most rounds a project on this configuration may have: `min(2^(BG-B-1), 2^32 - 1)`
    ///         (packages/core `maxRounds`). The chunk proof adds each round's mean step (at most
    ///         `2^(B-1)` per value) to the packed model without range-checking the model; from an
    ///         initial model within `BG - 1` signed bits (checked by the nodes and the audit), this
    ///         many rounds keep every model value within its `BG` bits, where that addition is exact
    ///         (docs/PROOF-INTERFACE.md, "Model headroom"). The market refuses projects with more.
    function maxRounds() external view returns (uint256);

    /// @notice Number of public inputs of the decision proof: `7 + K_MAX + ceil(K_MAX / 3)`.
    function decisionInputCount() external view returns (uint256);

    /// @notice Ciphertext elements per chunk of a sealed update: `NP = packedLength(CHUNK, B)`
    ///         (packages/core `pack.ts`), the packed field elements one chunk of `B`-bit values takes.
    ///         A published sealed update (`IFedMarket.publishUpdate`) has `numChunks * NP` of them.
    function cipherWidth() external view returns (uint256);

    /// @notice The commitment of a sealed update, as trainers reveal it (docs/PROOF-INTERFACE.md,
    ///         Sealed updates; reference: packages/core `sealedCommitment(cipherChain(chunks), E)`):
    ///         `acc = 0`, then for each chunk `j` (the `NP` consecutive elements
    ///         `cipher[j*NP .. (j+1)*NP)`) `acc = Poseidon(acc, Poseidon(chunk_j))`; the result is
    ///         `Poseidon(acc, E.x, E.y)`. Lets the market check published data against a revealed
    ///         commitment without a proof.
    /// @dev Reverts unless `cipher` is a non-empty whole number of chunks. Elements are hashed as
    ///      given: callers check that they are canonical field elements.
    /// @param ephemeral The trainer's ephemeral public key `E = [x, y]`.
    /// @param cipher The ciphertext of every chunk, chunk after chunk.
    /// @return commitment The sealed update's commitment.
    function sealedCommitment(uint256[2] calldata ephemeral, uint256[] calldata cipher)
        external
        view
        returns (uint256 commitment);

    /// @notice The cipher chain of `sealedCommitment` continued from `accIn` over whole chunks:
    ///         `acc = accIn`, then `acc = Poseidon(acc, hashNarrow(chunk_j))` for each chunk. Lets the
    ///         market take a sealed update in parts (`IFedMarket.publishUpdatePart`).
    /// @dev Reverts unless `cipher` is a non-empty whole number of chunks.
    function cipherChain(uint256 accIn, uint256[] calldata cipher) external view returns (uint256 accOut);

    /// @notice `sealedCommitment` of an update whose first chunks were chained into `accIn`
    ///         (`cipherChain`; 0 when none): the chain continued over `cipher`, then
    ///         `Poseidon(acc, E.x, E.y)`. `sealedCommitment(E, c) == sealedCommitmentFrom(0, E, c)`.
    /// @dev Reverts unless `cipher` is a whole number of chunks; it may be empty when `accIn != 0`.
    function sealedCommitmentFrom(uint256 accIn, uint256[2] calldata ephemeral, uint256[] calldata cipher)
        external
        view
        returns (uint256 commitment);

    /// @notice Verifies one chunk proof.
    /// @param proof The Groth16 proof (see the contract notice for the word order).
    /// @param accIn The accumulator before this chunk (`0` for the first chunk of a round).
    /// @param accOut The accumulator after this chunk.
    /// @return valid True when the proof verifies against `[accIn, accOut]`.
    function verifyChunk(uint256[8] calldata proof, uint256 accIn, uint256 accOut) external view returns (bool valid);

    /// @notice Verifies consecutive chunk proofs at once (the market's path: one batch per call).
    /// @dev Accepts exactly when every proof verifies, up to the batch argument's soundness error
    ///      (docs/PROOF-INTERFACE.md, "Batch verification of chunk proofs"). A false answer does not
    ///      say which proof failed. Checking `accs[0]` against the stored accumulator and the number
    ///      of proofs per round stays the caller's job, as with `verifyChunk`.
    /// @param proofs The Groth16 proofs, eight words each (see the contract notice for the word order).
    /// @param accs `proofs.length + 1` accumulators: proof `i` proves `accs[i] -> accs[i + 1]`, so
    ///        `accs[0]` is the accumulator before the first proof (`0` at a round's first chunk).
    /// @return valid True when every proof `i` verifies against `[accs[i], accs[i + 1]]`; false also
    ///         for an empty batch or a wrong `accs` length.
    function verifyChunks(uint256[8][] calldata proofs, uint256[] calldata accs) external view returns (bool valid);

    /// @notice Verifies the decision proof of a round.
    /// @param proof The Groth16 proof.
    /// @param publicInputs `[ctx, prevModel, newModel, accFinal, sealKey.x, sealKey.y, reference, c[0..K_MAX),
    ///        outcome[0..W)]` (`reference` 0 when the round's owner reference does not count).
    /// @return valid True when the proof verifies; false also when `publicInputs` has the wrong length.
    function verifyDecision(uint256[8] calldata proof, uint256[] calldata publicInputs) external view returns (bool valid);
}
