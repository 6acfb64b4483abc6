// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IRoundVerifier} from "../../interfaces/IRoundVerifier.sol";

/// @title MockRoundVerifier
/// @notice Test double for {IRoundVerifier}, for unit tests of the marketplace alone. A "proof" is
///         valid when its first word is the keccak hash of the public inputs it is checked against,
///         so tests still see verification fail whenever any public input changes.
contract MockRoundVerifier is IRoundVerifier {
    uint256 private immutable _maxTrainers;
    uint256 private immutable _chunkSize;

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

    function decisionInputCount() public view returns (uint256) {
        // ctx, prevModel, newModel, accFinal, sealKey.x, sealKey.y; K_MAX commitments; ceil(K_MAX / 3) outcome words.
        return 6 + _maxTrainers + (_maxTrainers + 2) / 3;
    }

    function verifyChunk(uint256[8] calldata proof, uint256 accIn, uint256 accOut) external pure returns (bool) {
        return proof[0] == uint256(keccak256(abi.encode(accIn, accOut)));
    }

    function verifyDecision(uint256[8] calldata proof, uint256[] calldata publicInputs) external view returns (bool) {
        if (publicInputs.length != decisionInputCount()) return false;
        return proof[0] == uint256(keccak256(abi.encode(publicInputs)));
    }
}
