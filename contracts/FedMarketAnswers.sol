// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IFedMarket} from "./interfaces/IFedMarket.sol";
import {IRoundVerifier} from "./interfaces/IRoundVerifier.sol";
import {FedMarketStorage} from "./FedMarketStorage.sol";

/// @title FedMarketAnswers
/// @notice FedMarket's "not available" flags and their answers, and the owner's reference (see
///         {IFedMarket}: the contract header and `flagUnavailable`, `publishUpdatePart`,
///         `publishUpdate`, `commitReference`, `publishReference`).
/// @dev A delegated module: FedMarket deploys it in its constructor and forwards these calls
///      to it unchanged with `delegatecall` (behind FedMarket's reentrancy guard), so it runs on
///      FedMarket's storage, as FedMarket, and its events come from FedMarket's address. It exists
///      because FedMarket alone would exceed EIP-170's 24,576 bytes. Called directly it only sees
///      its own empty storage: every project is unknown there.
contract FedMarketAnswers is FedMarketStorage {
    /// @dev Bound of a reference answer's packed elements: `2^253`. An honest element is below
    ///      `2^252` (core `pack`), and the chunk proof reads `v` from the low bits of a 253-bit
    ///      decomposition (circuits/lib.circom `UnpackLow`), which exists exactly for the elements
    ///      below it. An owner who committed a larger element cannot answer with it, so its
    ///      reference does not count: it cannot make the round unprovable.
    uint256 internal constant REFERENCE_ELEMENT_LIMIT = 1 << 253;

    /// @notice See {IFedMarket-flagUnavailable} (FedMarket forwards it here by `delegatecall`).
    function flagUnavailable(uint256 projectId, uint256 round, uint256 slotMask) external {
        Project storage p = _project(projectId);
        uint256 slots = p.maxTrainersPerRound;
        uint256 deadline = _openFlag(projectId, p, round);
        if (slotMask == 0 || slotMask >> slots != 0) revert IFedMarket.InvalidSlotMask(slotMask);
        for (uint256 slot; slot < slots; ++slot) {
            if (((slotMask >> slot) & 1) == 0) continue;
            SlotEntry storage e = _slots[projectId][slot];
            if (e.round != round || !e.revealed) revert IFedMarket.NotRevealed(projectId, round, slot);
            if (e.flagged) revert IFedMarket.AlreadyFlagged(projectId, round, slot);
            e.flagged = true;
            emit IFedMarket.UpdateFlagged(projectId, round, e.trainer, slot, uint64(deadline));
        }
    }

    /// @notice See {IFedMarket-publishUpdatePart} (FedMarket forwards it here by `delegatecall`).
    function publishUpdatePart(uint256 projectId, uint256 round, uint256 slot, uint256[] calldata cipher)
        external
    {
        Project storage p = _project(projectId);
        (SlotEntry storage e, IRoundVerifier verifier) = _answerable(projectId, p, round, slot);
        // Only the slot's trainer extends the slot's partial chain: a part from anyone else could
        // leave it unopenable, and so the flag unanswerable.
        if (msg.sender != e.trainer) revert IFedMarket.NotSlotTrainer(projectId, round, slot);
        uint256 first = e.chunksAnswered;
        (e.answerAcc, e.chunksAnswered) = _extendPart(verifier, p.numChunks, first, e.answerAcc, cipher, 2, FIELD_MODULUS);
        emit IFedMarket.UpdatePartPublished(projectId, round, e.trainer, slot, first, cipher);
    }

    /// @notice See {IFedMarket-publishUpdate} (FedMarket forwards it here by `delegatecall`).
    function publishUpdate(
        uint256 projectId,
        uint256 round,
        uint256 slot,
        uint256[2] calldata ephemeral,
        uint256[] calldata cipher,
        bytes calldata ownerWrap
    ) external {
        Project storage p = _project(projectId);
        (SlotEntry storage e, IRoundVerifier verifier) = _answerable(projectId, p, round, slot);
        // The chunks the slot's trainer published in parts (`publishUpdatePart`) come first.
        uint256 first = e.chunksAnswered;
        uint256 width = verifier.cipherWidth();
        uint256 expected = (uint256(p.numChunks) - first) * width;
        if (cipher.length != expected) revert IFedMarket.WrongCipherLength(expected, cipher.length);
        // Poseidon reduces its inputs: a non-canonical element would be a second encoding of the data.
        if (ephemeral[0] >= FIELD_MODULUS) revert IFedMarket.NonCanonicalElement(0);
        if (ephemeral[1] >= FIELD_MODULUS) revert IFedMarket.NonCanonicalElement(1);
        _checkCanonical(cipher, 2 + first * width, FIELD_MODULUS);
        if (ownerWrap.length > MAX_OWNER_WRAP_LENGTH) revert IFedMarket.OwnerWrapTooLong(ownerWrap.length);
        // A view call into the project's verifier (its Poseidon libraries), before any effect.
        uint256 commitment = verifier.sealedCommitmentFrom(first == 0 ? 0 : e.answerAcc, ephemeral, cipher);
        if (commitment != e.value) revert IFedMarket.PublishedUpdateMismatch(projectId, round, slot);

        e.published = true;
        emit IFedMarket.UpdatePublished(projectId, round, e.trainer, slot, first, ephemeral, cipher, ownerWrap);
    }

    /// @notice See {IFedMarket-commitReference} (FedMarket forwards it here by `delegatecall`).
    function commitReference(uint256 projectId, uint256 round, uint256 commitment) external {
        Project storage p = _referenceRound(projectId, round);
        uint256 deadline = _commitEnd(p);
        if (block.timestamp >= deadline) revert IFedMarket.SubmissionWindowClosed(projectId, round, deadline);
        if (commitment == 0 || commitment >= FIELD_MODULUS) revert IFedMarket.InvalidCommitment(commitment);
        Reference storage r = _references[projectId][round];
        if (r.commitment != 0) revert IFedMarket.ReferenceAlreadyCommitted(projectId, round);
        // The deposit: the round's reward, what steering the round by publishing or withholding
        // `v` can move (returned or burned when the round closes, FedMarketRounds).
        uint256 deposit = p.roundReward;
        uint256 budget = p.budget;
        if (budget < deposit) revert IFedMarket.ReferenceDepositUnavailable(projectId, round, budget, deposit);
        r.commitment = commitment;
        // Unchecked: checked just above.
        unchecked {
            p.budget = budget - deposit;
        }
        p.referenceDeposit = deposit;
        emit IFedMarket.ReferenceCommitted(projectId, round, commitment, deposit);
    }

    /// @notice See {IFedMarket-publishReference} (FedMarket forwards it here by `delegatecall`).
    function publishReference(uint256 projectId, uint256 round, string calldata cid) external {
        Project storage p = _referenceRound(projectId, round);
        (uint256 start, uint256 end) = _referenceWindow(p);
        if (block.timestamp < start || block.timestamp >= end) {
            revert IFedMarket.OutsideReferenceWindow(projectId, round, start, end);
        }
        _checkCid(bytes(cid).length);
        Reference storage r = _references[projectId][round];
        uint256 commitment = r.commitment;
        if (commitment == 0) revert IFedMarket.ReferenceNotCommitted(projectId, round);
        if (r.published) revert IFedMarket.ReferenceAlreadyPublished(projectId, round);
        r.published = true;
        emit IFedMarket.ReferencePublished(projectId, round, commitment, cid);
    }

    /// @notice See {IFedMarket-flagReference} (FedMarket forwards it here by `delegatecall`).
    function flagReference(uint256 projectId, uint256 round) external {
        Project storage p = _project(projectId);
        uint256 deadline = _openFlag(projectId, p, round);
        Reference storage r = _references[projectId][round];
        if (!r.published) revert IFedMarket.ReferenceNotPublished(projectId, round);
        if (r.flagged) revert IFedMarket.ReferenceAlreadyFlagged(projectId, round);
        r.flagged = true;
        emit IFedMarket.ReferenceFlagged(projectId, round, uint64(deadline));
    }

    /// @notice See {IFedMarket-answerReferencePart} (FedMarket forwards it here by `delegatecall`).
    function answerReferencePart(uint256 projectId, uint256 round, uint256[] calldata packed) external {
        Project storage p = _project(projectId);
        if (msg.sender != p.owner) revert IFedMarket.NotProjectOwner(projectId, msg.sender);
        (Reference storage r, IRoundVerifier verifier) = _answerableReference(projectId, p, round);
        uint256 first = r.chunksAnswered;
        (r.answerAcc, r.chunksAnswered) = _extendPart(verifier, p.numChunks, first, r.answerAcc, packed, 1, REFERENCE_ELEMENT_LIMIT);
        emit IFedMarket.ReferencePartAnswered(projectId, round, first, packed);
    }

    /// @notice See {IFedMarket-answerReference} (FedMarket forwards it here by `delegatecall`).
    function answerReference(uint256 projectId, uint256 round, uint256 salt, uint256[] calldata packed) external {
        Project storage p = _project(projectId);
        (Reference storage r, IRoundVerifier verifier) = _answerableReference(projectId, p, round);
        uint256 first = r.chunksAnswered;
        uint256 width = verifier.cipherWidth();
        uint256 expected = (uint256(p.numChunks) - first) * width;
        if (packed.length != expected) revert IFedMarket.WrongCipherLength(expected, packed.length);
        if (salt >= FIELD_MODULUS) revert IFedMarket.NonCanonicalElement(0);
        _checkCanonical(packed, 1 + first * width, REFERENCE_ELEMENT_LIMIT);
        // A view call into the project's verifier, before any effect: the sealed-update shape with
        // (salt, 0) in the ephemeral key's place (core `referenceCommitment`).
        uint256 commitment = verifier.sealedCommitmentFrom(first == 0 ? 0 : r.answerAcc, [salt, 0], packed);
        if (commitment != r.commitment) revert IFedMarket.PublishedReferenceMismatch(projectId, round);

        r.answered = true;
        emit IFedMarket.ReferenceAnswered(projectId, round, first, salt, packed);
    }

    /// @dev Opens a flag of the open round `round` (updates' or the reference's) and returns its
    ///      answer deadline, now the round's: only the aggregator, in the first half of the
    ///      aggregation window of a round with a quorum (a round that cannot be aggregated has
    ///      nothing to flag), before any chunk proof (a flag changes the decision's inputs, and so
    ///      what the chunk proofs are for). Every flag gets at least a quarter of the window to be
    ///      answered; the latest deadline, start + 3W/4, still leaves the aggregator a quarter to prove.
    function _openFlag(uint256 projectId, Project storage p, uint256 round) private returns (uint256 deadline) {
        uint256 start = _checkAggregation(projectId, p, round);
        uint256 window = p.aggregationWindow;
        uint256 half;
        // Unchecked: timestamps and windows (at most 365 days) are far below 2^64.
        unchecked {
            half = start + window / 2;
            deadline = block.timestamp + window / 4;
        }
        if (block.timestamp >= half) revert IFedMarket.FlaggingClosed(projectId, round);
        if (p.chunksVerified != 0) revert IFedMarket.ChunkProofsStarted(projectId, round);
        if (deadline < p.answerDeadline) deadline = p.answerDeadline;
        p.answerDeadline = uint64(deadline);
    }

    /// @dev The open round's reference is flagged, not answered yet, and the answer window is open.
    ///      A flag needs a quorum, so the round closes only through `_closeRound`, which moves
    ///      `currentRound` on: a flagged reference of the current round belongs to an active project.
    function _answerableReference(uint256 projectId, Project storage p, uint256 round)
        private
        view
        returns (Reference storage r, IRoundVerifier verifier)
    {
        r = _references[projectId][round];
        if (round != p.currentRound || !r.flagged || r.answered) revert IFedMarket.ReferenceNotFlagged(projectId, round);
        uint256 deadline = p.answerDeadline;
        if (block.timestamp >= deadline) revert IFedMarket.AnswerWindowClosed(projectId, round, deadline);
        verifier = p.verifier;
    }

    /// @dev The caller owns the active project and `round` is its open round.
    function _referenceRound(uint256 projectId, uint256 round) private view returns (Project storage p) {
        p = _project(projectId);
        if (msg.sender != p.owner) revert IFedMarket.NotProjectOwner(projectId, msg.sender);
        if (p.status != IFedMarket.ProjectStatus.Active) revert IFedMarket.WrongProjectStatus(projectId, p.status);
        if (round != p.currentRound) revert IFedMarket.WrongRound(projectId, p.currentRound, round);
    }

    /// @dev Slot `slot` is flagged in the open round `round`, not answered yet, and its answer
    ///      window is open. Flags need a quorum, so a round with a flag closes only through
    ///      `_closeRound`, which moves `currentRound` on: a flagged entry of the current round belongs
    ///      to an active project.
    function _answerable(uint256 projectId, Project storage p, uint256 round, uint256 slot)
        private
        view
        returns (SlotEntry storage e, IRoundVerifier verifier)
    {
        e = _slots[projectId][slot];
        if (round != p.currentRound || e.round != round || !e.flagged || e.published) {
            revert IFedMarket.NotFlagged(projectId, round, slot);
        }
        uint256 deadline = p.answerDeadline;
        if (block.timestamp >= deadline) revert IFedMarket.AnswerWindowClosed(projectId, round, deadline);
        verifier = p.verifier;
    }

    /// @dev A part of an answer (an update's or the reference's): `xs` holds whole chunks after the
    ///      `first` already answered, none past the last (`WrongPartLength`), every element below
    ///      `limit` (`NonCanonicalElement`, numbered after the answer's `head` leading elements). Returns
    ///      the chain extended over them (a view call into the project's verifier, before any effect)
    ///      and the chunks answered so far.
    function _extendPart(
        IRoundVerifier verifier,
        uint256 numChunks,
        uint256 first,
        uint256 acc,
        uint256[] calldata xs,
        uint256 head,
        uint256 limit
    ) private view returns (uint256 accOut, uint32 answered) {
        uint256 width = verifier.cipherWidth();
        uint256 length = xs.length;
        if (length == 0 || length % width != 0 || first + length / width > numChunks) {
            revert IFedMarket.WrongPartLength(length, width, numChunks - first);
        }
        _checkCanonical(xs, head + first * width, limit);
        accOut = verifier.cipherChain(first == 0 ? 0 : acc, xs);
        answered = uint32(first + length / width);
    }

    /// @dev Every element is below `limit` (else `NonCanonicalElement(offset + i)`): the BN254 scalar
    ///      field for an update (Poseidon reduces its inputs, so a non-canonical element would be a
    ///      second encoding), `REFERENCE_ELEMENT_LIMIT` for the reference's packed values.
    function _checkCanonical(uint256[] calldata xs, uint256 offset, uint256 limit) private pure {
        for (uint256 i; i < xs.length; ++i) {
            if (xs[i] >= limit) revert IFedMarket.NonCanonicalElement(offset + i);
        }
    }
}
