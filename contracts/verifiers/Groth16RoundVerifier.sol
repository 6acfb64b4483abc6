// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

import {IRoundVerifier} from "../interfaces/IRoundVerifier.sol";

/// @title Groth16RoundVerifier
/// @notice Adapts two snarkjs-generated Groth16 verifiers (the chunk circuit's and the decision
///         circuit's, see `contracts/verifiers/generated/`) and the batch verifier of the chunk
///         circuit's key (`BatchChunkVerifier_<cfg>`, scripts/circuits/batch-verifier.ts) to {IRoundVerifier}.
/// @dev snarkjs emits `verifyProof(uint[2], uint[2][2], uint[2], uint[N])` with `N` fixed per
///      circuit. All its arguments are static, so their ABI encoding is the eight proof words
///      followed by the `N` public inputs; we build that calldata directly, which lets one adapter
///      serve every circuit configuration.
///
///      Sealed commitments (`sealedCommitment`) are hashed by the deployed `poseidon-solidity`
///      (0.0.5) libraries PoseidonT(min(NP, 5) + 1), PoseidonT3 and PoseidonT4, called with
///      `staticcall` and `hash(uint256[n])` calldata, so nothing is linked and one set of libraries
///      serves every adapter. The package ships PoseidonT2 to PoseidonT6 only, which is why core
///      hashes a ciphertext chunk with `hashNarrow` (calls of at most 5 inputs): the test
///      configuration (K 4, CHUNK 16, B 16, NP 2) and the demo one (K 8, CHUNK 128, B 8, NP 5) take one
///      call per chunk, the production CHUNK 512 at B 8 (NP 17) four PoseidonT6 calls.
contract Groth16RoundVerifier is IRoundVerifier {
    /// @notice `cipherWidth_` is 0: a chunk has at least one ciphertext element.
    error UnsupportedCipherWidth(uint256 cipherWidth);
    /// @notice `cipher` is empty or not a whole number of chunks of `cipherWidth` elements.
    error CipherLengthNotWhole(uint256 length, uint256 cipherWidth);
    /// @notice A Poseidon library call failed (no code at `hasher`, or not the expected library).
    error HasherFailed(address hasher);

    /// @notice The chunk circuit's verifier (`N = 2`).
    address public immutable chunkVerifier;
    /// @notice The decision circuit's verifier (`N = decisionInputCount()`).
    address public immutable decisionVerifier;
    /// @notice The batch verifier of the chunk circuit's key: `verifyChunkBatch(uint256[8][], uint256[])`.
    address public immutable batchChunkVerifier;
    /// @notice poseidon-solidity's PoseidonT(min(NP, 5) + 1): the calls of `hashNarrow` over one
    ///         chunk's ciphertext.
    address public immutable cipherHasher;
    /// @notice poseidon-solidity's PoseidonT3: one step of the ciphertext chain.
    address public immutable pairHasher;
    /// @notice poseidon-solidity's PoseidonT4: the commitment `Poseidon(chain, E.x, E.y)`.
    address public immutable tripleHasher;

    uint256 private immutable _maxTrainers;
    uint256 private immutable _chunkSize;
    uint256 private immutable _decisionInputs;
    bytes4 private immutable _decisionSelector;
    uint256 private immutable _cipherWidth;
    uint256 private immutable _maxRounds;
    bytes4 private immutable _cipherSelector;

    bytes4 private constant CHUNK_SELECTOR = bytes4(keccak256("verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[2])"));
    bytes4 private constant BATCH_SELECTOR = bytes4(keccak256("verifyChunkBatch(uint256[8][],uint256[])"));
    bytes4 private constant PAIR_SELECTOR = bytes4(keccak256("hash(uint256[2])"));
    bytes4 private constant TRIPLE_SELECTOR = bytes4(keccak256("hash(uint256[3])"));
    /// @dev Widest poseidon-solidity library: PoseidonT6 hashes 5 inputs (core's `NARROW_MAX_INPUTS`).
    uint256 private constant NARROW_INPUTS = 5;

    /// @param chunkVerifier_ Generated verifier of the chunk circuit.
    /// @param decisionVerifier_ Generated verifier of the decision circuit.
    /// @param batchChunkVerifier_ Generated batch verifier of the chunk circuit's key
    ///        (`BatchChunkVerifier_<cfg>`, the same key as `chunkVerifier_`).
    /// @param maxTrainers_ `K_MAX` of both circuits.
    /// @param chunkSize_ `CHUNK` of the chunk circuit.
    /// @param cipherWidth_ `NP = packedLength(CHUNK, B)` of the circuits (at least 1).
    /// @param maxRounds_ `min(2^(BG-B-1), 2^32 - 1)` for the circuits' `B` and `BG` (core `maxRounds`).
    /// @param cipherHasher_ Deployed PoseidonT(min(NP, 5) + 1) (`hash(uint256[min(NP, 5)])`).
    /// @param pairHasher_ Deployed PoseidonT3 (`hash(uint256[2])`).
    /// @param tripleHasher_ Deployed PoseidonT4 (`hash(uint256[3])`).
    constructor(
        address chunkVerifier_,
        address decisionVerifier_,
        address batchChunkVerifier_,
        uint256 maxTrainers_,
        uint256 chunkSize_,
        uint256 cipherWidth_,
        uint256 maxRounds_,
        address cipherHasher_,
        address pairHasher_,
        address tripleHasher_
    ) {
        if (cipherWidth_ == 0) revert UnsupportedCipherWidth(cipherWidth_);
        chunkVerifier = chunkVerifier_;
        decisionVerifier = decisionVerifier_;
        batchChunkVerifier = batchChunkVerifier_;
        _maxTrainers = maxTrainers_;
        _chunkSize = chunkSize_;
        _cipherWidth = cipherWidth_;
        _maxRounds = maxRounds_;
        cipherHasher = cipherHasher_;
        pairHasher = pairHasher_;
        tripleHasher = tripleHasher_;
        uint256 callWidth = cipherWidth_ < NARROW_INPUTS ? cipherWidth_ : NARROW_INPUTS;
        _cipherSelector = bytes4(keccak256(abi.encodePacked("hash(uint256[", Strings.toString(callWidth), "])")));
        // ctx, prevModel, newModel, accFinal, sealKey.x, sealKey.y, reference, then K_MAX
        // commitments and ceil(K_MAX / 3) outcome words (IRoundVerifier.verifyDecision): the
        // generated decision verifier takes `uint[7 + K_MAX + W]` (13 at K_MAX = 4, 18 at K_MAX = 8).
        // A verifier of another input count has no function of this selector, so `verifyDecision`
        // returns false.
        uint256 inputs = 7 + maxTrainers_ + (maxTrainers_ + 2) / 3;
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
    function maxRounds() external view returns (uint256) {
        return _maxRounds;
    }

    /// @inheritdoc IRoundVerifier
    function decisionInputCount() external view returns (uint256) {
        return _decisionInputs;
    }

    /// @inheritdoc IRoundVerifier
    function cipherWidth() external view returns (uint256) {
        return _cipherWidth;
    }

    /// @inheritdoc IRoundVerifier
    function sealedCommitment(uint256[2] calldata ephemeral, uint256[] calldata cipher) external view returns (uint256) {
        if (cipher.length == 0) revert CipherLengthNotWhole(0, _cipherWidth);
        return _seal(_chain(0, cipher), ephemeral);
    }

    /// @inheritdoc IRoundVerifier
    function cipherChain(uint256 accIn, uint256[] calldata cipher) external view returns (uint256) {
        if (cipher.length == 0) revert CipherLengthNotWhole(0, _cipherWidth);
        return _chain(accIn, cipher);
    }

    /// @inheritdoc IRoundVerifier
    function sealedCommitmentFrom(uint256 accIn, uint256[2] calldata ephemeral, uint256[] calldata cipher)
        external
        view
        returns (uint256)
    {
        if (cipher.length == 0 && accIn == 0) revert CipherLengthNotWhole(0, _cipherWidth);
        return _seal(_chain(accIn, cipher), ephemeral);
    }

    /// @dev The chain from `acc` over the whole chunks of `cipher` (possibly none).
    function _chain(uint256 acc, uint256[] calldata cipher) private view returns (uint256) {
        uint256 width = _cipherWidth;
        uint256 length = cipher.length;
        if (length % width != 0) revert CipherLengthNotWhole(length, width);
        // One chain step per chunk; the market bounds `length` by the project's chunk count.
        for (uint256 start; start < length; start += width) {
            acc = _hash(pairHasher, abi.encodePacked(PAIR_SELECTOR, acc, _chunkHash(cipher[start:start + width])));
        }
        return acc;
    }

    function _seal(uint256 acc, uint256[2] calldata ephemeral) private view returns (uint256) {
        return _hash(tripleHasher, abi.encodePacked(TRIPLE_SELECTOR, acc, ephemeral));
    }

    function _chunkHash(uint256[] calldata chunk) private view returns (uint256 h) {
        uint256 width = chunk.length;
        if (width <= NARROW_INPUTS) return _hash(cipherHasher, abi.encodePacked(_cipherSelector, chunk));
        h = _hash(cipherHasher, abi.encodePacked(_cipherSelector, chunk[0:NARROW_INPUTS]));
        // Bounded by NP / 4 calls.
        for (uint256 pos = NARROW_INPUTS; pos < width; pos += NARROW_INPUTS - 1) {
            uint256[NARROW_INPUTS - 1] memory group;
            for (uint256 i; i < NARROW_INPUTS - 1 && pos + i < width; ++i) {
                group[i] = chunk[pos + i];
            }
            h = _hash(cipherHasher, abi.encodePacked(_cipherSelector, h, group));
        }
    }

    /// @inheritdoc IRoundVerifier
    function verifyChunk(uint256[8] calldata proof, uint256 accIn, uint256 accOut) external view returns (bool) {
        return _call(chunkVerifier, abi.encodePacked(CHUNK_SELECTOR, proof, accIn, accOut));
    }

    /// @inheritdoc IRoundVerifier
    /// @dev The batch verifier reverts when given too little gas for its precompile calls; like every
    ///      failed call here, that reads as false (the market then reverts either way).
    function verifyChunks(uint256[8][] calldata proofs, uint256[] calldata accs) external view returns (bool) {
        return _call(batchChunkVerifier, abi.encodeWithSelector(BATCH_SELECTOR, proofs, accs));
    }

    /// @inheritdoc IRoundVerifier
    function verifyDecision(uint256[8] calldata proof, uint256[] calldata publicInputs) external view returns (bool) {
        if (publicInputs.length != _decisionInputs) return false;
        return _call(decisionVerifier, abi.encodePacked(_decisionSelector, proof, publicInputs));
    }

    /// @dev The libraries' `hash` is `public pure`, so a plain `staticcall` runs it (no linking,
    ///      no delegatecall); it returns one word.
    function _hash(address hasher, bytes memory data) private view returns (uint256) {
        (bool ok, bytes memory ret) = hasher.staticcall(data);
        if (!ok || ret.length != 32) revert HasherFailed(hasher);
        return abi.decode(ret, (uint256));
    }

    function _call(address target, bytes memory data) private view returns (bool) {
        (bool ok, bytes memory ret) = target.staticcall(data);
        return ok && ret.length == 32 && abi.decode(ret, (bool));
    }
}
