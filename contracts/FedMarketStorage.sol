// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IFedMarket} from "./interfaces/IFedMarket.sol";
import {IFedMarketOptimistic} from "./interfaces/IFedMarketOptimistic.sol";
import {IRoundVerifier} from "./interfaces/IRoundVerifier.sol";

/// @title FedMarketStorage
/// @notice The market's state and the checks its modules share.
/// @dev FedMarket and its delegated modules FedMarketAnswers, FedMarketOptimistic and FedMarketSetup all inherit this
///      contract and nothing else with storage, so a module's code runs on FedMarket's storage with
///      the same layout (FedMarket `delegatecall`s into it). Add state here only, never in a contract.
abstract contract FedMarketStorage {
    /// @dev The BN254 scalar field: commitments and public inputs must be below it.
    uint256 internal constant FIELD_MODULUS =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @dev Longest owner wrap a published update may carry (the FMEV envelope is 32 bytes).
    uint256 internal constant MAX_OWNER_WRAP_LENGTH = 1024;
    /// @dev Longest CID accepted (a CIDv1 in base32 with a sha2-256 digest is 59 bytes).
    uint256 internal constant MAX_CID_LENGTH = 128;

    struct Project {
        // word 0: the open round's counters, rewritten by every commit and reveal. They share the
        // word with the (non-zero) owner so that resetting them to zero never frees the slot, and
        // the round's first commit pays for a non-zero rewrite like the others.
        address owner;
        uint32 submissions; // revealed updates
        uint32 chunksVerified;
        uint8 byzantineTolerance;
        uint8 slotCount;
        uint16 commits;
        // word 1: read by every submission
        uint64 roundOpenedAt;
        uint64 submissionWindow;
        uint64 aggregationWindow;
        uint32 currentRound;
        uint16 maxTrainersPerRound;
        IFedMarket.ProjectStatus status;
        bool cancelRequested;
        // word 2: read by every reveal
        address token;
        uint32 numRounds;
        uint32 numChunks;
        uint32 revealWindow;
        // word 3: the open round's draw, read by every commit
        uint64 seedBlock;
        uint32 candidates; // trainers registered when the round opened
        uint32 registeredTrainers;
        // Optimistic rounds (FedMarketOptimistic): 0 when every round must be proven. Read with the
        // draw's word by nothing hot: the bits were free.
        uint64 challengeWindow;
        uint32 lastOptimisticRoundPlusOne; // the last round finalized optimistically, plus one
        uint256 seed; // 0 until drawn
        // further words
        address aggregator;
        uint64 awaitingSince; // when the project last started waiting for an aggregator
        // Each round's reward over the previous one's, in millionths (FedMarketRounds `_openRound`).
        // Fixed at creation; read once per round, in the word of the aggregator the round's
        // opening transaction has usually read already.
        uint32 rewardDecayPpm;
        IRoundVerifier verifier;
        // Until when the open round's flags can be answered (flagUnavailable). In the verifier's word,
        // which chunk proofs and answers read anyway. Never reset: a round ends only once its
        // deadline has passed (chunk proofs wait for it; a round below quorum has no flags), so an
        // earlier round's deadline is always in the past.
        uint64 answerDeadline;
        uint256 accumulator;
        uint256 budget;
        uint256 roundReward;
        uint256 referenceDeposit; // the open round's (commitReference), settled when it closes
        uint256 rewardPerRound;
        uint256 aggregatorBond;
        uint256 bondPosted;
        uint256 slashAmount;
        uint256 trainerStake;
        uint256 challengeDeposit; // what a challenger of an optimistic round deposits
        // Refunds: everything deposited into the budget, the third-party part of it not yet
        // refunded, and (once ended) what those funders can still claim.
        uint256 deposited;
        uint256 funderDeposits;
        uint256 refundPool;
        bytes32 allowlistRoot;
        bytes32 paramsHash;
        bytes32 ownerEncryptionKey;
        uint256[2] aggregatorSealKey; // BabyJubJub point: two full words, nothing to pack with
        uint256 modelCommitment;
        IFedMarket.CircuitParams params;
        // One word each; only `hyperParams` changes after creation (at most once per round).
        IFedMarket.HyperParams hyperParams;
        IFedMarket.HyperParams minHyperParams;
        IFedMarket.HyperParams maxHyperParams;
        string modelCid;
        string specCid;
    }

    struct Trainer {
        bool registered;
        uint32 lastSubmittedRoundPlusOne; // last round committed in, plus one
        uint128 stake;
        uint32 index; // registration order: candidate `index` of every round opened after it
        uint8 slot; // slot of the last round committed in
    }

    /// @dev `value` holds the sealed commitment until the reveal, then the commitment. The flags
    ///      share the word of `round`, which tags them: a commit rewrites the entry with both false,
    ///      so a new round starts with nothing flagged and `_decisionInputs` reads them for free.
    struct SlotEntry {
        uint256 value;
        address trainer;
        uint32 round;
        bool revealed;
        bool flagged; // flagged unavailable in `round` (flagUnavailable)
        bool published; // its sealed update was published since (publishUpdate)
        uint32 chunksAnswered; // chunks of its sealed update published in parts (publishUpdatePart)
        uint256 answerAcc; // the cipher chain over those chunks; read only when `chunksAnswered != 0`
    }

    /// @dev A round finalized optimistically (FedMarketOptimistic): the commitment to its chunk
    ///      results instead of their proofs, its payouts held until its challenge window closes,
    ///      and its open challenge, if any.
    struct OptimisticRound {
        // word 0: the round's state and its open challenge's chunks `[first, end)`, answered up to `next`
        uint64 windowEnd; // challenges close; 0 for a round not finalized optimistically
        uint64 answerDeadline; // of the open challenge; 0 when no challenge is open
        uint32 first;
        uint32 end;
        uint32 next;
        bool settled; // its payouts were credited (settleRound)
        bool voided; // a challenge went unanswered (voidRound)
        address aggregator; // who finalized it: its bond answers for the round
        address challenger; // of the open (or the last) challenge
        bytes32 chunkRoot; // Merkle root of the chunk accumulators `acc_0 .. acc_numChunks`
        uint256 accFinal;
        uint256 prevModel; // the model the round started from, restored if it is voided
        bytes32 prevModelCidHash;
        bytes32 payoutHash; // hash chain of its `(trainer, share)` payouts, every revealed slot in slot order
        uint256 payout; // what those payouts add up to, held until settled or voided
        uint256 stake; // the part of the aggregator's bond the open challenge holds
        uint256 answerAcc; // the open challenge's accumulator after chunk `next - 1`
    }

    struct Reference {
        uint256 commitment; // 0 until committed
        bool published;
        bool flagged; // flagReference: the aggregator could not fetch or open the published blob
        bool answered; // answerReference: the values opened the commitment on chain
        uint32 chunksAnswered; // chunks answered in parts (answerReferencePart)
        uint256 answerAcc; // the partial chain over those chunks
    }

    uint256 internal _projectCount;
    mapping(uint256 projectId => Project) internal _projects;
    mapping(uint256 projectId => mapping(address trainer => Trainer)) internal _trainers;
    mapping(uint256 projectId => mapping(uint256 slot => SlotEntry)) internal _slots;
    mapping(uint256 projectId => mapping(address funder => uint256)) internal _funderDeposits;
    /// @dev Every commitment ever revealed, in any project and round: a commitment is revealed at
    ///      most once in the market (a sealed update is not bound to its submitter, so a later reveal
    ///      of the same commitment can only be a copy).
    mapping(uint256 commitment => bool) internal _revealedCommitments;
    mapping(address token => mapping(address account => uint256)) internal _credits;
    mapping(address token => uint256) internal _liabilities;
    mapping(uint256 projectId => mapping(uint256 round => OptimisticRound)) internal _optimisticRounds;
    /// @dev The owner's reference of each round (FedMarketAnswers `commitReference`, `publishReference`).
    mapping(uint256 projectId => mapping(uint256 round => Reference)) internal _references;

    /// @dev The caller is the project's aggregator, `round` is open and in its aggregation window,
    ///      which starts at `start`, and has a quorum.
    function _checkAggregation(uint256 projectId, Project storage p, uint256 round)
        internal
        view
        returns (uint256 start)
    {
        if (msg.sender != p.aggregator) revert IFedMarket.NotAggregator(projectId, msg.sender);
        if (p.status != IFedMarket.ProjectStatus.Active) revert IFedMarket.WrongProjectStatus(projectId, p.status);
        if (round != p.currentRound) revert IFedMarket.WrongRound(projectId, p.currentRound, round);
        start = _revealEnd(p);
        uint256 end = _aggregationEnd(p);
        if (block.timestamp < start || block.timestamp >= end) {
            revert IFedMarket.OutsideAggregationWindow(projectId, round, start, end);
        }
        uint256 quorum = _quorum(p);
        if (p.submissions < quorum) revert IFedMarket.QuorumNotReached(projectId, round, p.submissions, quorum);
        // The open round builds on the last optimistic round's model: nothing of it is aggregated
        // while a challenge could still void that model (FedMarketOptimistic, `voidRound`).
        uint256 last = p.lastOptimisticRoundPlusOne;
        if (last != 0) {
            uint256 deadline = _optimisticRounds[projectId][last - 1].answerDeadline;
            if (deadline != 0) revert IFedMarketOptimistic.ChallengeOpen(projectId, last - 1, deadline);
        }
    }

    // The open round's windows end at these times. Unchecked: a uint64 timestamp plus three windows
    // of at most 365 days each (FedMarketSetup `MAX_WINDOW`) is far below 2^64.

    function _commitEnd(Project storage p) internal view returns (uint256 end) {
        unchecked {
            end = uint256(p.roundOpenedAt) + p.submissionWindow;
        }
    }

    function _revealEnd(Project storage p) internal view returns (uint256 end) {
        unchecked {
            end = _commitEnd(p) + p.revealWindow;
        }
    }

    function _aggregationEnd(Project storage p) internal view returns (uint256 end) {
        unchecked {
            end = _revealEnd(p) + p.aggregationWindow;
        }
    }

    /// @dev The open round's reference publication window (`publishReference`): from the end of the
    ///      reveals (every update locked and revealed) to a quarter into the aggregation window, which
    ///      leaves the aggregator a quarter to fetch it and flag it before flags close at the middle.
    ///      One helper for `publishReference` and for the chunk proofs that wait for its end
    ///      (FedMarketRounds `_checkChunksMayStart`), so both agree on when publication is over.
    function _referenceWindow(Project storage p) internal view returns (uint256 start, uint256 end) {
        start = _revealEnd(p);
        // Unchecked: timestamps and windows (at most 365 days) are far below 2^64.
        unchecked {
            end = start + p.aggregationWindow / 4;
        }
    }

    function _project(uint256 projectId) internal view returns (Project storage p) {
        p = _projects[projectId];
        if (p.status == IFedMarket.ProjectStatus.None) revert IFedMarket.UnknownProject(projectId);
    }

    function _checkCid(uint256 length) internal pure {
        if (length == 0 || length > MAX_CID_LENGTH) revert IFedMarket.InvalidCid();
    }

    /// @dev The round's quorum of revealed updates, `max(3, 2f + 1)` (@fedmarket/core `roundQuorum`):
    ///      an honest majority, and no more, so that `f` trainers who commit and never reveal cannot
    ///      skip rounds of a project with at least `3f + 1` slots. The rule by consensus needs
    ///      `2f + 3` valid updates and counts nobody below it (the round is still aggregated and paid).
    function _quorum(Project storage p) internal view returns (uint256) {
        uint256 f = p.byzantineTolerance;
        return f == 0 ? 3 : 2 * f + 1;
    }

    /// @dev The rule by consensus's quorum of valid updates, `2f + 3` (@fedmarket/core
    ///      `consensusQuorum`): below it the rule counts nobody, so a project needs at least this
    ///      many slots for the rule without a reference to count anyone.
    function _consensusQuorum(uint256 f) internal pure returns (uint256) {
        return 2 * f + 3;
    }
}
