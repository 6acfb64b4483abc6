// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IFedMarket} from "./interfaces/IFedMarket.sol";
import {FedMarketAnswers} from "./FedMarketAnswers.sol";
import {FedMarketOptimistic} from "./FedMarketOptimistic.sol";
import {FedMarketRounds} from "./FedMarketRounds.sol";
import {FedMarketSetup} from "./FedMarketSetup.sol";

/// @title FedMarket
/// @notice See {IFedMarket}.
/// @dev Storage is laid out for the hot path: `commitUpdate` and `revealUpdate` touch the round's
///      project words (timing, counters, seed), the trainer's word and one reused slot
///      entry (two words; a third only for answers in parts). Slot entries are initialised to non-zero sentinels at project creation (paid by the
///      owner), so a commitment only ever rewrites non-zero storage.
contract FedMarket is FedMarketRounds, IFedMarket, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @dev BabyJubJub (EIP-2494) over that field: `A x^2 + y^2 = 1 + D x^2 y^2` (seal keys).
    uint256 internal constant BABYJUBJUB_A = 168700;
    uint256 internal constant BABYJUBJUB_D = 168696;
    /// @inheritdoc IFedMarket
    uint64 public constant ACCEPTANCE_TIMEOUT = 7 days;

    /// @dev The flags-and-answers module (FedMarketAnswers), deployed with the market: its calls are
    ///      forwarded with `delegatecall` (`_delegateToAnswers`).
    address private immutable _answers;
    /// @dev The optimistic-rounds module (FedMarketOptimistic, {IFedMarketOptimistic}): every call
    ///      FedMarket does not know is forwarded to it (`fallback`).
    address private immutable _optimistic;
    /// @dev The project-creation module (FedMarketSetup): `createProject` is forwarded to it.
    address private immutable _setup;

    constructor() {
        _answers = address(new FedMarketAnswers());
        _optimistic = address(new FedMarketOptimistic());
        _setup = address(new FedMarketSetup());
    }

    /// @notice Answers {IFedMarketOptimistic}'s calls: runs them in the optimistic module on this
    ///         market's storage and returns what it returns. The module carries its own reentrancy
    ///         guard (FedMarket's transient slot), so its views stay callable. A call the module
    ///         does not know either reverts.
    /// @notice Refuses plain ETH transfers: the market takes ETH only as budgets, bonds, stakes and deposits.
    receive() external payable {
        revert WrongEthAmount(0, msg.value);
    }

    // solhint-disable-next-line no-complex-fallback
    fallback() external payable {
        _delegate(_optimistic);
    }

    // ---------------------------------------------------------------------------------------------
    // Owner
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IFedMarket
    /// @dev Runs in the setup module (FedMarketSetup), which carries the reentrancy guard.
    function createProject(ProjectConfig calldata) external payable returns (uint256) {
        _delegate(_setup);
    }

    /// @inheritdoc IFedMarket
    function fundProject(uint256 projectId, uint256 amount) external payable nonReentrant {
        Project storage p = _project(projectId);
        if (p.status != ProjectStatus.AwaitingAggregator && p.status != ProjectStatus.Active) {
            revert WrongProjectStatus(projectId, p.status);
        }
        if (p.cancelRequested) revert ProjectCancelling(projectId);
        uint256 received = _pull(p.token, amount);
        p.budget += received;
        p.deposited += received;
        if (msg.sender != p.owner) {
            _funderDeposits[projectId][msg.sender] += received;
            p.funderDeposits += received;
        }
        emit ProjectFunded(projectId, msg.sender, received);
    }

    /// @inheritdoc IFedMarket
    function appointAggregator(uint256 projectId, address aggregator, uint256 bond, uint256 slashAmount)
        external
        nonReentrant
    {
        Project storage p = _project(projectId);
        _onlyOwner(projectId, p);
        if (p.status != ProjectStatus.AwaitingAggregator) revert WrongProjectStatus(projectId, p.status);
        if (aggregator == address(0)) revert InvalidConfig("aggregator");
        if (aggregator == p.owner) revert AggregatorIsOwner(aggregator);
        if (slashAmount > bond) revert InvalidConfig("slashAmount");
        // Nothing to refund: while awaiting an aggregator no bond is posted (a failed round returns it).
        p.aggregator = aggregator;
        p.aggregatorBond = bond;
        p.slashAmount = slashAmount;
        emit AggregatorAppointed(projectId, aggregator, bond, slashAmount);
    }

    /// @inheritdoc IFedMarket
    function cancelProject(uint256 projectId) external nonReentrant {
        Project storage p = _project(projectId);
        _onlyOwner(projectId, p);
        ProjectStatus status = p.status;
        if (status != ProjectStatus.AwaitingAggregator && status != ProjectStatus.Active) {
            revert WrongProjectStatus(projectId, status);
        }
        if (p.cancelRequested) revert ProjectCancelling(projectId);
        bool active = status == ProjectStatus.Active;
        if (active && p.submissions >= _quorum(p)) {
            // Trainers already did the round's work: the round runs to its end and the project
            // closes with it (the budget is refunded then).
            p.cancelRequested = true;
            emit ProjectCancelled(projectId, p.currentRound, true, 0);
            return;
        }
        // Below quorum: a round with commitments pays their trainers; an empty one returns its reward.
        _settleReferenceDeposit(projectId, p);
        uint256 commits = active ? p.commits : 0;
        uint256 reward = p.roundReward;
        p.roundReward = 0;
        if (commits == 0) p.budget += reward;
        uint256 toSubmitters = commits == 0 ? 0 : reward;
        emit ProjectCancelled(projectId, p.currentRound, false, toSubmitters);
        _creditSubmitters(projectId, p, commits, toSubmitters);
        p.status = ProjectStatus.Cancelled;
        _closeProject(projectId, p);
    }

    // ---------------------------------------------------------------------------------------------
    // Aggregator
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IFedMarket
    function acceptAggregator(uint256 projectId, uint256[2] calldata sealKey, uint256 bond, uint256 slashAmount)
        external
        payable
        nonReentrant
    {
        Project storage p = _project(projectId);
        if (msg.sender != p.aggregator) revert NotAggregator(projectId, msg.sender);
        if (p.status != ProjectStatus.AwaitingAggregator) revert WrongProjectStatus(projectId, p.status);
        if (bond != p.aggregatorBond || slashAmount != p.slashAmount) {
            revert AppointmentTermsChanged(projectId, p.aggregatorBond, p.slashAmount);
        }
        _checkSealKey(sealKey);
        // No bond is posted while awaiting an aggregator, so the whole bond is due.
        uint256 received = _pull(p.token, bond);
        if (received < bond) revert InsufficientDeposit(bond, received);
        p.bondPosted = received;
        p.aggregatorSealKey = sealKey;
        p.status = ProjectStatus.Active;
        emit AggregatorAccepted(projectId, msg.sender, received, received, sealKey);
        _openRound(projectId, p);
    }

    /// @inheritdoc IFedMarket
    function flagUnavailable(uint256, uint256, uint256) external nonReentrant {
        _delegateToAnswers();
    }

    /// @inheritdoc IFedMarket
    function commitReference(uint256, uint256, uint256) external nonReentrant {
        _delegateToAnswers();
    }

    /// @inheritdoc IFedMarket
    function publishReference(uint256, uint256, string calldata) external nonReentrant {
        _delegateToAnswers();
    }

    /// @inheritdoc IFedMarket
    function flagReference(uint256, uint256) external nonReentrant {
        _delegateToAnswers();
    }

    /// @inheritdoc IFedMarket
    function answerReferencePart(uint256, uint256, uint256[] calldata) external nonReentrant {
        _delegateToAnswers();
    }

    /// @inheritdoc IFedMarket
    function answerReference(uint256, uint256, uint256, uint256[] calldata) external nonReentrant {
        _delegateToAnswers();
    }

    /// @inheritdoc IFedMarket
    function submitChunkProofs(uint256 projectId, uint256 round, uint256 firstChunk, ChunkProof[] calldata proofs)
        external
        nonReentrant
    {
        Project storage p = _project(projectId);
        _checkAggregation(projectId, p, round);
        _acceptChunks(projectId, p, firstChunk, proofs);
    }

    /// @inheritdoc IFedMarket
    function finalizeRound(
        uint256 projectId,
        uint256 round,
        uint256 firstChunk,
        ChunkProof[] calldata chunkProofs,
        RoundResult calldata result
    ) external nonReentrant {
        Project storage p = _project(projectId);
        _checkAggregation(projectId, p, round);
        _acceptChunks(projectId, p, firstChunk, chunkProofs);
        if (p.chunksVerified != p.numChunks) revert ChunksIncomplete(p.chunksVerified, p.numChunks);
        _finalize(projectId, p, round, result, false);
        _closeRound(projectId, p, false);
    }

    // ---------------------------------------------------------------------------------------------
    // Trainers
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IFedMarket
    function registerTrainer(uint256 projectId, bytes32[] calldata allowlistProof) external payable nonReentrant {
        Project storage p = _project(projectId);
        if (p.status != ProjectStatus.AwaitingAggregator && p.status != ProjectStatus.Active) {
            revert WrongProjectStatus(projectId, p.status);
        }
        if (p.cancelRequested) revert ProjectCancelling(projectId);
        Trainer storage t = _trainers[projectId][msg.sender];
        if (t.registered) revert AlreadyRegistered(projectId, msg.sender);
        bytes32 root = p.allowlistRoot;
        if (root != bytes32(0)) {
            bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(msg.sender))));
            if (!MerkleProof.verifyCalldata(allowlistProof, root, leaf)) revert NotAllowlisted(projectId, msg.sender);
        }
        uint256 required = p.trainerStake;
        uint256 received = _pull(p.token, required);
        if (received < required) revert InsufficientDeposit(required, received);
        t.registered = true;
        t.stake = uint128(received);
        uint32 index = p.registeredTrainers;
        p.registeredTrainers = index + 1;
        t.index = index;
        emit TrainerRegistered(projectId, msg.sender, received);
    }

    /// @inheritdoc IFedMarket
    function drawSeed(uint256 projectId) external nonReentrant returns (uint256 seed) {
        Project storage p = _project(projectId);
        if (p.status != ProjectStatus.Active) revert WrongProjectStatus(projectId, p.status);
        seed = _drawSeed(projectId, p);
    }

    /// @inheritdoc IFedMarket
    function commitUpdate(uint256 projectId, uint256 round, bytes32 sealedCommit) external nonReentrant {
        Project storage p = _project(projectId);
        if (p.status != ProjectStatus.Active) revert WrongProjectStatus(projectId, p.status);
        if (p.cancelRequested) revert ProjectCancelling(projectId);
        if (round != p.currentRound) revert WrongRound(projectId, p.currentRound, round);
        uint256 deadline = _commitEnd(p);
        if (block.timestamp >= deadline) revert SubmissionWindowClosed(projectId, round, deadline);
        Trainer storage t = _trainers[projectId][msg.sender];
        if (!t.registered) revert NotRegistered(projectId, msg.sender);
        if (t.lastSubmittedRoundPlusOne == round + 1) revert AlreadySubmitted(projectId, round, msg.sender);
        uint256 seed = _drawSeed(projectId, p);
        if (seed == 0) revert SeedPending(projectId, round, p.seedBlock);
        (bool selected, uint256 slot) = _slotOf(p, seed, t);
        if (!selected) revert NotSelected(projectId, round, msg.sender);

        // Unchecked: a round has at most `maxTrainersPerRound <= 64` commits.
        unchecked {
            ++p.commits;
        }
        t.lastSubmittedRoundPlusOne = uint32(round + 1);
        t.slot = uint8(slot);
        // Field by field rather than a struct literal: the optimizer merges these into one write
        // per word, where a literal pays a read-modify-write per field.
        SlotEntry storage e = _slots[projectId][slot];
        e.value = uint256(sealedCommit);
        e.trainer = msg.sender;
        e.round = uint32(round);
        e.revealed = false;
        e.flagged = false;
        e.published = false;
        e.chunksAnswered = 0;
        emit UpdateCommitted(projectId, round, msg.sender, slot, sealedCommit);
    }

    /// @inheritdoc IFedMarket
    function revealUpdate(uint256 projectId, uint256 round, uint256 commitment, string calldata cid)
        external
        nonReentrant
    {
        Project storage p = _project(projectId);
        if (p.status != ProjectStatus.Active) revert WrongProjectStatus(projectId, p.status);
        if (round != p.currentRound) revert WrongRound(projectId, p.currentRound, round);
        uint256 start;
        uint256 end;
        // Inline rather than `_commitEnd` / `_revealEnd`: each word is read once on this hot path.
        // Unchecked: a uint64 timestamp plus two windows of at most 365 days.
        unchecked {
            start = uint256(p.roundOpenedAt) + p.submissionWindow;
            end = start + p.revealWindow;
        }
        if (block.timestamp < start || block.timestamp >= end) revert OutsideRevealWindow(projectId, round, start, end);
        if (commitment == 0 || commitment >= FIELD_MODULUS) revert InvalidCommitment(commitment);
        _checkCid(bytes(cid).length);
        Trainer storage t = _trainers[projectId][msg.sender];
        if (t.lastSubmittedRoundPlusOne != round + 1) revert NotCommitted(projectId, round, msg.sender);
        uint256 slot = t.slot;
        SlotEntry storage e = _slots[projectId][slot];
        if (e.revealed) revert AlreadyRevealed(projectId, round, msg.sender);
        if (e.value != uint256(sealedCommitment(projectId, round, msg.sender, commitment, cid))) {
            revert RevealMismatch(projectId, round, msg.sender);
        }
        if (_revealedCommitments[commitment]) revert DuplicateCommitment(projectId, round, commitment);

        _revealedCommitments[commitment] = true;
        // Unchecked: a round has at most `maxTrainersPerRound <= 64` reveals.
        unchecked {
            ++p.submissions;
        }
        e.value = commitment;
        e.revealed = true;
        emit UpdateRevealed(projectId, round, msg.sender, slot, commitment, cid);
    }

    /// @inheritdoc IFedMarket
    function releaseStake(uint256 projectId) external nonReentrant {
        Project storage p = _project(projectId);
        Trainer storage t = _trainers[projectId][msg.sender];
        uint256 stake = t.stake;
        if (!_ended(p) || stake == 0) revert NoStakeToRelease(projectId, msg.sender);
        t.stake = 0;
        emit StakeReleased(projectId, msg.sender, stake);
        _credit(p.token, msg.sender, stake);
    }

    // ---------------------------------------------------------------------------------------------
    // Anyone
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IFedMarket
    function publishUpdatePart(uint256, uint256, uint256, uint256[] calldata) external nonReentrant {
        _delegateToAnswers();
    }

    /// @inheritdoc IFedMarket
    function publishUpdate(uint256, uint256, uint256, uint256[2] calldata, uint256[] calldata, bytes calldata)
        external
        nonReentrant
    {
        _delegateToAnswers();
    }

    /// @inheritdoc IFedMarket
    function skipRound(uint256 projectId) external nonReentrant {
        Project storage p = _project(projectId);
        if (p.status != ProjectStatus.Active) revert WrongProjectStatus(projectId, p.status);
        uint256 round = p.currentRound;
        uint256 deadline = _revealEnd(p);
        if (block.timestamp < deadline) revert SubmissionWindowOpen(projectId, round, deadline);
        uint256 submissions = p.submissions;
        uint256 quorum = _quorum(p);
        if (submissions >= quorum) revert QuorumReached(projectId, round, submissions, quorum);
        p.budget += p.roundReward;
        p.roundReward = 0;
        emit RoundSkipped(projectId, round, submissions);
        _closeRound(projectId, p, false);
    }

    /// @inheritdoc IFedMarket
    function failRound(uint256 projectId) external nonReentrant {
        Project storage p = _project(projectId);
        if (p.status != ProjectStatus.Active) revert WrongProjectStatus(projectId, p.status);
        uint256 round = p.currentRound;
        uint256 end = _aggregationEnd(p);
        if (block.timestamp < end) revert AggregationWindowOpen(projectId, round, end);
        uint256 submissions = p.submissions;
        uint256 quorum = _quorum(p);
        if (submissions < quorum) revert QuorumNotReached(projectId, round, submissions, quorum);

        address aggregator = p.aggregator;
        uint256 posted = p.bondPosted;
        uint256 slashed = Math.min(p.slashAmount, posted);
        uint256 slashPerTrainer = slashed / 2 / submissions;
        uint256 reward = p.roundReward;
        // The appointment ends with the failure: the rest of the bond goes back, and nobody can
        // accept again until the owner appoints an aggregator.
        p.bondPosted = 0;
        p.roundReward = 0;
        p.aggregator = address(0);
        p.aggregatorBond = 0;
        p.slashAmount = 0;
        delete p.aggregatorSealKey;
        emit RoundFailed(projectId, round, aggregator, slashed, slashPerTrainer, reward, posted - slashed);
        address token = p.token;
        // `slashPerTrainer + floor(reward / n)` each, one unit more for the first `reward % n`.
        _creditSubmitters(projectId, p, submissions, slashPerTrainer * submissions + reward);
        _credit(token, p.owner, slashed - slashPerTrainer * submissions);
        _credit(token, aggregator, posted - slashed);
        _closeRound(projectId, p, true);
    }

    /// @inheritdoc IFedMarket
    function expireProject(uint256 projectId) external nonReentrant {
        Project storage p = _project(projectId);
        if (p.status != ProjectStatus.AwaitingAggregator) revert WrongProjectStatus(projectId, p.status);
        uint256 deadline = uint256(p.awaitingSince) + ACCEPTANCE_TIMEOUT;
        if (block.timestamp < deadline) revert AcceptanceWindowOpen(projectId, deadline);
        emit ProjectExpired(projectId, deadline);
        p.status = ProjectStatus.Cancelled;
        _closeProject(projectId, p);
    }

    /// @inheritdoc IFedMarket
    function claimRefund(uint256 projectId) external nonReentrant {
        Project storage p = _project(projectId);
        uint256 deposit = _funderDeposits[projectId][msg.sender];
        if (!_ended(p) || deposit == 0) revert NothingToRefund(projectId, msg.sender);
        uint256 amount = _refundShare(p, deposit);
        _funderDeposits[projectId][msg.sender] = 0;
        p.funderDeposits -= deposit;
        p.refundPool -= amount;
        emit RefundClaimed(projectId, msg.sender, amount);
        _credit(p.token, msg.sender, amount);
    }

    /// @inheritdoc IFedMarket
    function withdraw(address token) external nonReentrant {
        uint256 amount = _credits[token][msg.sender];
        if (amount == 0) revert NothingToWithdraw(token, msg.sender);
        _credits[token][msg.sender] = 0;
        _liabilities[token] -= amount;
        emit Withdrawn(token, msg.sender, amount);
        if (token == address(0)) {
            (bool ok,) = payable(msg.sender).call{value: amount}("");
            if (!ok) revert EthTransferFailed(msg.sender, amount);
        } else {
            IERC20(token).safeTransfer(msg.sender, amount);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IFedMarket
    function projectCount() external view returns (uint256) {
        return _projectCount;
    }

    /// @inheritdoc IFedMarket
    function getProject(uint256 projectId) external view returns (ProjectView memory v) {
        Project storage p = _project(projectId);
        v.owner = p.owner;
        v.token = p.token;
        v.aggregator = p.aggregator;
        v.verifier = p.verifier;
        v.status = p.status;
        v.cancelRequested = p.cancelRequested;
        v.numRounds = p.numRounds;
        v.currentRound = p.currentRound;
        v.maxTrainersPerRound = p.maxTrainersPerRound;
        v.numChunks = p.numChunks;
        v.roundOpenedAt = p.roundOpenedAt;
        v.submissionWindow = p.submissionWindow;
        v.revealWindow = p.revealWindow;
        v.aggregationWindow = p.aggregationWindow;
        v.budget = p.budget;
        v.roundReward = p.roundReward;
        v.referenceDeposit = p.referenceDeposit;
        v.rewardPerRound = p.rewardPerRound;
        v.rewardDecayPpm = p.rewardDecayPpm;
        v.aggregatorBond = p.aggregatorBond;
        v.bondPosted = p.bondPosted;
        v.slashAmount = p.slashAmount;
        v.trainerStake = p.trainerStake;
        v.registeredTrainers = p.registeredTrainers;
        v.allowlistRoot = p.allowlistRoot;
        v.paramsHash = p.paramsHash;
        v.ownerEncryptionKey = p.ownerEncryptionKey;
        v.aggregatorSealKey = p.aggregatorSealKey;
        v.modelCommitment = p.modelCommitment;
        v.modelCid = p.modelCid;
        v.specCid = p.specCid;
        v.params = p.params;
        v.hyperParams = p.hyperParams;
        v.minHyperParams = p.minHyperParams;
        v.maxHyperParams = p.maxHyperParams;
        // Unchecked: a timestamp plus 7 days is far below 2^64.
        unchecked {
            if (p.status == ProjectStatus.AwaitingAggregator) v.acceptanceDeadline = p.awaitingSince + ACCEPTANCE_TIMEOUT;
        }
        v.refundPool = p.refundPool;
    }

    /// @inheritdoc IFedMarket
    function getCurrentRound(uint256 projectId) external view returns (RoundView memory v) {
        Project storage p = _project(projectId);
        v.round = p.currentRound;
        v.submissions = p.submissions;
        v.commits = p.commits;
        v.chunksVerified = p.chunksVerified;
        v.candidates = p.candidates;
        v.seedBlock = p.seedBlock;
        v.seed = p.seed;
        v.submissionDeadline = uint64(_commitEnd(p));
        v.revealDeadline = uint64(_revealEnd(p));
        v.aggregationDeadline = uint64(_aggregationEnd(p));
        v.reward = p.roundReward;
        v.accumulator = p.accumulator;
        v.hyperParams = p.hyperParams;
    }

    /// @inheritdoc IFedMarket
    function getSubmission(uint256 projectId, uint256 round, uint256 slot)
        external
        view
        returns (address trainer, uint256 commitment)
    {
        SlotEntry storage e = _slots[projectId][slot];
        if (e.round != round || !e.revealed) return (address(0), 0);
        return (e.trainer, e.value);
    }

    /// @inheritdoc IFedMarket
    function getTrainer(uint256 projectId, address trainer)
        external
        view
        returns (bool registered, uint32 lastSubmittedRoundPlusOne, uint256 stake)
    {
        Trainer storage t = _trainers[projectId][trainer];
        return (t.registered, t.lastSubmittedRoundPlusOne, t.stake);
    }

    /// @inheritdoc IFedMarket
    function slotOf(uint256 projectId, address trainer) external view returns (bool seedReady, bool selected, uint256 slot) {
        Project storage p = _project(projectId);
        Trainer storage t = _trainers[projectId][trainer];
        uint256 seed = p.seed;
        if (seed == 0 && p.status == ProjectStatus.Active && block.number > p.seedBlock) {
            seed = _seedFrom(projectId, p.currentRound, blockhash(p.seedBlock));
        }
        if (seed == 0 || p.status != ProjectStatus.Active) return (false, false, 0);
        if (!t.registered) return (true, false, 0);
        (selected, slot) = _slotOf(p, seed, t);
        return (true, selected, slot);
    }

    /// @inheritdoc IFedMarket
    function sealedCommitment(uint256 projectId, uint256 round, address trainer, uint256 commitment, string calldata cid)
        public
        view
        returns (bytes32)
    {
        return keccak256(
            abi.encode(block.chainid, address(this), projectId, round, trainer, commitment, keccak256(bytes(cid)))
        );
    }

    /// @inheritdoc IFedMarket
    function getFunder(uint256 projectId, address funder) external view returns (uint256 deposit, uint256 refundable) {
        Project storage p = _project(projectId);
        deposit = _funderDeposits[projectId][funder];
        if (deposit != 0 && _ended(p)) refundable = _refundShare(p, deposit);
    }

    /// @inheritdoc IFedMarket
    function creditOf(address token, address account) external view returns (uint256) {
        return _credits[token][account];
    }

    /// @inheritdoc IFedMarket
    function totalLiabilities(address token) external view returns (uint256) {
        return _liabilities[token];
    }

    /// @inheritdoc IFedMarket
    function roundContext(uint256 projectId, uint256 round) public view returns (uint256) {
        return _roundContext(projectId, _project(projectId), round);
    }

    /// @inheritdoc IFedMarket
    function unavailableFlags(uint256 projectId)
        external
        view
        returns (uint256 pendingMask, uint256 flaggedMask, uint64 answerDeadline)
    {
        Project storage p = _project(projectId);
        // Entries carry their round, and a round with a flag (it has a quorum) closes only through
        // `_closeRound`, which moves `currentRound` on: these are the open round's flags, and a closed
        // round's deadline is never reported.
        uint256 round = p.currentRound;
        uint256 slots = p.maxTrainersPerRound;
        for (uint256 slot; slot < slots; ++slot) {
            SlotEntry storage e = _slots[projectId][slot];
            if (e.round != round || !e.flagged) continue;
            flaggedMask |= 1 << slot;
            if (!e.published) pendingMask |= 1 << slot;
        }
        if (flaggedMask != 0 || _references[projectId][round].flagged) answerDeadline = p.answerDeadline;
    }

    /// @inheritdoc IFedMarket
    function decisionPublicInputs(uint256 projectId, uint256 newModelCommitment, uint256[] calldata outcomes)
        external
        view
        returns (uint256[] memory)
    {
        Project storage p = _project(projectId);
        return _decisionInputs(projectId, p, newModelCommitment, outcomes);
    }

    // ---------------------------------------------------------------------------------------------
    // Internal: rounds
    // ---------------------------------------------------------------------------------------------


    function _acceptChunks(uint256 projectId, Project storage p, uint256 firstChunk, ChunkProof[] calldata proofs)
        internal
    {
        _checkChunksMayStart(projectId, p);
        uint256 count = proofs.length;
        if (count == 0) return;
        uint256 acc;
        if (firstChunk != 0) {
            if (firstChunk != p.chunksVerified) revert ChunkOutOfOrder(p.chunksVerified, firstChunk);
            acc = p.accumulator;
        }
        uint256 end = firstChunk + count;
        if (end > p.numChunks) revert TooManyChunks(p.numChunks, end);
        // One batch verification (a quarter of a single proof's gas per further proof): proof `i`
        // proves `accs[i] -> accs[i + 1]`, from the stored accumulator (0 at chunk 0).
        bool valid;
        (valid, acc) = _verifyChunks(p.verifier, acc, proofs);
        if (!valid) revert InvalidChunkProofs(firstChunk, count);
        p.accumulator = acc;
        p.chunksVerified = uint32(end);
        emit ChunkProofsAccepted(projectId, p.currentRound, firstChunk, count, acc);
    }

    /// @dev Splits `amount` equally among the open round's `count` submitters, in slot order:
    ///      `floor(amount / count)` each, one unit more for the first `amount % count`. Submitters are
    ///      the revealed slots of a round with a quorum (only `failRound` pays those) and the committed
    ///      ones of a round below it (only `cancelProject` pays those). One signature for both callers,
    ///      so the optimizer keeps one copy of this function.
    function _creditSubmitters(uint256 projectId, Project storage p, uint256 count, uint256 amount) internal {
        if (count == 0) return;
        uint256 each = amount / count;
        uint256 extra = amount % count;
        bool revealedOnly = p.submissions >= _quorum(p);
        uint256 round = p.currentRound;
        uint256 slots = p.maxTrainersPerRound;
        address token = p.token;
        for (uint256 slot; slot < slots; ++slot) {
            SlotEntry storage e = _slots[projectId][slot];
            if (e.round != round || (revealedOnly && !e.revealed)) continue;
            uint256 share = each;
            // Unchecked: `extra` is not zero, and `each + 1` is at most `amount`.
            if (extra != 0) {
                unchecked {
                    ++share;
                    --extra;
                }
            }
            _credit(token, e.trainer, share);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Internal: money
    // ---------------------------------------------------------------------------------------------


    // ---------------------------------------------------------------------------------------------
    // Internal: helpers
    // ---------------------------------------------------------------------------------------------

    /// @dev Runs this call's calldata, unchanged, in `module` on our storage and ends the call with
    ///      what it returns or reverts with. It never returns to its caller, so a caller must not
    ///      hold the reentrancy guard (it would stay locked): the module carries its own.
    function _delegate(address module) private {
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let m := mload(0x40)
            calldatacopy(m, 0, calldatasize())
            let ok := delegatecall(gas(), module, m, calldatasize(), 0, 0)
            returndatacopy(m, 0, returndatasize())
            if iszero(ok) { revert(m, returndatasize()) }
            return(m, returndatasize())
        }
    }

    /// @dev Runs this call's calldata, unchanged, in the answers module on our storage; bubbles up a
    ///      revert. The forwarded functions return nothing.
    function _delegateToAnswers() private {
        address module = _answers;
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let m := mload(0x40)
            calldatacopy(m, 0, calldatasize())
            if iszero(delegatecall(gas(), module, m, calldatasize(), 0, 0)) {
                returndatacopy(m, 0, returndatasize())
                revert(m, returndatasize())
            }
        }
    }


    /// @dev A funder's share of the refund pool: pro rata to the deposits not yet refunded; the last
    ///      claimant (`deposit == funderDeposits`) gets exactly what is left.
    function _refundShare(Project storage p, uint256 deposit) internal view returns (uint256) {
        uint256 remaining = p.funderDeposits;
        return deposit == remaining ? p.refundPool : Math.mulDiv(p.refundPool, deposit, remaining);
    }

    function _onlyOwner(uint256 projectId, Project storage p) internal view {
        if (msg.sender != p.owner) revert NotProjectOwner(projectId, msg.sender);
    }


    // ---------------------------------------------------------------------------------------------
    // Internal: the draw of the slots (reference: packages/core slots.ts)
    // ---------------------------------------------------------------------------------------------

    /// @dev Fixes the open round's seed if its seed block's hash is readable; re-anchors the seed
    ///      block to the current one if that hash has expired. Returns 0 while pending.
    function _drawSeed(uint256 projectId, Project storage p) internal returns (uint256 seed) {
        seed = p.seed;
        if (seed != 0) return seed;
        uint256 seedBlock = p.seedBlock;
        if (block.number <= seedBlock) return 0;
        bytes32 hash = blockhash(seedBlock);
        uint256 round = p.currentRound;
        if (hash == bytes32(0)) {
            p.seedBlock = uint64(block.number);
            emit SeedReanchored(projectId, round, uint64(block.number));
            return 0;
        }
        seed = _seedFrom(projectId, round, hash);
        p.seed = seed;
        emit SeedDrawn(projectId, round, seed, uint64(seedBlock));
    }

    function _seedFrom(uint256 projectId, uint256 round, bytes32 blockHash) internal view returns (uint256 seed) {
        if (blockHash == bytes32(0)) return 0;
        seed = uint256(keccak256(abi.encode(block.chainid, address(this), projectId, round, blockHash)));
        if (seed == 0) seed = 1;
    }

    /// @dev Whether trainer `t` was drawn in the open round, and its slot. With `n` candidates and
    ///      `k` slots: if `n <= k` candidate `i` takes slot `i`; otherwise Floyd's algorithm draws
    ///      `k` distinct candidates uniformly: for `j = n - k, ..., n - 1` (draw `d = j - (n - k)`)
    ///      take `x = keccak256(seed, d) mod (j + 1)`, or `j` if `x` was already taken; the
    ///      candidate taken at draw `d` gets slot `d`. At most `k <= 64` draws, each scanning the
    ///      earlier ones: bounded.
    function _slotOf(Project storage p, uint256 seed, Trainer storage t) internal view returns (bool, uint256) {
        uint256 n = p.candidates;
        uint256 index = t.index;
        if (index >= n) return (false, 0);
        uint256 k = p.maxTrainersPerRound;
        if (n <= k) return (true, index);
        uint256[] memory taken = new uint256[](k);
        for (uint256 d; d < k; ++d) {
            uint256 j = n - k + d;
            uint256 x = uint256(keccak256(abi.encode(seed, d))) % (j + 1);
            for (uint256 e; e < d; ++e) {
                if (taken[e] == x) {
                    x = j;
                    break;
                }
            }
            if (x == index) return (true, d);
            taken[d] = x;
        }
        return (false, 0);
    }


    /// @dev Reverts with `InvalidSealKey` unless `key` is a BabyJubJub point (coordinates below the
    ///      field, on the curve) other than the identity `(0, 1)`. Subgroup membership is left to the
    ///      decision proof, which shows `key = a * Base8` (see `IFedMarket.acceptAggregator`).
    function _checkSealKey(uint256[2] calldata key) internal pure {
        uint256 x = key[0];
        uint256 y = key[1];
        if (x >= FIELD_MODULUS || y >= FIELD_MODULUS || (x == 0 && y == 1)) revert InvalidSealKey();
        uint256 xx = mulmod(x, x, FIELD_MODULUS);
        uint256 yy = mulmod(y, y, FIELD_MODULUS);
        uint256 lhs = addmod(mulmod(BABYJUBJUB_A, xx, FIELD_MODULUS), yy, FIELD_MODULUS);
        uint256 rhs = addmod(1, mulmod(BABYJUBJUB_D, mulmod(xx, yy, FIELD_MODULUS), FIELD_MODULUS), FIELD_MODULUS);
        if (lhs != rhs) revert InvalidSealKey();
    }
}
