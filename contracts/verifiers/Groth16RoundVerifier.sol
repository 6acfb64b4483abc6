// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

import {IRoundVerifier} from "../interfaces/IRoundVerifier.sol";

/// @title Groth16RoundVerifier
/// @notice Adapts two snarkjs-generated Groth16 verifiers (the chunk circuit's and the decision
///         circuit's, see `contracts/verifiers/generated/`) to {IRoundVerifier}.
/// @dev snarkjs emits `verifyProof(uint[2], uint[2][2], uint[2], uint[N])` with `N` fixed per
///      circuit. All its arguments are static, so their ABI encoding is the eight proof words
///      followed by the `N` public inputs; we build that calldata directly, which lets one adapter
///      serve every circuit configuration.
contract Groth16RoundVerifier is IRoundVerifier {
    /// @notice The chunk circuit's verifier (`N = 2`).
    address public immutable chunkVerifier;
    /// @notice The decision circuit's verifier (`N = decisionInputCount()`).
    address public immutable decisionVerifier;

    uint256 private immutable _maxTrainers;
    uint256 private immutable _chunkSize;
    uint256 private immutable _decisionInputs;
    bytes4 private immutable _decisionSelector;

    bytes4 private constant CHUNK_SELECTOR = bytes4(keccak256("verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[2])"));

    /// @param chunkVerifier_ Generated verifier of the chunk circuit.
    /// @param decisionVerifier_ Generated verifier of the decision circuit.
    /// @param maxTrainers_ `K_MAX` of both circuits.
    /// @param chunkSize_ `CHUNK` of the chunk circuit.
    constructor(address chunkVerifier_, address decisionVerifier_, uint256 maxTrainers_, uint256 chunkSize_) {
        chunkVerifier = chunkVerifier_;
        decisionVerifier = decisionVerifier_;
        _maxTrainers = maxTrainers_;
        _chunkSize = chunkSize_;
        // ctx, prevModel, newModel, accFinal, sealKey.x, sealKey.y, then K_MAX commitments and
        // ceil(K_MAX / 3) outcome words (IRoundVerifier.verifyDecision): the generated decision
        // verifier takes `uint[6 + K_MAX + W]` (12 at K_MAX = 4, 17 at K_MAX = 8). A verifier of
        // another input count has no function of this selector, so `verifyDecision` returns false.
        uint256 inputs = 6 + maxTrainers_ + (maxTrainers_ + 2) / 3;
        _decisionInputs = inputs;
        _decisionSelector = bytes4(
            keccak256(
                abi.encodePacked("verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[", Strings.toString(inputs), "])")
            )
        );
    }

    /// @inheritdoc IRoundVerifier
    function maxTrainers() external view returns (uint256) {
        return _maxTrainers;
    }

    /// @inheritdoc IRoundVerifier
    function chunkSize() external view returns (uint256) {
        return _chunkSize;
    }

    /// @inheritdoc IRoundVerifier
    function decisionInputCount() external view returns (uint256) {
        return _decisionInputs;
    }

    /// @inheritdoc IRoundVerifier
    function verifyChunk(uint256[8] calldata proof, uint256 accIn, uint256 accOut) external view returns (bool) {
        return _call(chunkVerifier, abi.encodePacked(CHUNK_SELECTOR, proof, accIn, accOut));
    }

    /// @inheritdoc IRoundVerifier
    function verifyDecision(uint256[8] calldata proof, uint256[] calldata publicInputs) external view returns (bool) {
        if (publicInputs.length != _decisionInputs) return false;
        return _call(decisionVerifier, abi.encodePacked(_decisionSelector, proof, publicInputs));
    }

    function _call(address target, bytes memory data) private view returns (bool) {
        (bool ok, bytes memory ret) = target.staticcall(data);
        return ok && ret.length == 32 && abi.decode(ret, (bool));
    }
}
