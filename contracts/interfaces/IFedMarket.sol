// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IRoundVerifier} from "./IRoundVerifier.sol";

/// @title IFedMarket
/// @notice A marketplace for federated learning. A project owner escrows a reward budget (ETH or an
///         ERC-20); registered trainers commit to their model updates each round; the project's
///         aggregator finalizes a round only with zero-knowledge proofs that the updates were
///         filtered (Multi-Krum), scored and aggregated correctly. The round reward is split in
///         proportion to the proven contribution scores. Payments are pull-based (`withdraw`).
/// @dev Lifecycle of a project: `AwaitingAggregator` (until the named aggregator posts its bond)
///      -> `Active` (round `r` open: submission window, then aggregation window) -> after the last
///      round `Completed`, or `Cancelled` by the owner. A round ends in one of three ways:
///      finalized (proofs verified), skipped (fewer than `f + 3` submissions: nothing to aggregate,
///      no fault) or failed (the aggregator missed its window: bond slashed, the owner must appoint
///      an aggregator again). Every state change emits an event, so the whole history, including
///      every balance, can be rebuilt from logs alone.
interface IFedMarket {
    // ---------------------------------------------------------------------------------------------
    // Types
    // ---------------------------------------------------------------------------------------------

    /// @notice Where a project stands.
    enum ProjectStatus {
        None,
        AwaitingAggregator,
        Active,
        Completed,
        Cancelled
    }

    /// @notice What the proof says about one trainer slot of a round (see docs/PROOF-INTERFACE.md).
    enum SlotStatus {
        Empty,
        Inlier,
        NotAggregated,
        Excluded
    }

    /// @notice Parameters of the proven computation, fixed for the project's lifetime. Their hash is
    ///         bound into every decision proof through `ctx`; `byzantineTolerance` is also read by
    ///         the circuit itself.
    struct CircuitParams {
        /// Number of model parameters `D`.
        uint32 modelSize;
        /// Multi-Krum's tolerated number of Byzantine trainers `f` (a round needs `f + 3` updates).
        uint8 byzantineTolerance;
        /// Fixed-point scale: a real value `x` is stored as `round(x * quantizationScale)`.
        uint64 quantizationScale;
        /// Updates are clipped to `[-clipBound, clipBound]` in quantized units.
        uint64 clipBound;
    }

    /// @notice Local training hyper-parameters of a round: what every trainer uses to train on the
    ///         round's global model. The aggregator chooses the next round's values when it
    ///         finalizes (for example a learning-rate decay), always within the bounds the owner
    ///         fixed at creation. They are not part of the proven statement: they change neither the
    ///         recorded model nor the payments, and the contract's bounds are their only guarantee.
    struct HyperParams {
        /// Learning rate in millionths (`1e-6` units): 10_000 is 0.01.
        uint32 learningRateMicros;
        /// Local epochs over the trainer's data.
        uint16 localEpochs;
        /// Local mini-batch size.
        uint16 batchSize;
    }

    /// @notice Everything an owner chooses when creating a project.
    struct ProjectConfig {
        /// Reward token; `address(0)` for ETH.
        address token;
        /// The account that aggregates and proves every round.
        address aggregator;
        /// Verifier of the round proofs for the project's circuit configuration.
        IRoundVerifier verifier;
        /// Budget escrowed at creation (for ETH, exactly `msg.value`).
        uint256 budget;
        /// Reward of one round, reserved from the budget when the round opens.
        uint256 rewardPerRound;
        /// Number of rounds (finalized, skipped and failed rounds all count).
        uint32 numRounds;
        /// Trainer slots per round; at most `verifier.maxTrainers()`, at least `f + 3`.
        uint32 maxTrainersPerRound;
        /// Length of a round's submission window, in seconds (at most 365 days).
        uint64 submissionWindow;
        /// Length of the aggregation window that follows it, in seconds (at most 365 days).
        uint64 aggregationWindow;
        /// Bond the aggregator must post before rounds open.
        uint256 aggregatorBond;
        /// Amount slashed from the bond for each failed round (at most the bond).
        uint256 slashAmount;
        /// Stake a trainer deposits to register (0 for none); released when the project ends.
        /// Bonds and stakes must arrive in full: with a fee-on-transfer token, use none.
        uint256 trainerStake;
        /// Merkle root of allowed trainers (OpenZeppelin standard tree of `abi.encode(address)`);
        /// zero for open registration.
        bytes32 allowlistRoot;
        /// X25519 public key of the owner: trainers encrypt updates to it too, for audits.
        bytes32 ownerEncryptionKey;
        /// Commitment of the initial global model (see docs/PROOF-INTERFACE.md).
        uint256 initialModelCommitment;
        /// Parameters of the proven computation.
        CircuitParams params;
        /// Hyper-parameters of the first round; within `[minHyperParams, maxHyperParams]`.
        HyperParams initialHyperParams;
        /// Lowest hyper-parameters the aggregator may set, field by field (every field at least 1).
        HyperParams minHyperParams;
        /// Highest hyper-parameters the aggregator may set, field by field (at least the minimum).
        HyperParams maxHyperParams;
        /// IPFS CID of the model specification (architecture, hyper-parameters, quantization).
        string specCid;
        /// IPFS CID of the initial global model weights.
        string initialModelCid;
    }

