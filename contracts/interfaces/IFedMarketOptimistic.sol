// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IFedMarket} from "./IFedMarket.sol";

/// @title IFedMarketOptimistic
/// @notice Optimistic rounds: a project with a `challengeWindow` lets its aggregator finalize a
///         round with the decision proof and a commitment to the chunk results instead of every
///         chunk proof, so a round costs the same gas whatever the model's size. FedMarket answers
///         these calls (it forwards them to its FedMarketOptimistic module), at its own address.
/// @dev The statement does not change: the decision proof is verified at finalization as in
///      `IFedMarket.finalizeRound`; only the chain of chunk proofs from `acc_0 = 0` to the decision
///      proof's `accFinal` is taken on the aggregator's word, for `challengeWindow` seconds.
///
///      - The aggregator commits to every chunk accumulator `acc_0 .. acc_n` (`n = numChunks`,
///        `acc_0 = 0`, `acc_n = accFinal`) by a Merkle root (`chunkRoot`; leaf `i` is
///        `keccak256(bytes.concat(keccak256(abi.encode(i, acc_i))))`, OpenZeppelin's sorted-pair
///        tree; reference: packages/protocol `chunkAccumulatorTree`) and pins the proofs with those
///        accumulators to IPFS (`proofsCid`). The round's payouts are held, not credited.
///      - Until the window closes anyone may challenge a range of chunks `[first, first + count)`,
///        depositing `challengeDeposit`; the challenge holds `min(slashAmount, bondPosted)` of the
///        aggregator's bond. Anyone may answer within `aggregationWindow` with the range's chunk
///        proofs, from a committed accumulator to a committed accumulator, in one or more
///        transactions. Answered: the deposit goes to the aggregator (it paid for the proofs), the
///        bond is whole again. Not answered: anyone voids the round.
///      - A voided round's model is replaced by the model it started from, its held payouts are
///        split equally among its revealed slots (as a failed round's reward is), the held stake is
///        slashed: half in equal parts to those slots, the rest, with the deposit, to the challenger.
///      - After the window, with no challenge open, anyone settles the round: its payouts are
///        credited as finalized.
///      Safety: a round whose `accFinal` no chunk proofs lead to cannot be answered for the whole
///      range `[0, n)`, so one watcher that challenges it (knowing the bad chunk from the pinned
///      proofs, or the whole range when they are not available) voids it. While a challenge is
///      open nothing of the next round can be aggregated (`ChallengeOpen`), and the window ends
///      before the next round's aggregation window opens, so a voided round is always the last
///      one aggregated. The bond needed and the window are discussed in docs/THREAT-MODEL.md.
interface IFedMarketOptimistic {
    /// @notice One entry of a round's payouts: a revealed slot's trainer and its share (0 for a
    ///         slot not paid). The list of a round is its `ContributionRecorded` events, in order.
    struct Payout {
        address trainer;
        uint256 share;
    }

    /// @notice What the market holds about an optimistic round.
    struct OptimisticRoundView {
        /// Challenges close at this time; 0 if the round was not finalized optimistically.
        uint64 windowEnd;
        /// The open challenge's answer deadline; 0 when no challenge is open.
        uint64 answerDeadline;
        /// The open (or last) challenge's chunks `[first, end)`, answered up to `next`.
        uint32 first;
        uint32 end;
        uint32 next;
        bool settled;
        bool voided;
        address aggregator;
        address challenger;
        bytes32 chunkRoot;
        uint256 accFinal;
        uint256 prevModel;
        bytes32 payoutHash;
        /// The held payouts (0 once settled or voided).
        uint256 payout;
        /// The part of the bond the open challenge holds.
        uint256 stake;
    }

    /// @notice The project has no challenge window: its rounds must be proven (`finalizeRound`).
    error NotOptimistic(uint256 projectId);
    /// @notice The round was not finalized optimistically.
    error NotOptimisticRound(uint256 projectId, uint256 round);
    /// @notice A chunk root of zero commits to nothing.
    error InvalidChunkRoot();
    /// @notice The round's challenge window closed at `windowEnd`.
    error ChallengeWindowClosed(uint256 projectId, uint256 round, uint256 windowEnd);
    /// @notice The round can still be challenged until `windowEnd`.
    error ChallengeWindowOpen(uint256 projectId, uint256 round, uint256 windowEnd);
    /// @notice A challenge of `round` is open until `answerDeadline`: answer or void it first.
    error ChallengeOpen(uint256 projectId, uint256 round, uint256 answerDeadline);
    /// @notice No challenge of the round is open.
    error NoOpenChallenge(uint256 projectId, uint256 round);
    /// @notice The challenge's answer deadline passed: it can only be voided.
    error AnswerDeadlinePassed(uint256 projectId, uint256 round, uint256 answerDeadline);
    /// @notice The challenge can still be answered until `answerDeadline`.
    error AnswerDeadlineNotReached(uint256 projectId, uint256 round, uint256 answerDeadline);
    /// @notice The chunk range `[first, first + count)` is empty or past the model's `numChunks`.
    error InvalidChunkRange(uint256 first, uint256 count, uint256 numChunks);
    /// @notice `acc` is not the committed accumulator `acc_index` (wrong value or Merkle proof).
    error AccumulatorNotCommitted(uint256 index, uint256 acc);
    /// @notice The payouts given are not the round's (their hash differs from the recorded one).
    error PayoutsMismatch(uint256 projectId, uint256 round);
    /// @notice The CID given is not the model the round started from.
    error ModelCidMismatch(uint256 projectId, uint256 round);
    /// @notice The round was already settled or voided.
    error RoundClosed(uint256 projectId, uint256 round);

