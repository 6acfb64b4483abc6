// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IFedMarket} from "./interfaces/IFedMarket.sol";
import {IFedMarketOptimistic} from "./interfaces/IFedMarketOptimistic.sol";
import {FedMarketRounds} from "./FedMarketRounds.sol";

/// @title FedMarketOptimistic
/// @notice FedMarket's optimistic rounds: see {IFedMarketOptimistic}.
/// @dev A delegated module: FedMarket deploys it in its constructor and forwards every call it
///      does not know itself to it with `delegatecall` (its fallback), so it runs on FedMarket's
///      storage, as FedMarket, and its events come from FedMarket's address. Its reentrancy guard
///      is FedMarket's (the same transient slot, in FedMarket's context). Called directly it only
///      sees its own empty storage: every project is unknown there.
contract FedMarketOptimistic is FedMarketRounds, ReentrancyGuardTransient, IFedMarketOptimistic {
    /// @inheritdoc IFedMarketOptimistic
    function finalizeRoundOptimistic(
        uint256 projectId,
        uint256 round,
        uint256 accFinal,
        bytes32 chunkRoot,
        string calldata proofsCid,
        IFedMarket.RoundResult calldata result
    ) external nonReentrant {
        Project storage p = _project(projectId);
        _checkAggregation(projectId, p, round);
        uint256 window = p.challengeWindow;
        if (window == 0) revert NotOptimistic(projectId);
        // As for chunk proofs: flags' answers and the reference's publication change what the chunk
        // results cover.
        _checkChunksMayStart(projectId, p);
        if (p.chunksVerified != 0) revert IFedMarket.ChunkProofsStarted(projectId, round);
        if (chunkRoot == bytes32(0)) revert InvalidChunkRoot();
        _checkCid(bytes(proofsCid).length);
        // The decision proof reads the final accumulator from storage, as after chunk proofs.
        p.accumulator = accFinal;
        OptimisticRound storage o = _optimisticRounds[projectId][round];
        o.chunkRoot = chunkRoot;
        o.accFinal = accFinal;
        o.prevModel = p.modelCommitment;
        o.prevModelCidHash = keccak256(bytes(p.modelCid));
        o.aggregator = msg.sender;
        uint256 paid = _finalize(projectId, p, round, result, true);
        uint64 windowEnd = uint64(block.timestamp + window);
        o.payout = paid;
        o.windowEnd = windowEnd;
        p.lastOptimisticRoundPlusOne = uint32(round + 1);
        emit ChunksCommitted(projectId, round, accFinal, chunkRoot, proofsCid, paid, o.payoutHash, windowEnd);
        _closeRound(projectId, p, false);
    }

    /// @inheritdoc IFedMarketOptimistic
    function challengeRound(uint256 projectId, uint256 round, uint256 first, uint256 count)
        external
        payable
        nonReentrant
    {
        Project storage p = _project(projectId);
        OptimisticRound storage o = _optimisticRounds[projectId][round];
        uint256 windowEnd = o.windowEnd;
        if (windowEnd == 0) revert NotOptimisticRound(projectId, round);
        if (block.timestamp >= windowEnd) revert ChallengeWindowClosed(projectId, round, windowEnd);
        // Voided inside the window: nothing is left to challenge.
        if (o.voided) revert RoundClosed(projectId, round);
        if (o.answerDeadline != 0) revert ChallengeOpen(projectId, round, o.answerDeadline);
        uint256 numChunks = p.numChunks;
        if (count == 0 || first >= numChunks || count > numChunks - first) {
            revert InvalidChunkRange(first, count, numChunks);
        }
        uint256 deposit = p.challengeDeposit;
        uint256 received = _pull(p.token, deposit);
        if (received < deposit) revert IFedMarket.InsufficientDeposit(deposit, received);
        // The bond is still the round's aggregator's: it can only have been returned by a failed
        // round or a closed project, and both wait for the window (see `_closeProject`; a failed
        // round is the next one's, whose aggregation window opens after this window closed).
        uint256 stake = Math.min(p.slashAmount, p.bondPosted);
        p.bondPosted -= stake;
        uint64 deadline = uint64(block.timestamp + p.aggregationWindow);
        o.answerDeadline = deadline;
        o.first = uint32(first);
        o.end = uint32(first + count);
        o.next = uint32(first);
        o.challenger = msg.sender;
        o.stake = stake;
        emit RoundChallenged(projectId, round, msg.sender, first, count, deadline, stake);
    }

    /// @inheritdoc IFedMarketOptimistic
    function answerChallenge(
        uint256 projectId,
        uint256 round,
        uint256 accIn,
        bytes32[] calldata accInProof,
        IFedMarket.ChunkProof[] calldata proofs,
        bytes32[] calldata accOutProof
    ) external nonReentrant {
        Project storage p = _project(projectId);
        OptimisticRound storage o = _optimisticRounds[projectId][round];
        uint256 deadline = o.answerDeadline;
        if (deadline == 0) revert NoOpenChallenge(projectId, round);
        if (block.timestamp >= deadline) revert AnswerDeadlinePassed(projectId, round, deadline);
        uint256 next = o.next;
        uint256 end = o.end;
        uint256 count = proofs.length;
        if (count == 0 || count > end - next) revert InvalidChunkRange(next, count, end);
        uint256 acc;
        if (next == o.first) {
            _checkCommitted(o, next, accIn, accInProof);
            acc = accIn;
        } else {
            acc = o.answerAcc;
        }
        uint256 firstChunk = next;
        bool valid;
        (valid, acc) = _verifyChunks(p.verifier, acc, proofs);
        if (!valid) revert IFedMarket.InvalidChunkProofs(firstChunk, count);
        next += count;
        emit ChallengeProofsAccepted(projectId, round, firstChunk, count, acc);
        if (next != end) {
            o.next = uint32(next);
            o.answerAcc = acc;
            return;
        }
        if (end == p.numChunks) {
            if (acc != o.accFinal) revert AccumulatorNotCommitted(end, acc);
        } else {
            _checkCommitted(o, end, acc, accOutProof);
        }
        // Answered in full: the challenge ends, the stake goes back where it came from.
        uint256 stake = o.stake;
        address aggregator = o.aggregator;
        uint256 deposit = p.challengeDeposit;
        o.answerDeadline = 0;
        o.next = uint32(next);
        o.stake = 0;
        p.bondPosted += stake;
        emit ChallengeAnswered(projectId, round, aggregator, deposit, stake);
        _credit(p.token, aggregator, deposit);
    }

    /// @inheritdoc IFedMarketOptimistic
    function voidRound(uint256 projectId, uint256 round, Payout[] calldata payouts, string calldata prevModelCid)
        external
        nonReentrant
    {
        Project storage p = _project(projectId);
        OptimisticRound storage o = _optimisticRounds[projectId][round];
        uint256 deadline = o.answerDeadline;
        if (deadline == 0) revert NoOpenChallenge(projectId, round);
        if (block.timestamp < deadline) revert AnswerDeadlineNotReached(projectId, round, deadline);
        _checkPayouts(projectId, round, o, payouts);
        if (keccak256(bytes(prevModelCid)) != o.prevModelCidHash) revert ModelCidMismatch(projectId, round);

        uint256 n = payouts.length;
        uint256 stake = o.stake;
        uint256 payout = o.payout;
        uint256 slashPerTrainer = stake / 2 / n;
        address challenger = o.challenger;
        o.voided = true;
        o.answerDeadline = 0;
        o.stake = 0;
        o.payout = 0;
        // The round is the last one aggregated (its open challenge blocked the next one), so the
        // project's model is the round's: back to the model it started from.
        uint256 restored = o.prevModel;
        p.modelCommitment = restored;
        p.modelCid = prevModelCid;
        emit RoundVoided(projectId, round, challenger, stake, slashPerTrainer, payout, n, restored, prevModelCid);

        address token = p.token;
        // As a failed round: `slashPerTrainer + floor(payout / n)` each, one unit more for the
        // first `payout % n`; the challenger gets its deposit and the rest of the slash
        // (reference: packages/core `voidedRoundSplit`).
        uint256 each = payout / n + slashPerTrainer;
        uint256 extra = payout % n;
        for (uint256 i; i < n; ++i) {
            _credit(token, payouts[i].trainer, i < extra ? each + 1 : each);
        }
        _credit(token, challenger, p.challengeDeposit + stake - slashPerTrainer * n);
        _releaseBondIfLast(projectId, p, round, o);
    }

    /// @inheritdoc IFedMarketOptimistic
    function settleRound(uint256 projectId, uint256 round, Payout[] calldata payouts) external nonReentrant {
        Project storage p = _project(projectId);
        OptimisticRound storage o = _optimisticRounds[projectId][round];
        uint256 windowEnd = o.windowEnd;
        if (windowEnd == 0) revert NotOptimisticRound(projectId, round);
        if (block.timestamp < windowEnd) revert ChallengeWindowOpen(projectId, round, windowEnd);
        if (o.answerDeadline != 0) revert ChallengeOpen(projectId, round, o.answerDeadline);
        _checkPayouts(projectId, round, o, payouts);
        uint256 payout = o.payout;
        o.settled = true;
        o.payout = 0;
        emit RoundSettled(projectId, round, payout);
        address token = p.token;
        uint256 n = payouts.length;
        for (uint256 i; i < n; ++i) {
            _credit(token, payouts[i].trainer, payouts[i].share);
        }
        _releaseBondIfLast(projectId, p, round, o);
    }

    /// @inheritdoc IFedMarketOptimistic
    function getOptimisticRound(uint256 projectId, uint256 round) external view returns (OptimisticRoundView memory v) {
        OptimisticRound storage o = _optimisticRounds[projectId][round];
        v.windowEnd = o.windowEnd;
        v.answerDeadline = o.answerDeadline;
        v.first = o.first;
        v.end = o.end;
        v.next = o.next;
        v.settled = o.settled;
        v.voided = o.voided;
        v.aggregator = o.aggregator;
        v.challenger = o.challenger;
        v.chunkRoot = o.chunkRoot;
        v.accFinal = o.accFinal;
        v.prevModel = o.prevModel;
        v.payoutHash = o.payoutHash;
        v.payout = o.payout;
        v.stake = o.stake;
    }

    /// @inheritdoc IFedMarketOptimistic
    function optimisticParams(uint256 projectId)
        external
        view
        returns (uint64 challengeWindow, uint256 challengeDeposit, uint256 lastOptimisticRoundPlusOne)
    {
        Project storage p = _project(projectId);
        return (p.challengeWindow, p.challengeDeposit, p.lastOptimisticRoundPlusOne);
    }

    /// @dev Reverts unless `payouts` hash to the round's recorded payout hash, and the round is
    ///      neither settled nor voided. The list is never empty: a finalized round had a quorum.
    function _checkPayouts(uint256 projectId, uint256 round, OptimisticRound storage o, Payout[] calldata payouts)
        private
        view
    {
        if (o.settled || o.voided) revert RoundClosed(projectId, round);
        bytes32 h;
        uint256 n = payouts.length;
        // Bounded: a hash that matches lists at most the project's slots (at most 64).
        for (uint256 i; i < n; ++i) {
            h = keccak256(abi.encode(h, payouts[i].trainer, payouts[i].share));
        }
        if (n == 0 || h != o.payoutHash) revert PayoutsMismatch(projectId, round);
    }

    /// @dev Reverts unless `acc` is the committed accumulator `acc_index` of the round: 0 for
    ///      `index == 0`, else a leaf of `chunkRoot` by `proof`.
    function _checkCommitted(OptimisticRound storage o, uint256 index, uint256 acc, bytes32[] calldata proof)
        private
        view
    {
        bool ok;
        if (index == 0) {
            ok = acc == 0;
        } else {
            bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(index, acc))));
            ok = MerkleProof.verifyCalldata(proof, o.chunkRoot, leaf);
        }
        if (!ok) revert AccumulatorNotCommitted(index, acc);
    }

    /// @dev Once the project has ended, the bond kept posted for its last optimistic round goes to
    ///      that round's aggregator when the round is settled or voided.
    function _releaseBondIfLast(uint256 projectId, Project storage p, uint256 round, OptimisticRound storage o)
        private
    {
        if (!_ended(p) || round + 1 != p.lastOptimisticRoundPlusOne) return;
        uint256 bond = p.bondPosted;
        if (bond == 0) return;
        address aggregator = o.aggregator;
        p.bondPosted = 0;
        emit BondReleased(projectId, aggregator, bond);
        _credit(p.token, aggregator, bond);
    }
}