    /// @notice A Groth16 chunk proof and the accumulator it produces.
    struct ChunkProof {
        uint256[8] proof;
        uint256 accOut;
    }

    /// @notice The result of a round, as proven by the decision proof.
    struct RoundResult {
        /// Commitment of the new global model.
        uint256 newModelCommitment;
        /// Packed slot outcomes: `ceil(K_MAX / 3)` words, slot `3w + i` at bit `66 * i` of word `w`,
        /// each `status | score << 2` with a 64-bit score.
        uint256[] outcomes;
        /// The decision proof.
        uint256[8] proof;
        /// IPFS CID of the new global model weights.
        string newModelCid;
        /// Hyper-parameters of the next round, within the project's bounds (not proven: see `HyperParams`).
        HyperParams nextHyperParams;
    }

    /// @notice A read-only view of a project.
    struct ProjectView {
        address owner;
        address token;
        address aggregator;
        IRoundVerifier verifier;
        ProjectStatus status;
        bool cancelRequested;
        uint32 numRounds;
        uint32 currentRound;
        uint32 maxTrainersPerRound;
        uint32 numChunks;
        uint64 roundOpenedAt;
        uint64 submissionWindow;
        uint64 aggregationWindow;
        uint256 budget;
        uint256 roundReward;
        uint256 rewardPerRound;
        uint256 aggregatorBond;
        uint256 bondPosted;
        uint256 slashAmount;
        uint256 trainerStake;
        bytes32 allowlistRoot;
        bytes32 paramsHash;
        bytes32 ownerEncryptionKey;
        bytes32 aggregatorEncryptionKey;
        uint256 modelCommitment;
        string modelCid;
        string specCid;
        CircuitParams params;
        /// Hyper-parameters of the open (or, once the project ended, the last) round.
        HyperParams hyperParams;
        /// Inclusive bounds fixed at creation.
        HyperParams minHyperParams;
        HyperParams maxHyperParams;
    }

    /// @notice A read-only view of the current round of a project.
    struct RoundView {
        uint32 round;
        uint32 submissions;
        uint32 chunksVerified;
        uint64 submissionDeadline;
        uint64 aggregationDeadline;
        uint256 reward;
        uint256 accumulator;
        /// Hyper-parameters trainers use in this round.
        HyperParams hyperParams;
    }

    // ---------------------------------------------------------------------------------------------
    // Errors
    // ---------------------------------------------------------------------------------------------

