// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IRoundVerifier} from "../../interfaces/IRoundVerifier.sol";

/// @title MockRoundVerifier
/// @notice Test double for {IRoundVerifier}, for unit tests of the marketplace alone. A "proof" is
///         valid when its first word is the keccak hash of the public inputs it is checked against,
///         so tests still see verification fail whenever any public input changes. A sealed
///         commitment is a keccak stand-in for the Poseidon chain: `acc = keccak256(abi.encode(acc,
///         chunk)) mod p` for each chunk from `acc = 0`, then `keccak256(abi.encode(acc, ephemeral)) mod p`,
///         so tests can craft published data (whole or in parts) that opens, or does not open, a commitment.
contract MockRoundVerifier is IRoundVerifier {
    /// @dev The BN254 scalar field: stand-in commitments are reduced into it, like real ones.
    uint256 private constant FIELD_MODULUS =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;

    uint256 private immutable _maxTrainers;
    uint256 private immutable _chunkSize;
    /// @dev Settable so one mock can stand in for circuits of any `NP`.
    uint256 private _cipherWidth = 1;
    /// @dev Settable so tests can reach the market's round-count check; no limit by default.
    uint256 private _maxRounds = type(uint32).max;

    constructor(uint256 maxTrainers_, uint256 chunkSize_) {
        _maxTrainers = maxTrainers_;
        _chunkSize = chunkSize_;
    }

    function maxTrainers() external view returns (uint256) {
        return _maxTrainers;
    }

    function chunkSize() external view returns (uint256) {
        return _chunkSize;
    }

    function maxRounds() external view returns (uint256) {
        return _maxRounds;
    }

    function setMaxRounds(uint256 maxRounds_) external {
        _maxRounds = maxRounds_;
    }

    function decisionInputCount() public view returns (uint256) {
        // ctx, prevModel, newModel, accFinal, sealKey.x, sealKey.y, reference; K_MAX commitments;
        // ceil(K_MAX / 3) outcome words.
        return 7 + _maxTrainers + (_maxTrainers + 2) / 3;
    }

    function cipherWidth() external view returns (uint256) {
        return _cipherWidth;
    }

    function setCipherWidth(uint256 cipherWidth_) external {
        _cipherWidth = cipherWidth_;
    }

    function sealedCommitment(uint256[2] calldata ephemeral, uint256[] calldata cipher) external view returns (uint256) {
        return _seal(_chain(0, cipher), ephemeral);
    }

    function cipherChain(uint256 accIn, uint256[] calldata cipher) external view returns (uint256) {
        return _chain(accIn, cipher);
    }

    function sealedCommitmentFrom(uint256 accIn, uint256[2] calldata ephemeral, uint256[] calldata cipher)
        external
        view
        returns (uint256)
    {
        return _seal(_chain(accIn, cipher), ephemeral);
    }

    function _chain(uint256 acc, uint256[] calldata cipher) private view returns (uint256) {
        uint256 width = _cipherWidth;
        require(cipher.length % width == 0, "MockRoundVerifier: not whole chunks");
        for (uint256 start; start < cipher.length; start += width) {
            acc = uint256(keccak256(abi.encode(acc, cipher[start:start + width]))) % FIELD_MODULUS;
        }
        return acc;
    }

    function _seal(uint256 acc, uint256[2] calldata ephemeral) private pure returns (uint256) {
        return uint256(keccak256(abi.encode(acc, ephemeral))) % FIELD_MODULUS;
    }

    function verifyChunk(uint256[8] calldata proof, uint256 accIn, uint256 accOut) external pure returns (bool) {
        return proof[0] == uint256(keccak256(abi.encode(accIn, accOut)));
    }

    /// @dev Like the batch verifier: true exactly when every proof `i` is valid for
    ///      `verifyChunk(proofs[i], accs[i], accs[i + 1])`; false for an empty batch or a wrong `accs` length.
    function verifyChunks(uint256[8][] calldata proofs, uint256[] calldata accs) external pure returns (bool) {
        uint256 n = proofs.length;
        if (n == 0 || accs.length != n + 1) return false;
        for (uint256 i; i < n; ++i) {
            if (proofs[i][0] != uint256(keccak256(abi.encode(accs[i], accs[i + 1])))) return false;
        }
        return true;
    }

    function verifyDecision(uint256[8] calldata proof, uint256[] calldata publicInputs) external view returns (bool) {
        if (publicInputs.length != decisionInputCount()) return false;
        return proof[0] == uint256(keccak256(abi.encode(publicInputs)));
    }
}
