// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {IFedMarket} from "./interfaces/IFedMarket.sol";
import {IRoundVerifier} from "./interfaces/IRoundVerifier.sol";
import {FedMarketStorage} from "./FedMarketStorage.sol";

/// @title FedMarketRounds
/// @notice How a round ends and pays: the rules FedMarket and its optimistic module
///         (FedMarketOptimistic) both run.
/// @dev Code only, no state (the state is FedMarketStorage's). Both contracts inherit it, so a
///      round finalized with chunk proofs (FedMarket) and one finalized with committed chunk results
///      (FedMarketOptimistic) open the next round, score and pay with the same functions; the
///      only difference is that an optimistic round's payouts are held (`held`) until its
///      challenge window closes.
abstract contract FedMarketRounds is FedMarketStorage {
    using SafeERC20 for IERC20;

    /// @dev Decision public inputs before the slot commitments: ctx, prevModel, newModel, accFinal,
    ///      sealKey.x, sealKey.y, reference.
    uint256 internal constant DECISION_HEAD = 7;
    /// @dev Outcome encoding: three 66-bit slots per word, each `status | score << 2`.
    uint256 internal constant SLOTS_PER_WORD = 3;
    uint256 internal constant SLOT_BITS = 66;
    uint256 internal constant SLOT_MASK = (1 << SLOT_BITS) - 1;
    /// @dev `rewardDecayPpm` of equal rounds: one million millionths.
    uint32 internal constant REWARD_DECAY_ONE = 1e6;

    /// @dev The part of a finalization proven and optimistic rounds share: checks `result` and its
    ///      decision proof (against the stored accumulator, which chunk proofs or the optimistic
    ///      commitment set), records the new model and the next hyper-parameters, and pays the
    ///      shares, or holds them (`held`, an optimistic round). Returns what was paid or held.
    function _finalize(
        uint256 projectId,
        Project storage p,
        uint256 round,
        IFedMarket.RoundResult calldata result,
        bool held
    ) internal returns (uint256 paid) {
        _checkCid(bytes(result.newModelCid).length);
        if (result.newModelCommitment >= FIELD_MODULUS) revert IFedMarket.InvalidCommitment(result.newModelCommitment);
        _checkHyperParams(result.nextHyperParams, p.minHyperParams, p.maxHyperParams);
        uint256[] memory inputs = _decisionInputs(projectId, p, result.newModelCommitment, result.outcomes);
        if (!p.verifier.verifyDecision(result.proof, inputs)) revert IFedMarket.InvalidDecisionProof();

        p.modelCommitment = result.newModelCommitment;
        p.modelCid = result.newModelCid;
        p.hyperParams = result.nextHyperParams;
        uint256 totalScore;
        (totalScore, paid) = _payContributions(projectId, p, round, result.outcomes, held);
        emit IFedMarket.RoundFinalized(
            projectId, round, result.newModelCommitment, result.newModelCid, totalScore, paid, result.nextHyperParams
        );
    }

    /// @dev See {IFedMarket-roundContext}.
    function _roundContext(uint256 projectId, Project storage p, uint256 round) internal view returns (uint256) {
        uint256 digest = uint256(keccak256(abi.encode(block.chainid, address(this), projectId, round, p.paramsHash)));
        // 208 bits of binding, then D (the circuits zero the padding past it) and f.
        return ((digest >> 48) << 40) | (uint256(p.params.modelSize) << 8) | p.byzantineTolerance;
    }

    function _checkHyperParams(IFedMarket.HyperParams memory h, IFedMarket.HyperParams memory min, IFedMarket.HyperParams memory max)
        internal
        pure
    {
        _checkBound("learningRateMicros", h.learningRateMicros, min.learningRateMicros, max.learningRateMicros);
        _checkBound("localEpochs", h.localEpochs, min.localEpochs, max.localEpochs);
        _checkBound("batchSize", h.batchSize, min.batchSize, max.batchSize);
    }

    function _checkBound(string memory field, uint256 value, uint256 min, uint256 max) internal pure {
        if (value < min || value > max) revert IFedMarket.HyperParamOutOfBounds(field, value, min, max);
    }

    /// @dev Opens round `p.currentRound`: reserves its reward from the budget, draws its slots' block
    ///      and sets the next round's reward.
    function _openRound(uint256 projectId, Project storage p) internal {
        uint256 perRound = p.rewardPerRound;
        uint256 reward = Math.min(perRound, p.budget);
        // Unchecked: `reward` is at most the budget.
        unchecked {
            p.budget -= reward;
        }
        p.roundReward = reward;
        // The next round's reward (@fedmarket/core `roundRewardSchedule`): every round is opened exactly
        // once, so round `r` reserves the configured reward decayed `r` times, rounded down at each
        // step, whatever happened to the rounds before it. Rewriting an unchanged value (no decay)
        // costs a warm no-op write.
        p.rewardPerRound = Math.mulDiv(perRound, p.rewardDecayPpm, REWARD_DECAY_ONE);
        p.roundOpenedAt = uint64(block.timestamp);
        p.submissions = 0;
        p.commits = 0;
        p.chunksVerified = 0;
        p.accumulator = 0;
        // The draw: candidates are the trainers registered now; the seed is this block's hash,
        // which nobody sending a transaction now can know (see docs/THREAT-MODEL.md).
        uint32 candidates = p.registeredTrainers;
        p.candidates = candidates;
        p.seedBlock = uint64(block.number);
        p.seed = 0;
        uint64 submissionDeadline = uint64(_commitEnd(p));
        uint64 revealDeadline = uint64(_revealEnd(p));
        emit IFedMarket.RoundOpened(
            projectId,
            p.currentRound,
            candidates,
            submissionDeadline,
            revealDeadline,
            uint64(_aggregationEnd(p)),
            reward,
            p.modelCommitment,
            p.modelCid,
            p.hyperParams
        );
    }

    /// @dev Ends the open round (its reward already settled) and moves the project on.
    function _closeRound(uint256 projectId, Project storage p, bool failed) internal {
        _settleReferenceDeposit(projectId, p);
        uint32 next;
        // Unchecked: the open round is below `numRounds`, a uint32.
        unchecked {
            next = p.currentRound + 1;
        }
        p.currentRound = next;
        if (p.cancelRequested) {
            p.status = IFedMarket.ProjectStatus.Cancelled;
            _closeProject(projectId, p);
        } else if (next == p.numRounds) {
            p.status = IFedMarket.ProjectStatus.Completed;
            _closeProject(projectId, p);
        } else if (failed) {
            p.status = IFedMarket.ProjectStatus.AwaitingAggregator;
            p.awaitingSince = uint64(block.timestamp);
        } else {
            _openRound(projectId, p);
        }
    }

    /// @dev Settles the open round's reference deposit as the round closes (every way a round ends
    ///      passes here: `_closeRound`, or `cancelProject` below the quorum): back to the budget when
    ///      the reference counts (`_referenceInput`: the decision judged, or would have judged, by it)
    ///      or the round has no quorum (no rule judged anyone, so nothing was steered); otherwise
    ///      burned, credited to `address(0)`, which never withdraws. Burned rather than paid to the
    ///      round's trainers: an owner with identities among them would get part of it back.
    function _settleReferenceDeposit(uint256 projectId, Project storage p) internal {
        uint256 deposit = p.referenceDeposit;
        if (deposit == 0) return;
        uint256 round = p.currentRound;
        bool returned = p.submissions < _quorum(p) || _referenceInput(projectId, round) != 0;
        p.referenceDeposit = 0;
        if (returned) p.budget += deposit;
        emit IFedMarket.ReferenceDepositSettled(projectId, round, deposit, returned);
        if (!returned) _credit(p.token, address(0), deposit);
    }

    /// @dev Ends the project in the status its caller just set (`Completed` or `Cancelled`; taken from
    ///      storage rather than as an argument, so the optimizer keeps one copy of this function
    ///      instead of one per status): the unspent budget is refunded pro rata to the deposits (the
    ///      owner's part credited now, the third-party funders' part kept in `refundPool` for
    ///      `claimRefund`), the bond goes to the aggregator, unless the last optimistic round can
    ///      still be challenged: then the bond stays posted until that round is settled or voided
    ///      (FedMarketOptimistic), and `ProjectClosed` reports a bond of 0. The owner's part
    ///      rounds up, so the pool never exceeds the funders' exact share.
    function _closeProject(uint256 projectId, Project storage p) internal {
        uint256 refund = p.budget;
        uint256 bond = p.bondPosted;
        uint256 last = p.lastOptimisticRoundPlusOne;
        if (last != 0) {
            OptimisticRound storage o = _optimisticRounds[projectId][last - 1];
            // A challenge already open holds its stake apart; only later ones need the bond.
            if (block.timestamp < o.windowEnd && !o.voided) bond = 0;
        }
        uint256 funderDeposits = p.funderDeposits;
        uint256 pool = funderDeposits == 0 ? 0 : Math.mulDiv(refund, funderDeposits, p.deposited);
        p.budget = 0;
        p.bondPosted -= bond;
        p.refundPool = pool;
        emit IFedMarket.ProjectClosed(projectId, p.status, refund, bond, pool);
        _credit(p.token, p.owner, refund - pool);
        _credit(p.token, p.aggregator, bond);
    }

    function _decisionInputs(uint256 projectId, Project storage p, uint256 newModel, uint256[] calldata outcomes)
        internal
        view
        returns (uint256[] memory inputs)
    {
        uint256 kMax = p.slotCount;
        uint256 words = _outcomeWords(kMax);
        if (outcomes.length != words) revert IFedMarket.WrongOutcomeCount(words, outcomes.length);
        inputs = new uint256[](DECISION_HEAD + kMax + words);
        inputs[0] = _roundContext(projectId, p, p.currentRound);
        inputs[1] = p.modelCommitment;
        inputs[2] = newModel;
        inputs[3] = p.accumulator;
        // The registered seal key: the proof decrypts every update with the key trainers encrypted to.
        inputs[4] = p.aggregatorSealKey[0];
        inputs[5] = p.aggregatorSealKey[1];
        uint256 round = p.currentRound;
        inputs[6] = _referenceInput(projectId, round);
        uint256 slots = p.maxTrainersPerRound;
        for (uint256 slot; slot < slots; ++slot) {
            SlotEntry storage e = _slots[projectId][slot];
            // A flagged slot nobody answered is passed as empty (commitment 0).
            if (e.round == round && e.revealed && (!e.flagged || e.published)) inputs[DECISION_HEAD + slot] = e.value;
        }
        for (uint256 w; w < words; ++w) {
            inputs[DECISION_HEAD + kMax + w] = outcomes[w];
        }
    }

    /// @dev The reference the decision proof of `round` takes (public input 6): the owner's
    ///      commitment when the reference counts, i.e. it was committed, published, and not left
    ///      flagged (a flag answered on chain keeps it), else 0. A withheld reference (committed,
    ///      never published) and a flagged one nobody answered are passed as 0, like a round without
    ///      one: the proof then falls back to the rule without a reference, so neither the owner (by
    ///      withholding) nor the aggregator (by a flag) can stall the round. A reference passed
    ///      non-zero must be opened by the proof's reference chain and salt, so the proof scores
    ///      against exactly the committed direction. The commitment is read first: a round without
    ///      a reference, the common case, costs one storage read.
    function _referenceInput(uint256 projectId, uint256 round) internal view returns (uint256) {
        Reference storage r = _references[projectId][round];
        uint256 commitment = r.commitment;
        if (commitment == 0 || !r.published || (r.flagged && !r.answered)) return 0;
        return commitment;
    }

    /// @dev Chunk proofs (and an optimistic round's committed chunk results) are about the decision's
    ///      inputs, so they wait until nothing can change those: every flag's answer window closed
    ///      (`AnswerWindowOpen`: a published update keeps its slot, an answered reference counts), and,
    ///      while the open round's reference is committed but not published, the end of its
    ///      publication window (`ReferencePublicationOpen`). Otherwise the aggregator could rush
    ///      chunk proofs before the owner publishes and so drop the reference, or the owner could
    ///      publish after they were computed without it. A reference published early, or none
    ///      committed, does not delay them.
    function _checkChunksMayStart(uint256 projectId, Project storage p) internal view {
        uint256 round = p.currentRound;
        uint256 answerDeadline = p.answerDeadline;
        if (block.timestamp < answerDeadline) revert IFedMarket.AnswerWindowOpen(projectId, round, answerDeadline);
        Reference storage r = _references[projectId][round];
        if (r.commitment != 0 && !r.published) {
            (, uint256 publicationEnd) = _referenceWindow(p);
            if (block.timestamp < publicationEnd) {
                revert IFedMarket.ReferencePublicationOpen(projectId, round, publicationEnd);
            }
        }
    }

    /// @dev Accrues each inlier's share `reward * score / totalScore`; the rounding remainder returns
    ///      to the budget. A zero total splits the whole reward equally instead (`_payEqually`).
    function _payContributions(
        uint256 projectId,
        Project storage p,
        uint256 round,
        uint256[] calldata outcomes,
        bool held
    ) internal
        returns (uint256 totalScore, uint256 paid)
    {
        uint256 slots = p.maxTrainersPerRound;
        // Only revealed slots count: an outcome claimed for any other slot is ignored.
        for (uint256 slot; slot < slots; ++slot) {
            if (!_revealedIn(projectId, slot, round)) continue;
            (IFedMarket.SlotStatus status, uint256 score) = _outcome(outcomes, slot);
            // Unchecked: at most 64 scores of 64 bits each.
            unchecked {
                if (status == IFedMarket.SlotStatus.Inlier) totalScore += score;
            }
        }
        uint256 reward = p.roundReward;
        if (totalScore == 0) {
            _payEqually(projectId, p, round, outcomes, reward, held);
            paid = reward;
        } else {
            address token = p.token;
            for (uint256 slot; slot < slots; ++slot) {
                if (!_revealedIn(projectId, slot, round)) continue;
                (IFedMarket.SlotStatus status, uint256 score) = _outcome(outcomes, slot);
                address trainer = _slots[projectId][slot].trainer;
                uint256 share;
                if (status == IFedMarket.SlotStatus.Inlier && score != 0) {
                    share = Math.mulDiv(reward, score, totalScore);
                    // Unchecked: the shares are parts of `reward` (their scores sum to `totalScore`).
                    unchecked {
                        paid += share;
                    }
                }
                emit IFedMarket.ContributionRecorded(projectId, round, trainer, slot, status, score, share);
                _payOut(projectId, round, held, token, trainer, share);
            }
        }
        p.roundReward = 0;
        p.budget += reward - paid;
    }

    /// @dev The split of a round with a zero total score: the whole `reward` in equal parts to the
    ///      inliers (the slots the proven rule counted, e.g. one kept cluster, which has no other
    ///      cluster to score against); without inliers to the not-aggregated slots (the valid ones:
    ///      the rule judged nobody), or to every revealed slot if none is valid:
    ///      `floor(reward / n)` each and one unit more for the first `reward % n` of them. A slot the
    ///      rule left out is never paid while another was counted.
    function _payEqually(
        uint256 projectId,
        Project storage p,
        uint256 round,
        uint256[] calldata outcomes,
        uint256 reward,
        bool held
    ) internal {
        uint256 submissions = p.submissions;
        uint256 slots = p.maxTrainersPerRound;
        uint256 inliers;
        uint256 valid;
        for (uint256 slot; slot < slots; ++slot) {
            if (!_revealedIn(projectId, slot, round)) continue;
            (IFedMarket.SlotStatus status,) = _outcome(outcomes, slot);
            if (status == IFedMarket.SlotStatus.Inlier) ++inliers;
            else if (status == IFedMarket.SlotStatus.NotAggregated) ++valid;
        }
        uint256 eligible = inliers != 0 ? inliers : valid != 0 ? valid : submissions;
        uint256 each = reward / eligible;
        uint256 extra = reward % eligible;
        address token = p.token;
        for (uint256 slot; slot < slots; ++slot) {
            SlotEntry storage e = _slots[projectId][slot];
            if (e.round != round || !e.revealed) continue;
            (IFedMarket.SlotStatus status, uint256 score) = _outcome(outcomes, slot);
            address trainer = e.trainer;
            uint256 share;
            if (
                status == IFedMarket.SlotStatus.Inlier || (inliers == 0 && (valid == 0 || status == IFedMarket.SlotStatus.NotAggregated))
            ) {
                share = each;
                // Unchecked: `extra` is not zero, and `each + 1` is at most `reward`.
                if (extra != 0) {
                    unchecked {
                        ++share;
                        --extra;
                    }
                }
            }
            emit IFedMarket.ContributionRecorded(projectId, round, trainer, slot, status, score, share);
            _payOut(projectId, round, held, token, trainer, share);
        }
    }

    /// @dev Takes `amount` from the caller: ETH must arrive as exactly `msg.value`; ERC-20 tokens are
    ///      pulled and the amount that actually arrived (fee-on-transfer tokens) is returned.
    function _pull(address token, uint256 amount) internal returns (uint256 received) {
        if (token == address(0)) {
            if (msg.value != amount) revert IFedMarket.WrongEthAmount(amount, msg.value);
            received = amount;
        } else {
            if (msg.value != 0) revert IFedMarket.WrongEthAmount(0, msg.value);
            if (amount == 0) return 0;
            IERC20 erc20 = IERC20(token);
            uint256 before = erc20.balanceOf(address(this));
            erc20.safeTransferFrom(msg.sender, address(this), amount);
            received = erc20.balanceOf(address(this)) - before;
        }
        _liabilities[token] += received;
    }

    /// @dev Credits `share` to `trainer` now or, for a round whose payouts are `held` (an optimistic
    ///      round), chains `(trainer, share)` into the round's payout hash instead, zero shares
    ///      included, so the hash lists every revealed slot in slot order (`settleRound` and
    ///      `voidRound` take that list; reference: packages/protocol `payoutHash`).
    function _payOut(uint256 projectId, uint256 round, bool held, address token, address trainer, uint256 share)
        internal
    {
        if (!held) return _credit(token, trainer, share);
        OptimisticRound storage o = _optimisticRounds[projectId][round];
        o.payoutHash = keccak256(abi.encode(o.payoutHash, trainer, share));
    }

    function _credit(address token, address account, uint256 amount) internal {
        if (amount == 0) return;
        _credits[token][account] += amount;
        emit IFedMarket.Credited(token, account, amount);
    }

    function _ended(Project storage p) internal view returns (bool) {
        return p.status == IFedMarket.ProjectStatus.Completed || p.status == IFedMarket.ProjectStatus.Cancelled;
    }

    /// @dev Whether `slot` holds an update revealed in `round`.
    function _revealedIn(uint256 projectId, uint256 slot, uint256 round) internal view returns (bool) {
        SlotEntry storage e = _slots[projectId][slot];
        return e.round == round && e.revealed;
    }

    function _outcome(uint256[] calldata outcomes, uint256 slot) internal pure returns (IFedMarket.SlotStatus, uint256) {
        uint256 packed = (outcomes[slot / SLOTS_PER_WORD] >> (SLOT_BITS * (slot % SLOTS_PER_WORD))) & SLOT_MASK;
        return (IFedMarket.SlotStatus(packed & 3), packed >> 2);
    }

    function _outcomeWords(uint256 kMax) internal pure returns (uint256) {
        return (kMax + SLOTS_PER_WORD - 1) / SLOTS_PER_WORD;
    }

    function _decisionInputCount(uint256 kMax) internal pure returns (uint256) {
        return DECISION_HEAD + kMax + _outcomeWords(kMax);
    }

    /// @dev `verifier.verifyChunks(proofs, [accIn, each proof's accOut])`, and the last accOut: the
    ///      chunk proofs of `submitChunkProofs` and of the optimistic module's answers. The call's
    ///      arguments are copied straight from our calldata: memory arrays and the ABI encoder would
    ///      cost gas and the code size FedMarket does not have (EIP-170). A reverting verifier reverts,
    ///      as a Solidity call would. `proofs` is not empty.
    function _verifyChunks(IRoundVerifier verifier, uint256 accIn, IFedMarket.ChunkProof[] calldata proofs)
        internal
        view
        returns (bool valid, uint256 accOut)
    {
        bytes4 selector = IRoundVerifier.verifyChunks.selector;
        accOut = accIn;
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            // At the free memory (not claimed: only the call reads it): selector, the two offsets,
            // proofs = [n, 8 words each], accs = [n + 1, accIn, each accOut]. A ChunkProof is 9 words.
            let n := proofs.length
            let m := mload(0x40)
            let proofBytes := shl(8, n)
            mstore(m, selector)
            mstore(add(m, 0x04), 0x40)
            mstore(add(m, 0x24), add(0x60, proofBytes))
            mstore(add(m, 0x44), n)
            let proofsOut := add(m, 0x64)
            let accsOut := add(proofsOut, proofBytes)
            mstore(accsOut, add(n, 1))
            mstore(add(accsOut, 0x20), accIn)
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let src := add(proofs.offset, mul(i, 0x120))
                calldatacopy(add(proofsOut, shl(8, i)), src, 0x100)
                accOut := calldataload(add(src, 0x100))
                mstore(add(accsOut, shl(5, add(i, 2))), accOut)
            }
            if iszero(staticcall(gas(), verifier, m, sub(add(accsOut, shl(5, add(n, 2))), m), 0, 0x20)) {
                returndatacopy(m, 0, returndatasize())
                revert(m, returndatasize())
            }
            valid := and(gt(returndatasize(), 0x1f), eq(mload(0), 1))
        }
    }
}