    /// @notice No project has this id.
    error UnknownProject(uint256 projectId);
    /// @notice A configuration value is out of its allowed range; `field` names it.
    error InvalidConfig(string field);
    /// @notice A hyper-parameter (`field` names it) is outside the project's bounds `[min, max]`.
    error HyperParamOutOfBounds(string field, uint256 value, uint256 min, uint256 max);
    /// @notice The ETH sent does not match what the call requires.
    error WrongEthAmount(uint256 expected, uint256 sent);
    /// @notice The caller is not the project's owner.
    error NotProjectOwner(uint256 projectId, address caller);
    /// @notice The caller is not the project's aggregator.
    error NotAggregator(uint256 projectId, address caller);
    /// @notice The project is not in the status the call needs.
    error WrongProjectStatus(uint256 projectId, ProjectStatus status);
    /// @notice The owner has cancelled the project; no new submissions or rounds.
    error ProjectCancelling(uint256 projectId);
    /// @notice Fewer tokens arrived than required (fee-on-transfer tokens).
    error InsufficientDeposit(uint256 required, uint256 received);
    /// @notice The trainer is already registered in this project.
    error AlreadyRegistered(uint256 projectId, address trainer);
    /// @notice The trainer is not on the project's allowlist.
    error NotAllowlisted(uint256 projectId, address trainer);
    /// @notice The trainer is not registered in this project.
    error NotRegistered(uint256 projectId, address trainer);
    /// @notice The call names a round that is not the project's open round.
    error WrongRound(uint256 projectId, uint256 openRound, uint256 givenRound);
    /// @notice The submission window of the round closed at `deadline`.
    error SubmissionWindowClosed(uint256 projectId, uint256 round, uint256 deadline);
    /// @notice The submission window of the round is still open until `deadline`.
    error SubmissionWindowOpen(uint256 projectId, uint256 round, uint256 deadline);
    /// @notice The aggregation window of the round is not open: it runs over `[start, end)`.
    error OutsideAggregationWindow(uint256 projectId, uint256 round, uint256 start, uint256 end);
    /// @notice The aggregation window of the round has not ended yet (it ends at `end`).
    error AggregationWindowOpen(uint256 projectId, uint256 round, uint256 end);
    /// @notice The trainer already submitted in this round.
    error AlreadySubmitted(uint256 projectId, uint256 round, address trainer);
    /// @notice All trainer slots of the round are taken.
    error RoundFull(uint256 projectId, uint256 round, uint256 slots);
    /// @notice The commitment is zero or not a field element.
    error InvalidCommitment(uint256 commitment);
    /// @notice The CID is empty or longer than 128 bytes.
    error InvalidCid();
    /// @notice The round has fewer than `f + 3` submissions: it cannot be aggregated.
    error QuorumNotReached(uint256 projectId, uint256 round, uint256 submissions, uint256 quorum);
    /// @notice The round has enough submissions to be aggregated, so it cannot be skipped.
    error QuorumReached(uint256 projectId, uint256 round, uint256 submissions, uint256 quorum);
    /// @notice Chunk proofs must continue at `expected` (or restart at 0).
    error ChunkOutOfOrder(uint256 expected, uint256 given);
    /// @notice More chunk proofs than the model has chunks.
    error TooManyChunks(uint256 numChunks, uint256 given);
    /// @notice The chunk proof at this chunk index does not verify.
    error InvalidChunkProof(uint256 chunkIndex);
    /// @notice Not all chunk proofs of the round have been verified yet.
    error ChunksIncomplete(uint256 verified, uint256 required);
    /// @notice The outcome array has the wrong length.
    error WrongOutcomeCount(uint256 expected, uint256 given);
    /// @notice The decision proof does not verify.
    error InvalidDecisionProof();
    /// @notice The account has nothing to withdraw in this token.
    error NothingToWithdraw(address token, address account);
    /// @notice The ETH transfer to the account failed.
    error EthTransferFailed(address to, uint256 amount);
    /// @notice The trainer has no stake to release, or the project has not ended.
    error NoStakeToRelease(uint256 projectId, address trainer);

    // ---------------------------------------------------------------------------------------------
    // Events
    // ---------------------------------------------------------------------------------------------