    /// @notice `round` was finalized with its chunk results committed (`chunkRoot`, the proofs
    ///         at `proofsCid`) and its payouts held until `windowEnd` (its `ContributionRecorded`
    ///         and `RoundFinalized` events come just before, as for a proven round).
    event ChunksCommitted(
        uint256 indexed projectId,
        uint256 indexed round,
        uint256 accFinal,
        bytes32 chunkRoot,
        string proofsCid,
        uint256 payout,
        bytes32 payoutHash,
        uint64 windowEnd
    );
    /// @notice `challenger` challenged chunks `[first, first + count)` of `round`, holding `stake`
    ///         of the aggregator's bond until `answerDeadline`.
    event RoundChallenged(
        uint256 indexed projectId,
        uint256 indexed round,
        address indexed challenger,
        uint256 first,
        uint256 count,
        uint64 answerDeadline,
        uint256 stake
    );
    /// @notice Chunk proofs `[firstChunk, firstChunk + count)` of the open challenge verified, up to `accOut`.
    event ChallengeProofsAccepted(
        uint256 indexed projectId, uint256 indexed round, uint256 firstChunk, uint256 count, uint256 accOut
    );
    /// @notice The open challenge was answered in full: the deposit went to `aggregator`, the
    ///         held stake back to the bond (or, once the bond was released, to the aggregator).
    event ChallengeAnswered(
        uint256 indexed projectId, uint256 indexed round, address indexed aggregator, uint256 deposit, uint256 stake
    );
    /// @notice `round` was voided: its challenge went unanswered. `slashed` of the bond was split,
    ///         `slashPerTrainer` to each of the round's `trainers` revealed slots and the rest with
    ///         the deposit to `challenger`; the held `payout` was split equally among those slots;
    ///         the project's model is back to `restoredModel` (`restoredModelCid`).
    event RoundVoided(
        uint256 indexed projectId,
        uint256 indexed round,
        address indexed challenger,
        uint256 slashed,
        uint256 slashPerTrainer,
        uint256 payout,
        uint256 trainers,
        uint256 restoredModel,
        string restoredModelCid
    );
    /// @notice `round`'s held payouts (`payout` in all) were credited.
    event RoundSettled(uint256 indexed projectId, uint256 indexed round, uint256 payout);
    /// @notice The bond kept posted past the project's end for its last optimistic round was
    ///         credited to `aggregator`.
    event BondReleased(uint256 indexed projectId, address indexed aggregator, uint256 amount);

    /// @notice Finalizes the open round like `IFedMarket.finalizeRound` but with no chunk proofs:
    ///         `accFinal` enters the decision proof as the final accumulator, `chunkRoot` commits to
    ///         the accumulators of every chunk (see the contract notes), `proofsCid` says where the
    ///         chunk proofs are pinned. Payouts are recorded (`ContributionRecorded`) and held
    ///         until `settleRound`. Same windows and checks as `finalizeRound` (not before the
    ///         round's answer deadline, `IFedMarket.AnswerWindowOpen`, nor the end of a committed and
    ///         unpublished reference's publication window, `IFedMarket.ReferencePublicationOpen`),
    ///         plus: no chunk proof submitted for the round (`ChunkProofsStarted`).
    function finalizeRoundOptimistic(
        uint256 projectId,
        uint256 round,
        uint256 accFinal,
        bytes32 chunkRoot,
        string calldata proofsCid,
        IFedMarket.RoundResult calldata result
    ) external;

    /// @notice Challenges chunks `[first, first + count)` of an optimistic round inside its
    ///         challenge window, depositing `challengeDeposit` (for ETH, exactly `msg.value`).
    ///         One challenge per round at a time; a round may be challenged again after an answer.
    function challengeRound(uint256 projectId, uint256 round, uint256 first, uint256 count) external payable;

    /// @notice Answers the open challenge of `round` with its next chunk proofs, before its
    ///         answer deadline; anyone may answer. The first part starts at the range's first
    ///         chunk from `accIn`, the committed `acc_first` (`accInProof` its Merkle proof; `0`
    ///         and no proof when `first == 0`); later parts continue where the last one ended and
    ///         ignore `accIn` and `accInProof`. The part that reaches the range's end must end at
    ///         the committed `acc_end` (`accOutProof`; `accFinal` and no proof when the range ends
    ///         at the last chunk).
    function answerChallenge(
        uint256 projectId,
        uint256 round,
        uint256 accIn,
        bytes32[] calldata accInProof,
        IFedMarket.ChunkProof[] calldata proofs,
        bytes32[] calldata accOutProof
    ) external;

    /// @notice Voids `round` once its open challenge's answer deadline passed unanswered. Takes
    ///         the round's payouts (to split) and the CID of the model it started from (to restore).
    function voidRound(uint256 projectId, uint256 round, Payout[] calldata payouts, string calldata prevModelCid)
        external;

    /// @notice Credits `round`'s held payouts once its challenge window closed with no challenge
    ///         open; anyone may call it. After the project's last optimistic round, also releases
    ///         the bond kept for it if the project has ended.
    function settleRound(uint256 projectId, uint256 round, Payout[] calldata payouts) external;

    /// @notice What the market holds about `round` of `projectId` (all zero for a round not
    ///         finalized optimistically).
    function getOptimisticRound(uint256 projectId, uint256 round) external view returns (OptimisticRoundView memory);

    /// @notice The project's challenge window (0: not optimistic) and challenge deposit.
    function optimisticParams(uint256 projectId)
        external
        view
        returns (uint64 challengeWindow, uint256 challengeDeposit, uint256 lastOptimisticRoundPlusOne);
}