    /// @notice A project was created and its budget escrowed (`budget` is the amount received).
    event ProjectCreated(
        uint256 indexed projectId, address indexed owner, ProjectConfig config, uint256 budget, bytes32 paramsHash, uint32 numChunks
    );
    /// @notice The project's budget was topped up by `amount` (the amount received).
    event ProjectFunded(uint256 indexed projectId, address indexed funder, uint256 amount);
    /// @notice The owner appointed an aggregator (after a failed round, possibly the same one).
    event AggregatorAppointed(uint256 indexed projectId, address indexed aggregator, uint256 bond, uint256 slashAmount);
    /// @notice The aggregator posted its bond (`amount` now, `bondPosted` in total) and its key.
    event AggregatorAccepted(
        uint256 indexed projectId, address indexed aggregator, uint256 amount, uint256 bondPosted, bytes32 encryptionKey
    );
    /// @notice A trainer registered, depositing `stake`.
    event TrainerRegistered(uint256 indexed projectId, address indexed trainer, uint256 stake);
    /// @notice A round opened with `reward` reserved, on the model with this commitment; trainers
    ///         train with `hyperParams` (the initial ones, or those set by the last finalized round).
    event RoundOpened(
        uint256 indexed projectId,
        uint256 indexed round,
        uint64 submissionDeadline,
        uint64 aggregationDeadline,
        uint256 reward,
        uint256 modelCommitment,
        string modelCid,
        HyperParams hyperParams
    );
    /// @notice A trainer committed to its update in `slot` of the round.
    event UpdateSubmitted(
        uint256 indexed projectId, uint256 indexed round, address indexed trainer, uint256 slot, uint256 commitment, string cid
    );
    /// @notice Chunk proofs `[firstChunk, firstChunk + count)` verified; the accumulator is now `accumulator`.
    event ChunkProofsAccepted(
        uint256 indexed projectId, uint256 indexed round, uint256 firstChunk, uint256 count, uint256 accumulator
    );
    /// @notice The proof verified for one slot: its status, proven score and the reward accrued.
    event ContributionRecorded(
        uint256 indexed projectId,
        uint256 indexed round,
        address indexed trainer,
        uint256 slot,
        SlotStatus status,
        uint256 score,
        uint256 reward
    );
    /// @notice A round was finalized: the new model is recorded and `paid` of the reward accrued;
    ///         the rest went back to the budget.
    event RoundFinalized(
        uint256 indexed projectId,
        uint256 indexed round,
        uint256 newModelCommitment,
        string newModelCid,
        uint256 totalScore,
        uint256 paid
    );
    /// @notice A round closed without aggregation (too few submissions); its reward went back to the budget.
    event RoundSkipped(uint256 indexed projectId, uint256 indexed round, uint256 submissions);
    /// @notice The aggregator missed its window: `slashed` of its bond went to the owner and the
    ///         round's submitters; the round's reward went back to the budget.
    event RoundFailed(
        uint256 indexed projectId, uint256 indexed round, address indexed aggregator, uint256 slashed, uint256 perTrainer
    );
    /// @notice The owner cancelled the project; `refunded` of the budget was credited to the owner now.
    event ProjectCancelled(uint256 indexed projectId, uint256 refunded, bool roundStillOpen);
    /// @notice The project ended (all rounds done, or cancelled): budget and bond were released.
    event ProjectClosed(uint256 indexed projectId, ProjectStatus status, uint256 budgetRefunded, uint256 bondReleased);
    /// @notice A trainer's stake in an ended project was released (credited back to it).
    event StakeReleased(uint256 indexed projectId, address indexed trainer, uint256 amount);
    /// @notice `amount` of `token` became withdrawable by `account`.
    event Credited(address indexed token, address indexed account, uint256 amount);
    /// @notice `account` withdrew `amount` of `token`.
    event Withdrawn(address indexed token, address indexed account, uint256 amount);

    // ---------------------------------------------------------------------------------------------
    // Owner
    // ---------------------------------------------------------------------------------------------

    /// @notice Creates a project and escrows its budget (ETH in `msg.value`, or an ERC-20 pulled
    ///         with `transferFrom`; fee-on-transfer tokens escrow what arrives).
    /// @return projectId The new project's id (ids start at 1).
    function createProject(ProjectConfig calldata config) external payable returns (uint256 projectId);

    /// @notice Adds to a project's budget. Anyone may fund a project.
    /// @param amount For ERC-20 projects the amount to pull; for ETH projects it must equal `msg.value`.
    function fundProject(uint256 projectId, uint256 amount) external payable;

    /// @notice Appoints the aggregator (the same one or a new one) while the project awaits one.
    ///         A replaced aggregator's remaining bond is credited back to it.
    function appointAggregator(uint256 projectId, address aggregator, uint256 bond, uint256 slashAmount) external;

    /// @notice Cancels the project. The unallocated budget is credited to the owner at once. If the
    ///         open round already has a quorum of submissions, it stays open for its aggregator
    ///         (finalize or fail as usual) and the project closes when it ends; otherwise the project
    ///         closes now. Everything accrued stays claimable.
    function cancelProject(uint256 projectId) external;

    // ---------------------------------------------------------------------------------------------
    // Aggregator
    // ---------------------------------------------------------------------------------------------

    /// @notice The appointed aggregator posts (or tops up) its bond and publishes its X25519 key;
    ///         the next round opens.
    function acceptAggregator(uint256 projectId, bytes32 encryptionKey) external payable;

    /// @notice Verifies chunk proofs of the open round, in order. `firstChunk` must equal the number
    ///         already verified, or 0 to restart the round's accumulator.
    function submitChunkProofs(uint256 projectId, uint256 round, uint256 firstChunk, ChunkProof[] calldata proofs)
        external;

    /// @notice Verifies the remaining chunk proofs (may be empty) and the decision proof, records the
    ///         new model, accrues every trainer's share of the round reward and opens the next round
    ///         with `result.nextHyperParams` (reverts with `HyperParamOutOfBounds` outside the
    ///         project's bounds). Skipped and failed rounds keep the current hyper-parameters.
    function finalizeRound(
        uint256 projectId,
        uint256 round,
        uint256 firstChunk,
        ChunkProof[] calldata chunkProofs,
        RoundResult calldata result
    ) external;

    // ---------------------------------------------------------------------------------------------
    // Trainers
    // ---------------------------------------------------------------------------------------------

    /// @notice Registers the caller as a trainer, depositing the project's trainer stake.
    /// @param allowlistProof Merkle proof of the caller's address (empty for open projects).
    function registerTrainer(uint256 projectId, bytes32[] calldata allowlistProof) external payable;

    /// @notice Commits to the caller's update for the open round.
    /// @param round The round the update was trained for (must be the open round).
    /// @param commitment `Poseidon(chain of chunk hashes, salt)`: a non-zero field element.
    /// @param cid IPFS CID of the encrypted update (1 to 128 bytes).
    function submitUpdate(uint256 projectId, uint256 round, uint256 commitment, string calldata cid) external;

    /// @notice Credits a registered trainer's stake back once the project has ended.
    function releaseStake(uint256 projectId) external;

    // ---------------------------------------------------------------------------------------------
    // Anyone
    // ---------------------------------------------------------------------------------------------

    /// @notice Closes the open round without aggregation after its submission window when it has
    ///         fewer than `f + 3` submissions. Its reward goes back to the budget; nobody is slashed.
    function skipRound(uint256 projectId) external;

    /// @notice Fails the open round after its aggregation window passed without finalization:
    ///         slashes the aggregator's bond (half to the round's submitters, the rest to the owner),
    ///         returns the round's reward to the budget and waits for the owner to appoint an aggregator.
    function failRound(uint256 projectId) external;

    /// @notice Withdraws everything credited to the caller in `token` (`address(0)` for ETH).
    function withdraw(address token) external;

    // ---------------------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------------------

    /// @notice Number of projects created so far (ids run from 1 to this number).
    function projectCount() external view returns (uint256);

    /// @notice A project's configuration and state.
    function getProject(uint256 projectId) external view returns (ProjectView memory);

    /// @notice The open (or last) round of a project.
    function getCurrentRound(uint256 projectId) external view returns (RoundView memory);

    /// @notice The trainer and commitment in `slot` of `round`. Slot storage is reused from round to
    ///         round, so this returns zeros for a slot that is empty in `round` or was overwritten by
    ///         a later round (the `UpdateSubmitted` events keep the full history).
    function getSubmission(uint256 projectId, uint256 round, uint256 slot)
        external
        view
        returns (address trainer, uint256 commitment);

    /// @notice Whether `trainer` is registered and the last round it submitted to plus one (0 = never).
    function getTrainer(uint256 projectId, address trainer)
        external
        view
        returns (bool registered, uint32 lastSubmittedRoundPlusOne, uint256 stake);

    /// @notice What `account` can withdraw in `token`.
    function creditOf(address token, address account) external view returns (uint256);

    /// @notice Everything the contract owes in `token`: budgets, reserved round rewards, bonds,
    ///         stakes and credits. The contract's balance of `token` is never below it.
    function totalLiabilities(address token) external view returns (uint256);

    /// @notice The round context `ctx` bound into the decision proof of `round` (docs/PROOF-INTERFACE.md).
    function roundContext(uint256 projectId, uint256 round) external view returns (uint256);

    /// @notice The public inputs the decision proof of the open round must verify against, given
    ///         the aggregator's result (useful to check a proof off chain before sending it).
    function decisionPublicInputs(uint256 projectId, uint256 newModelCommitment, uint256[] calldata outcomes)
        external
        view
        returns (uint256[] memory);
}
