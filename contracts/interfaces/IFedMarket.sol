// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IRoundVerifier} from "./IRoundVerifier.sol";

/// @title IFedMarket
/// @notice A marketplace for federated learning. A project owner escrows a reward budget (ETH or an
///         ERC-20); registered trainers are drawn into each round's slots at random (every
///         registration holds the same stake, so a party's expected share of slots is its share of
///         the stake, however it splits it over addresses and however fast it sends), commit to
///         their updates, and reveal them only once every commitment is locked; the project's
///         aggregator finalizes a round only with zero-knowledge proofs that the updates were
///         filtered (the consensus rule: outliers by norm cap and consensus test), scored and
///         aggregated correctly. The round reward is split in proportion to the proven
///         contribution scores. Payments are pull-based (`withdraw`).
/// @dev Lifecycle of a project: `AwaitingAggregator` (until the appointed aggregator accepts the
///      exact terms it was offered and posts its bond) -> `Active` (round `r` open: commit window,
///      reveal window, then aggregation window) -> after the last round `Completed`, or `Cancelled` (by the
///      owner, or by anyone once the project has waited `ACCEPTANCE_TIMEOUT` for an aggregator). A
///      round ends in one of three ways: finalized (proofs verified; in a project with a challenge
///      window, also optimistically: the decision proof verified, the chunk results committed and
///      the payouts held until the window closes, see IFedMarketOptimistic), skipped (fewer than `2f + 3`
///      revealed updates: nothing to aggregate, no fault) or failed (the aggregator missed its window:
///      bond slashed, appointment cleared, the owner must appoint an aggregator again). Every state
///      has an exit that someone other than the owner can take, and every state change emits an
///      event, so the whole history, including every balance, can be rebuilt from logs alone.
///
///      Slots (reference: packages/core `slots.ts`): the trainers registered when a round opens are
///      its candidates; the round's seed is the hash of the block that opened it, read by the first
///      `drawSeed` or `commitUpdate` after that block (so nobody who sends a transaction can know it
///      in advance); `min(slots, candidates)` distinct candidates are drawn uniformly (Floyd's
///      algorithm), candidate `i` of draw `j` taking slot `j`. See docs/THREAT-MODEL.md for the bias.
///
///      Commit, then reveal: in the commit window a drawn trainer posts
///      `keccak256(abi.encode(chainid, market, projectId, round, trainer, commitment, keccak256(cid)))`;
///      in the reveal window it posts `commitment` and `cid`. No update, commitment or CID is visible
///      before every commitment is locked, and a sealed commitment opens only for its sender. A
///      commitment is revealed at most once in the market: one revealed before, in any project or
///      round, is refused (`DuplicateCommitment`).
///
///      "Not available", made contestable: an aggregator that cannot fetch or open a revealed update
///      does not get to leave it out on its word. In the first half of the aggregation window,
///      before any chunk proof, it flags the slot (`flagUnavailable`); until the round's answer
///      deadline (at most three quarters into the window, so the aggregator keeps a quarter to
///      prove) anyone may answer by publishing the slot's sealed update (`publishUpdate`), which the
///      contract checks against the revealed commitment. A published update keeps its slot and is
///      scored like any other (its data is now public on chain, in `UpdatePublished`); a flagged
///      slot left unanswered enters the decision proof with commitment 0, i.e. as an empty slot
///      (status `Empty`, unpaid). Chunk proofs wait for the answer deadline.
///
///      The owner's reference (docs/PROOF-INTERFACE.md, "The owner's reference"): in a round's
///      commit window the owner may commit to a reference direction `v` (`commitReference`: a
///      salted Poseidon chain, core `referenceCommitment`, hiding while trainers choose their
///      updates) and, from the end of the reveal window to a quarter into the aggregation window,
///      publish its opening (`publishReference`: the CID of the `fedmarket-reference/1` blob).
///      Both are optional and once per round. A published reference the aggregator cannot fetch or
///      open is contested like an update: the aggregator flags it (`flagReference`) and anyone
///      answers with its packed values and salt in calldata (`answerReference`, the owner first in
///      parts if it is large), checked by the verifier's `sealedCommitmentFrom`; left unanswered,
///      the round has no reference. The decision proof takes the commitment as its public input
///      `reference` when the reference counts (committed, published, and not left flagged), else
///      0, and the proof then applies the rule without a reference (`decisionPublicInputs`). So
///      that whether it counts is settled before the chunk proofs, they wait while a committed
///      reference may still be published (`ReferencePublicationOpen`); a reference published
///      earlier, or none, does not delay them. Because the owner publishes after the reveals, when
///      it can open every update, whether the round is judged by `v` or by consensus would be its
///      choice made knowing the outcome: committing therefore takes a deposit of the round's reward
///      from the budget (`referenceDeposit`), returned to the budget when the round closes with the
///      reference counting or without a quorum (nothing was steered), and otherwise burned
///      (credited to `address(0)`, which can never withdraw): withholding costs what steering one
///      round can move (`ReferenceDepositSettled`).
///
///      Money rules (their TypeScript reference is packages/core `rewards.ts`: `rewardShares`,
///      `failedRoundSplit`, `equalShares`, `refundSplit`, `refundClaim`): once a round has a
///      commitment, its reserved reward goes to that round's trainers (finalized: by proven score)
///      or to its submitters (failed, cancelled, or finalized with a zero total score), never back
///      to the owner. Only a skipped round (fewer than `2f + 3` revealed updates when its reveal window closes)
///      returns its reward to the budget, where it stays escrowed for the next rounds. Unspent
///      budget is refunded when the project ends, pro rata to everything deposited: the owner's
///      part is credited at once, third-party funders claim theirs (`claimRefund`).
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
        /// The tolerated number of Byzantine trainers `f` (a round needs `max(3, 2f + 1)` revealed updates, and
        /// a project at least `2f + 3` slots).
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
    // Passed in calldata and memory only, where fields are never packed: the order follows the
    // lifecycle, not storage slots.
    // solhint-disable-next-line gas-struct-packing
    struct ProjectConfig {
        /// Reward token; `address(0)` for ETH.
        address token;
        /// The account that aggregates and proves every round.
        address aggregator;
        /// Verifier of the round proofs for the project's circuit configuration.
        IRoundVerifier verifier;
        /// Budget escrowed at creation (for ETH, exactly `msg.value`).
        uint256 budget;
        /// Reward of the first round, reserved from the budget when the round opens (or the budget,
        /// if smaller). Later rounds follow `rewardDecayPpm`.
        uint256 rewardPerRound;
        /// Each round's reward over the previous one's, in millionths, in `[1, 1_000_000]`: round `r`
        /// reserves `rewardPerRound` decayed `r` times, rounded down at each step
        /// (`floor(x * rewardDecayPpm / 1e6)`). 1,000,000 for equal rounds. A decay pays the early
        /// rounds, where the model gains most, more (see docs/SCORING.md); fixed before any trainer
        /// registers, it is a term of the project like its budget.
        uint32 rewardDecayPpm;
        /// Number of rounds (finalized, skipped and failed rounds all count).
        uint32 numRounds;
        /// Trainer slots per round; at most `verifier.maxTrainers()`, at least `2f + 3`.
        uint32 maxTrainersPerRound;
        /// Length of a round's commit window, in seconds (at most 365 days).
        uint64 submissionWindow;
        /// Length of the reveal window that follows it, in seconds (at most 365 days).
        uint64 revealWindow;
        /// Length of the aggregation window that follows it, in seconds (at most 365 days).
        uint64 aggregationWindow;
        /// Optimistic rounds (IFedMarketOptimistic): how long, in seconds, anyone may challenge a
        /// round finalized without its chunk proofs; 0 for a project whose every round is proven.
        /// At most `submissionWindow + revealWindow`, so that a round's window has closed before
        /// the next round can be aggregated on its model.
        uint64 challengeWindow;
        /// Bond the aggregator must post before rounds open.
        uint256 aggregatorBond;
        /// Amount slashed from the bond for each failed round (at most the bond), and the part of
        /// the bond a challenge holds and a voided optimistic round forfeits.
        uint256 slashAmount;
        /// What a challenger of an optimistic round deposits (lost to the aggregator if the
        /// challenge is answered, returned with a reward if it voids the round).
        uint256 challengeDeposit;
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
    // Returned in memory only, where fields are never packed.
    // solhint-disable-next-line gas-struct-packing
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
        /// Trainers registered so far (each holds `trainerStake`).
        uint32 registeredTrainers;
        /// The project's `rewardDecayPpm` (see `ProjectConfig`): `rewardPerRound` is multiplied by it,
        /// in millionths, each time a round opens.
        uint32 rewardDecayPpm;
        uint64 roundOpenedAt;
        uint64 submissionWindow;
        uint64 revealWindow;
        uint64 aggregationWindow;
        /// While `AwaitingAggregator`: from this time on anyone may close the project
        /// (`expireProject`); 0 in every other status.
        uint64 acceptanceDeadline;
        uint256 budget;
        uint256 roundReward;
        /// The open round's reference deposit (`commitReference`), held until the round closes.
        uint256 referenceDeposit;
        /// The reward the next round to open reserves (the first round's, decayed once per round opened).
        uint256 rewardPerRound;
        uint256 aggregatorBond;
        uint256 bondPosted;
        uint256 slashAmount;
        uint256 trainerStake;
        bytes32 allowlistRoot;
        bytes32 paramsHash;
        bytes32 ownerEncryptionKey;
        /// The accepted aggregator's seal key `[x, y]` (see `acceptAggregator`); `[0, 0]` until an
        /// aggregator accepts and again after a failed round clears the appointment.
        uint256[2] aggregatorSealKey;
        uint256 modelCommitment;
        string modelCid;
        string specCid;
        CircuitParams params;
        /// Hyper-parameters of the open (or, once the project ended, the last) round.
        HyperParams hyperParams;
        /// Inclusive bounds fixed at creation.
        HyperParams minHyperParams;
        HyperParams maxHyperParams;
        /// Once ended: the part of the refunded budget that third-party funders have not claimed yet.
        uint256 refundPool;
    }

    /// @notice A read-only view of the current round of a project.
    struct RoundView {
        uint32 round;
        /// Revealed updates (what the quorum counts).
        uint32 submissions;
        /// Sealed commitments posted in the commit window.
        uint32 commits;
        uint32 chunksVerified;
        /// Trainers registered when the round opened: the candidates for its slots.
        uint32 candidates;
        /// Block whose hash seeds the draw of the slots (re-anchored if nobody read it in 256 blocks).
        uint64 seedBlock;
        /// The draw's seed, 0 until `drawSeed` or the first commit fixed it.
        uint256 seed;
        uint64 submissionDeadline;
        uint64 revealDeadline;
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
    /// @notice The commit window of the round closed at `deadline`.
    error SubmissionWindowClosed(uint256 projectId, uint256 round, uint256 deadline);
    /// @notice The commit or reveal window of the round is still open until `deadline`.
    error SubmissionWindowOpen(uint256 projectId, uint256 round, uint256 deadline);
    /// @notice The reveal window of the round is not open: it runs over `[start, end)`.
    error OutsideRevealWindow(uint256 projectId, uint256 round, uint256 start, uint256 end);
    /// @notice The round's seed is not known yet: it is the hash of block `seedBlock`, readable from
    ///         the next block on. Retry in a later block.
    error SeedPending(uint256 projectId, uint256 round, uint256 seedBlock);
    /// @notice The trainer was not drawn for a slot of this round (or registered after it opened).
    error NotSelected(uint256 projectId, uint256 round, address trainer);
    /// @notice The trainer posted no sealed commitment in this round.
    error NotCommitted(uint256 projectId, uint256 round, address trainer);
    /// @notice The trainer already revealed its update in this round.
    error AlreadyRevealed(uint256 projectId, uint256 round, address trainer);
    /// @notice `commitment` and `cid` do not hash, with the caller's address, to its sealed commitment.
    error RevealMismatch(uint256 projectId, uint256 round, address trainer);
    /// @notice `commitment` was already revealed in this market, by another slot of this round or in
    ///         any earlier round of any project: a commitment is revealed at most once. `projectId`
    ///         and `round` are those of the refused reveal.
    error DuplicateCommitment(uint256 projectId, uint256 round, uint256 commitment);
    /// @notice The aggregation window of the round is not open: it runs over `[start, end)`.
    error OutsideAggregationWindow(uint256 projectId, uint256 round, uint256 start, uint256 end);
    /// @notice The aggregation window of the round has not ended yet (it ends at `end`).
    error AggregationWindowOpen(uint256 projectId, uint256 round, uint256 end);
    /// @notice The trainer already committed in this round.
    error AlreadySubmitted(uint256 projectId, uint256 round, address trainer);
    /// @notice The commitment is zero or not a field element.
    error InvalidCommitment(uint256 commitment);
    /// @notice The CID is empty or longer than 128 bytes.
    error InvalidCid();
    /// @notice The round has fewer than `2f + 3` revealed updates: it cannot be aggregated.
    error QuorumNotReached(uint256 projectId, uint256 round, uint256 submissions, uint256 quorum);
    /// @notice The round has enough submissions to be aggregated, so it cannot be skipped.
    error QuorumReached(uint256 projectId, uint256 round, uint256 submissions, uint256 quorum);
    /// @notice Chunk proofs must continue at `expected` (or restart at 0).
    error ChunkOutOfOrder(uint256 expected, uint256 given);
    /// @notice More chunk proofs than the model has chunks.
    error TooManyChunks(uint256 numChunks, uint256 given);
    /// @notice The `count` chunk proofs from chunk `firstChunk` on do not all verify. They are checked
    ///         as one batch, which cannot name the bad proof (`IRoundVerifier.verifyChunk` can).
    error InvalidChunkProofs(uint256 firstChunk, uint256 count);
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
    /// @notice The owner cannot aggregate its own project (`account` is both).
    error AggregatorIsOwner(address account);
    /// @notice The appointment's terms are not the ones the aggregator accepted: the project now
    ///         asks for this `bond` and `slashAmount`.
    error AppointmentTermsChanged(uint256 projectId, uint256 bond, uint256 slashAmount);
    /// @notice The seal key is not a BabyJubJub point other than the identity: a coordinate is not
    ///         below the BN254 scalar field, the point is off the curve, or it is `(0, 1)`.
    error InvalidSealKey();
    /// @notice The project may wait for its aggregator until `deadline`; it cannot be expired before.
    error AcceptanceWindowOpen(uint256 projectId, uint256 deadline);
    /// @notice The caller funded nothing that is still unrefunded, or the project has not ended.
    error NothingToRefund(uint256 projectId, address funder);
    /// @notice Slots can be flagged only in the first half of the round's aggregation window.
    error FlaggingClosed(uint256 projectId, uint256 round);
    /// @notice A chunk proof of the round was already accepted: its slots can no longer be flagged.
    error ChunkProofsStarted(uint256 projectId, uint256 round);
    /// @notice The slot mask is zero or has a bit at or above the project's `maxTrainersPerRound`.
    error InvalidSlotMask(uint256 slotMask);
    /// @notice The slot holds no update revealed in this round.
    error NotRevealed(uint256 projectId, uint256 round, uint256 slot);
    /// @notice The slot is already flagged in this round.
    error AlreadyFlagged(uint256 projectId, uint256 round, uint256 slot);
    /// @notice The slot is not flagged in the open round, or its flag was already answered.
    error NotFlagged(uint256 projectId, uint256 round, uint256 slot);
    /// @notice The round's flags could be answered until `deadline` only.
    error AnswerWindowClosed(uint256 projectId, uint256 round, uint256 deadline);
    /// @notice Flags of the round may be answered until `deadline`: chunk proofs are taken from then on.
    error AnswerWindowOpen(uint256 projectId, uint256 round, uint256 deadline);
    /// @notice The round's reference is committed and may still be published until `publicationEnd`
    ///         (a quarter into the aggregation window, `publishReference`): chunk proofs, and an
    ///         optimistic round's chunk results, are taken from then on, once it is settled whether
    ///         the reference counts in the decision proof.
    error ReferencePublicationOpen(uint256 projectId, uint256 round, uint256 publicationEnd);
    /// @notice The published ciphertext has `actual` elements; the project needs `expected`
    ///         (`numChunks * verifier.cipherWidth()`).
    error WrongCipherLength(uint256 expected, uint256 actual);
    /// @notice Published element `index` is not below the BN254 scalar field (indices 0 and 1 are
    ///         the ephemeral key's coordinates, `2 + i` is `cipher[i]`), or, in a reference's answer,
    ///         not below `2^253` (index 0 is the salt, `1 + i` is `packed[i]`).
    error NonCanonicalElement(uint256 index);
    /// @notice The published owner wrap is longer than 1,024 bytes (it is `length` bytes).
    error OwnerWrapTooLong(uint256 length);
    /// @notice The published sealed update does not hash to the commitment revealed in the slot.
    error PublishedUpdateMismatch(uint256 projectId, uint256 round, uint256 slot);
    /// @notice Only the slot's trainer publishes a sealed update in parts.
    error NotSlotTrainer(uint256 projectId, uint256 round, uint256 slot);
    /// @notice The owner already committed a reference for this round (once per round).
    error ReferenceAlreadyCommitted(uint256 projectId, uint256 round);
    /// @notice Nothing to publish: the owner committed no reference for this round.
    error ReferenceNotCommitted(uint256 projectId, uint256 round);
    /// @notice Committing a reference takes a deposit of the round's reward (`deposit`) from the
    ///         project's budget, which holds less (`budget`): fund the project first (`fundProject`).
    error ReferenceDepositUnavailable(uint256 projectId, uint256 round, uint256 budget, uint256 deposit);
    /// @notice The round's reference is already published (once per round).
    error ReferenceAlreadyPublished(uint256 projectId, uint256 round);
    /// @notice A reference is published from the end of the reveal window (`start`) to a quarter
    ///         into the aggregation window (`end`).
    error OutsideReferenceWindow(uint256 projectId, uint256 round, uint256 start, uint256 end);
    /// @notice Nothing to flag: the round's reference is not published.
    error ReferenceNotPublished(uint256 projectId, uint256 round);
    /// @notice The round's reference is already flagged (once per round).
    error ReferenceAlreadyFlagged(uint256 projectId, uint256 round);
    /// @notice Nothing to answer: the round's reference is not flagged, or is already answered.
    error ReferenceNotFlagged(uint256 projectId, uint256 round);
    /// @notice The answered values and salt do not open the round's reference commitment.
    error PublishedReferenceMismatch(uint256 projectId, uint256 round);
    /// @notice A part of `length` elements is not a non-empty whole number of chunks of
    ///         `cipherWidth` elements, or goes past the `chunksLeft` chunks not published yet.
    error WrongPartLength(uint256 length, uint256 cipherWidth, uint256 chunksLeft);

    // ---------------------------------------------------------------------------------------------
    // Events
    // ---------------------------------------------------------------------------------------------

    /// @notice The owner committed to round `round`'s reference direction (core `referenceCommitment`);
    ///         `deposit` (the round's reward) moved from the budget into the reference deposit.
    event ReferenceCommitted(uint256 indexed projectId, uint256 indexed round, uint256 commitment, uint256 deposit);
    /// @notice Round `round` closed holding a reference deposit: `returned` to the budget (the
    ///         reference counted, or the round had no quorum) or burned (credited to `address(0)`).
    event ReferenceDepositSettled(uint256 indexed projectId, uint256 indexed round, uint256 deposit, bool returned);
    /// @notice The owner published round `round`'s reference: the `fedmarket-reference/1` blob at
    ///         `cid` (its values and salt) is meant to open the committed `commitment`.
    event ReferencePublished(uint256 indexed projectId, uint256 indexed round, uint256 commitment, string cid);
    /// @notice The aggregator flagged the round's published reference as unavailable or not opening;
    ///         it may be answered until `answerDeadline` (chain time, as it stood after this flag).
    event ReferenceFlagged(uint256 indexed projectId, uint256 indexed round, uint64 answerDeadline);
    /// @notice The owner published chunks `[firstChunk, firstChunk + packed.length / cipherWidth)` of a
    ///         flagged reference's packed values.
    event ReferencePartAnswered(uint256 indexed projectId, uint256 indexed round, uint256 firstChunk, uint256[] packed);
    /// @notice A flagged reference was answered: its salt and the packed chunks from `firstChunk` on
    ///         (those before are in the round's `ReferencePartAnswered` events) open its commitment.
    event ReferenceAnswered(uint256 indexed projectId, uint256 indexed round, uint256 firstChunk, uint256 salt, uint256[] packed);

    /// @notice A project was created and its budget escrowed (`budget` is the amount received).
    event ProjectCreated(
        uint256 indexed projectId, address indexed owner, ProjectConfig config, uint256 budget, bytes32 paramsHash, uint32 numChunks
    );
    /// @notice The project's budget was topped up by `amount` (the amount received).
    event ProjectFunded(uint256 indexed projectId, address indexed funder, uint256 amount);
    /// @notice The owner appointed an aggregator on these terms (after a failed round, possibly the
    ///         same one again).
    event AggregatorAppointed(uint256 indexed projectId, address indexed aggregator, uint256 bond, uint256 slashAmount);
    /// @notice The aggregator accepted its appointment: it posted its bond (`amount` now, `bondPosted`
    ///         in total; the two are equal, as a failed aggregator's bond is returned with the failure)
    ///         and registered its seal key `[x, y]`, the BabyJubJub public key trainers encrypt to.
    event AggregatorAccepted(
        uint256 indexed projectId, address indexed aggregator, uint256 amount, uint256 bondPosted, uint256[2] sealKey
    );
    /// @notice A trainer registered, depositing `stake`.
    event TrainerRegistered(uint256 indexed projectId, address indexed trainer, uint256 stake);
    /// @notice A round opened with `reward` reserved, on the model with this commitment; trainers
    ///         train with `hyperParams` (the initial ones, or those set by the last finalized round).
    ///         Its slots are drawn among the first `candidates` registered trainers with the hash of
    ///         this block (`SeedDrawn`).
    event RoundOpened(
        uint256 indexed projectId,
        uint256 indexed round,
        uint32 candidates,
        uint64 submissionDeadline,
        uint64 revealDeadline,
        uint64 aggregationDeadline,
        uint256 reward,
        uint256 modelCommitment,
        string modelCid,
        HyperParams hyperParams
    );
    /// @notice The round's seed was fixed from the hash of block `seedBlock`.
    event SeedDrawn(uint256 indexed projectId, uint256 indexed round, uint256 seed, uint64 seedBlock);
    /// @notice Nobody read the seed block's hash within 256 blocks: the seed now comes from block
    ///         `seedBlock` instead.
    event SeedReanchored(uint256 indexed projectId, uint256 indexed round, uint64 seedBlock);
    /// @notice A drawn trainer locked its sealed commitment into `slot` of the round.
    event UpdateCommitted(uint256 indexed projectId, uint256 indexed round, address indexed trainer, uint256 slot, bytes32 sealedCommit);
    /// @notice A trainer revealed the update it committed to in `slot`: its commitment (the value the
    ///         proofs open) and the CID of the encrypted update.
    event UpdateRevealed(
        uint256 indexed projectId, uint256 indexed round, address indexed trainer, uint256 slot, uint256 commitment, string cid
    );
    /// @notice The aggregator flagged `slot` (held by `trainer`) as not available: it is left out of
    ///         the round (as an empty slot) unless its sealed update is published before
    ///         `answerDeadline`, the round's deadline for every flag (`publishUpdate`).
    event UpdateFlagged(
        uint256 indexed projectId, uint256 indexed round, address indexed trainer, uint256 slot, uint64 answerDeadline
    );
    /// @notice Chunks `[firstChunk, firstChunk + cipher.length / cipherWidth)` of the sealed update of
    ///         flagged `slot` were published by its `trainer` (`publishUpdatePart`), ahead of the
    ///         `UpdatePublished` that completes them. Not checked against the commitment on their
    ///         own: only a completed publication counts.
    event UpdatePartPublished(
        uint256 indexed projectId, uint256 indexed round, address indexed trainer, uint256 slot, uint256 firstChunk, uint256[] cipher
    );
    /// @notice The sealed update of flagged `slot` (held by `trainer`, whoever sent it) was published
    ///         and opens the slot's commitment: ephemeral key `E = [x, y]`, the ciphertext of chunks
    ///         `firstChunk` to the last (`verifier.cipherWidth()` elements each, chunk after chunk;
    ///         the chunks before `firstChunk` are in this round's `UpdatePartPublished` events of the
    ///         slot) and the owner's wrap. These events are the update's data availability: nodes
    ///         and audits read it from here.
    event UpdatePublished(
        uint256 indexed projectId,
        uint256 indexed round,
        address indexed trainer,
        uint256 slot,
        uint256 firstChunk,
        uint256[2] ephemeral,
        uint256[] cipher,
        bytes ownerWrap
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
    /// @notice A round was finalized: the new model is recorded, `paid` of the reward accrued to the
    ///         round's trainers (the rest, a rounding remainder of the proportional split, went back
    ///         to the budget), and `nextHyperParams` were set: the next round's, also when this was
    ///         the last round and no round opens.
    event RoundFinalized(
        uint256 indexed projectId,
        uint256 indexed round,
        uint256 newModelCommitment,
        string newModelCid,
        uint256 totalScore,
        uint256 paid,
        HyperParams nextHyperParams
    );
    /// @notice A round closed without aggregation (fewer than `2f + 3` revealed updates, `submissions`);
    ///         its reward went back to the budget.
    event RoundSkipped(uint256 indexed projectId, uint256 indexed round, uint256 submissions);
    /// @notice The aggregator missed its window: `slashed` of its bond was split, `slashPerTrainer` to
    ///         each of the round's revealed submitters and the rest to the owner; the round's `reward` was
    ///         split equally among them; the rest of the bond (`bondReturned`) was credited
    ///         back to the aggregator, whose appointment is cleared.
    event RoundFailed(
        uint256 indexed projectId,
        uint256 indexed round,
        address indexed aggregator,
        uint256 slashed,
        uint256 slashPerTrainer,
        uint256 reward,
        uint256 bondReturned
    );
    /// @notice The owner cancelled the project in `round` (the open or next round). If that round
    ///         has a quorum it stays open (`roundStillOpen`) and the project closes when it ends;
    ///         otherwise its reserved reward, `rewardToSubmitters`, was split equally among the
    ///         trainers that committed in it (0 when none did: the reward went back to the budget).
    event ProjectCancelled(uint256 indexed projectId, uint256 round, bool roundStillOpen, uint256 rewardToSubmitters);
    /// @notice The project waited for an aggregator until `deadline` and was closed by someone.
    event ProjectExpired(uint256 indexed projectId, uint256 deadline);
    /// @notice The project ended (all rounds done, cancelled or expired): the unspent budget
    ///         (`budgetRefunded`) was refunded, `refundPool` of it reserved for third-party funders
    ///         (`claimRefund`) and the rest credited to the owner; the bond was released.
    event ProjectClosed(
        uint256 indexed projectId, ProjectStatus status, uint256 budgetRefunded, uint256 bondReleased, uint256 refundPool
    );
    /// @notice A third-party funder claimed its pro-rata share of an ended project's refund.
    event RefundClaimed(uint256 indexed projectId, address indexed funder, uint256 amount);
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
    ///         with `transferFrom`; fee-on-transfer tokens escrow what arrives). The aggregator must
    ///         not be the caller (`AggregatorIsOwner`): the owner already decrypts every update, and
    ///         as its own aggregator it would also choose every unproven exclusion. The check binds
    ///         addresses only; the money rules (see the contract header) are what keeps an owner that
    ///         aggregates under another address from taking back a round's reward.
    /// @return projectId The new project's id (ids start at 1).
    function createProject(ProjectConfig calldata config) external payable returns (uint256 projectId);

    /// @notice Adds to a project's budget. Anyone may fund a project. A third party's deposit is
    ///         recorded: when the project ends it claims its pro-rata share of the unspent budget
    ///         (`claimRefund`); the owner's deposits are refunded to the owner.
    /// @param amount For ERC-20 projects the amount to pull; for ETH projects it must equal `msg.value`.
    function fundProject(uint256 projectId, uint256 amount) external payable;

    /// @notice Appoints the aggregator (the same one or a new one) and its terms while the project
    ///         awaits one: at creation (before anyone accepted) and after a failed round, which clears
    ///         the appointment. The aggregator must not be the owner (`AggregatorIsOwner`) and
    ///         accepts these exact terms with `acceptAggregator`.
    function appointAggregator(uint256 projectId, address aggregator, uint256 bond, uint256 slashAmount) external;

    /// @notice Cancels the project. What happens to the open round depends on its commitments and
    ///         revealed updates:
    ///         - no commitment (or the project awaits an aggregator): the project closes now;
    ///         - fewer than `2f + 3` revealed: its reserved reward is split equally among the trainers
    ///           that committed
    ///           (`floor(reward / n)` each, the first `reward % n` slots one unit more) and the
    ///           project closes now: the owner, who can decrypt every update, cannot take back a
    ///           round it has seen work for;
    ///         - a quorum: the round stays open for its aggregator (finalize or fail as usual), no
    ///           new submissions are accepted, and the project closes when the round ends.
    ///         On closing, the unspent budget is refunded pro rata to the owner (credited) and to
    ///         third-party funders (`claimRefund`); everything accrued stays claimable.
    /// @dev What a junk-submitting Sybil can get: an equal share of one round's reward, and only if
    ///      the owner cancels while that round is open, below quorum. After the
    ///      reveal window closes below quorum, anyone (the owner too) can `skipRound` first, which returns
    ///      the reward to the budget: cancelling then gains the owner nothing over letting the round
    ///      run. Known limit: an owner whose own registered addresses submitted recovers their part
    ///      of the split (registration is the owner's choice: stake and allowlist).
    function cancelProject(uint256 projectId) external;

    // ---------------------------------------------------------------------------------------------
    // Aggregator
    // ---------------------------------------------------------------------------------------------

    /// @notice The appointed aggregator accepts the terms it was offered, posts its bond and
    ///         registers its seal key; the next round opens. The call commits to the terms: it
    ///         reverts with `AppointmentTermsChanged` unless the appointment still asks for exactly
    ///         `bond` and `slashAmount`, so an owner who re-appoints with a larger bond or a higher
    ///         slash while the acceptance is pending cannot bind the aggregator to them. Everything
    ///         else its risk depends on (token, round windows, verifier and circuit parameters,
    ///         number of rounds and slots) is fixed at creation and cannot change.
    /// @dev The contract checks that the seal key is a curve point other than the identity, not that
    ///      it lies in the subgroup of `Base8`: every decision proof shows `A = a * Base8` for the
    ///      aggregator's secret `a`, so a key outside it only leaves the aggregator unable to finalize
    ///      (its rounds fail and it is slashed).
    /// @param sealKey `[x, y]`: the BabyJubJub public key `A = a * Base8` the round proof decrypts
    ///        updates with (docs/PROOF-INTERFACE.md, Sealed updates). Trainers encrypt to it, and
    ///        every decision proof takes it as public inputs 4 and 5, so a proof is about the
    ///        registered key. Both coordinates below the BN254 scalar field, on the curve
    ///        `168700 x^2 + y^2 = 1 + 168696 x^2 y^2` and not the identity `(0, 1)`, else
    ///        `InvalidSealKey`.
    /// @param bond The bond the aggregator agreed to post (for ETH projects, exactly `msg.value`).
    /// @param slashAmount The amount it agreed to lose for each failed round.
    function acceptAggregator(uint256 projectId, uint256[2] calldata sealKey, uint256 bond, uint256 slashAmount)
        external
        payable;

    /// @notice Flags revealed updates of the open round that the aggregator could not fetch or open
    ///         (see the contract header). Only the aggregator (`NotAggregator`), in a round with a
    ///         quorum (`QuorumNotReached`: below it there is nothing to aggregate), in the first half
    ///         of the aggregation window (`OutsideAggregationWindow` before it, `FlaggingClosed` from
    ///         its middle on) and before any chunk proof of the round (`ChunkProofsStarted`). The
    ///         round's answer deadline becomes `max(answerDeadline, now + aggregationWindow / 4)`, so
    ///         it is at most three quarters into the window and every flag gets a quarter of it.
    /// @param slotMask Bit `k` flags slot `k`: non-zero, below `2^maxTrainersPerRound`
    ///        (`InvalidSlotMask`); every flagged slot holds an update revealed in this round
    ///        (`NotRevealed`) and is not flagged yet (`AlreadyFlagged`).
    function flagUnavailable(uint256 projectId, uint256 round, uint256 slotMask) external;

    /// @notice Commits the open round's reference direction `v` (see the contract header). Only the
    ///         owner (`NotProjectOwner`), for the open round of an active project (`WrongProjectStatus`,
    ///         `WrongRound`), before its commit window closes (`SubmissionWindowClosed`), once
    ///         (`ReferenceAlreadyCommitted`). Before the reveals, so that the owner, who can open
    ///         every update, chooses `v` without having seen any of this round's. Takes the round's
    ///         reward from the budget as the reference deposit (`ReferenceDepositUnavailable` if the
    ///         budget holds less; see the contract header for when it is returned or burned).
    /// @param commitment core `referenceCommitment(v, salt)`: `Poseidon(x, salt, 0)` over the
    ///        `hashNarrow` chain `x` of `v`'s packed chunks (a sealed update's shape, so
    ///        `verifier.sealedCommitmentFrom(0, [salt, 0], packed)` recomputes it); non-zero and below
    ///        the BN254 scalar field, else `InvalidCommitment`.
    function commitReference(uint256 projectId, uint256 round, uint256 commitment) external;

    /// @notice Publishes where the committed reference of the open round can be read. Only the owner
    ///         (`NotProjectOwner`), for the open round of an active project (`WrongProjectStatus`,
    ///         `WrongRound`) with a committed reference (`ReferenceNotCommitted`), from the end of
    ///         the reveal window to a quarter into the aggregation window (`OutsideReferenceWindow`):
    ///         after every update is locked and revealed, and leaving the aggregator a quarter of
    ///         the window to fetch it and flag it (`flagReference`) before flags close at its middle.
    ///         Once (`ReferenceAlreadyPublished`).
    /// @param cid The IPFS CID of the `fedmarket-reference/1` blob (1 to 128 bytes, else `InvalidCid`).
    function publishReference(uint256 projectId, uint256 round, string calldata cid) external;

    /// @notice The aggregator says it cannot fetch the published reference or that it does not open
    ///         the commitment. Only the aggregator (`NotAggregator`), for the open round of an active
    ///         project with a quorum (`QuorumNotReached`), in the first half of the aggregation window
    ///         (`OutsideAggregationWindow`, `FlaggingClosed`), before any chunk proof
    ///         (`ChunkProofsStarted`), once (`ReferenceAlreadyFlagged`), for a published reference
    ///         (`ReferenceNotPublished`). The round's answer deadline becomes at least
    ///         `now + aggregationWindow / 4`, as for `flagUnavailable`.
    function flagReference(uint256 projectId, uint256 round) external;

    /// @notice Publishes the next chunks of a flagged reference's packed values, for references too
    ///         large for one transaction: the market keeps the partial chain, and `answerReference`
    ///         completes it. Only the owner (`NotProjectOwner`: anyone else's part could make the
    ///         chain unopenable), while the flag can be answered (`ReferenceNotFlagged`,
    ///         `AnswerWindowClosed`).
    /// @param packed Whole chunks (`verifier.cipherWidth()` elements each) following those already
    ///        published, none past the last (`WrongPartLength`); every element below `2^253`
    ///        (`NonCanonicalElement`): the chunk proof reads the reference from a 253-bit
    ///        decomposition of each element, so a larger one could not be proven.
    function answerReferencePart(uint256 projectId, uint256 round, uint256[] calldata packed) external;

    /// @notice Answers a reference flag with the reference itself: anyone may call, before the
    ///         round's answer deadline (`AnswerWindowClosed`), for a flagged reference not answered
    ///         yet (`ReferenceNotFlagged`). The values must open the commitment
    ///         (`verifier.sealedCommitmentFrom(acc, [salt, 0], packed)`, `acc` the chain over the
    ///         chunks answered in parts, else `PublishedReferenceMismatch`); the round then keeps its
    ///         reference, now public in `ReferenceAnswered`.
    /// @param salt The commitment's salt (below the BN254 scalar field, else `NonCanonicalElement(0)`).
    /// @param packed The packed chunks not answered in parts: `(numChunks - answered) *
    ///        verifier.cipherWidth()` elements (`WrongCipherLength`), each below `2^253`.
    function answerReference(uint256 projectId, uint256 round, uint256 salt, uint256[] calldata packed) external;

    /// @notice Publishes the next chunks of a flagged slot's sealed update, for updates too large
    ///         for one transaction (at the production width a chunk costs ~0.7 M gas): the market
    ///         keeps the slot's partial cipher chain, and `publishUpdate` completes it with the
    ///         remaining chunks, the ephemeral key and the owner's wrap. Only the slot's trainer
    ///         (`NotSlotTrainer`: anyone else's part could make the chain unopenable), under the
    ///         same conditions as `publishUpdate` (`NotFlagged`, `AnswerWindowClosed`).
    /// @param cipher Whole chunks (`verifier.cipherWidth()` elements each) following those already
    ///        published, none past the last (`WrongPartLength`); every element below the BN254
    ///        scalar field (`NonCanonicalElement`, numbered as in `publishUpdate`).
    function publishUpdatePart(uint256 projectId, uint256 round, uint256 slot, uint256[] calldata cipher) external;

    /// @notice Answers a flag by publishing the slot's sealed update: anyone may call (normally the
    ///         slot's trainer; what matters is the data, not the sender), before the round's answer
    ///         deadline. The update must open the slot's revealed commitment
    ///         (`verifier.sealedCommitmentFrom(acc, ephemeral, cipher)`, `acc` the chain over the
    ///         chunks published in parts, else `PublishedUpdateMismatch`); the slot then stays in the
    ///         round like any other and the aggregator must score it.
    /// @param round The open round (`WrongRound`); `slot` must be flagged in it and not answered
    ///        yet (`NotFlagged`).
    /// @param ephemeral The ephemeral public key `E = [x, y]` of the sealed update.
    /// @param cipher The ciphertext of the chunks not published in parts (all of them when there
    ///        are none): `(numChunks - published) * verifier.cipherWidth()` elements
    ///        (`WrongCipherLength`), chunk after chunk; every element and both coordinates of
    ///        `ephemeral` below the BN254 scalar field (`NonCanonicalElement`).
    /// @param ownerWrap The update's key wrapped for the project owner, as pinned with the update
    ///        (at most 1,024 bytes: `OwnerWrapTooLong`); not checked, only published.
    function publishUpdate(
        uint256 projectId,
        uint256 round,
        uint256 slot,
        uint256[2] calldata ephemeral,
        uint256[] calldata cipher,
        bytes calldata ownerWrap
    ) external;

    /// @notice Verifies chunk proofs of the open round, in order. `firstChunk` must equal the number
    ///         already verified, or 0 to restart the round's accumulator. Not before the round's
    ///         answer deadline (`AnswerWindowOpen`) when slots or the reference were flagged, nor,
    ///         while the round's reference is committed and not published, before its publication
    ///         window ends a quarter into the aggregation window (`ReferencePublicationOpen`).
    function submitChunkProofs(uint256 projectId, uint256 round, uint256 firstChunk, ChunkProof[] calldata proofs)
        external;

    /// @notice Verifies the remaining chunk proofs (may be empty; not before the round's answer
    ///         deadline, `AnswerWindowOpen`, nor the end of a committed and unpublished reference's
    ///         publication window, `ReferencePublicationOpen`) and the decision proof, records the
    ///         new model, accrues every trainer's share of the round reward and opens the next round
    ///         with `result.nextHyperParams` (reverts with `HyperParamOutOfBounds` outside the
    ///         project's bounds; emitted in `RoundFinalized`, also for the last round). Skipped and
    ///         failed rounds keep the current hyper-parameters.
    ///
    ///         Shares: each inlier gets `mulDiv(reward, score, totalScore)`; the rounding remainder
    ///         (less than one unit per inlier) goes back to the budget, for the next rounds or the
    ///         refund. With a zero total score the reward is split equally among the inliers (the
    ///         slots the proven rule counted: a single kept cluster has no other cluster to align
    ///         with and scores 0); without inliers (too few valid updates, or no consensus) among
    ///         the slots the proof calls valid (not aggregated), or among all submitters if every
    ///         slot was excluded; the first `reward % n` of them get one unit more, so all of it is
    ///         paid. It never returns to the owner.
    /// @dev What a junk-submitting Sybil can get: nothing while some update is counted (junk is
    ///      excluded or not aggregated, and a slot left out is never paid while another is
    ///      counted). In a round that counted nobody, junk that does not open its commitment
    ///      (excluded) gets nothing while any other update is valid; valid noise shares equally with
    ///      the other valid updates, the price of paying trainers whose round had too few valid
    ///      updates to judge. Only an aggregator that excludes every slot makes junk share with
    ///      everyone; each exclusion needs a proven reason.
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

    /// @notice Registers the caller as a trainer, depositing the project's trainer stake (the same
    ///         for everyone, so slots follow stake). A trainer is a candidate for the slots of every
    ///         round that opens after it registered.
    /// @param allowlistProof Merkle proof of the caller's address (empty for open projects).
    function registerTrainer(uint256 projectId, bytes32[] calldata allowlistProof) external payable;

    /// @notice Fixes the open round's seed from the hash of its seed block (anyone; idempotent). If
    ///         that hash is no longer available (256 blocks passed unread) the seed block moves to
    ///         the current block, whose hash a later call reads. Nodes call it right after a round
    ///         opens so that the seed is fixed before anyone can choose when to read it.
    /// @return seed The seed, 0 while pending.
    function drawSeed(uint256 projectId) external returns (uint256 seed);

    /// @notice Locks the caller's sealed commitment into its slot of the open round, in the commit
    ///         window. The caller must have been drawn for a slot (`slotOf`).
    /// @param round The round the update was trained for (must be the open round).
    /// @param sealedCommit `keccak256(abi.encode(block.chainid, address(market), projectId, round,
    ///        msg.sender, commitment, keccak256(bytes(cid))))`: binds the update to its sender, and
    ///        hides the commitment and the CID until the reveal.
    function commitUpdate(uint256 projectId, uint256 round, bytes32 sealedCommit) external;

    /// @notice Reveals the update the caller sealed, in the reveal window.
    /// @param commitment `Poseidon(ciphertext chain, E.x, E.y)` of the update sealed for the
    ///        aggregator's seal key (docs/PROOF-INTERFACE.md, Sealed updates): a non-zero field
    ///        element never revealed before in this market, in any project or round
    ///        (`DuplicateCommitment`). A sealed update is not bound to its sender, so this is what
    ///        keeps a copy of an earlier revealed update (its commitment and CID, public since its
    ///        reveal, sealed again under the copier's address) out of a later round or another project.
    /// @param cid IPFS CID of the encrypted update (1 to 128 bytes).
    function revealUpdate(uint256 projectId, uint256 round, uint256 commitment, string calldata cid) external;

    /// @notice Credits a registered trainer's stake back once the project has ended.
    function releaseStake(uint256 projectId) external;

    // ---------------------------------------------------------------------------------------------
    // Anyone
    // ---------------------------------------------------------------------------------------------

    /// @notice Closes the open round without aggregation after its reveal window when it has
    ///         fewer than `2f + 3` revealed updates. Its reward goes back to the budget, where it stays
    ///         escrowed for the next rounds (or is refunded if this was the last one); nobody is
    ///         slashed. This is the one rule that returns a round's reward after submissions: paying
    ///         the few submitters instead would let a single junk-submitting Sybil take a whole
    ///         round's reward whenever nobody else submits.
    function skipRound(uint256 projectId) external;

    /// @notice Fails the open round after its aggregation window passed without finalization:
    ///         slashes `min(slashAmount, bond)` from the aggregator (`floor(slashed / 2 / n)` to
    ///         each of the round's `n` revealed submitters, the rest to the owner), splits the round's reward
    ///         equally among them (the first `reward % n` get one unit more), returns the
    ///         rest of the bond to the aggregator and clears the appointment: the owner must appoint
    ///         an aggregator again (the same or another) before anyone can accept.
    /// @dev What a junk-submitting Sybil can get: with `m` of the `n` slots, `m / n` of the reward
    ///      plus `m` slash shares, only when the aggregator fails; junk cannot force a failure, as
    ///      the aggregator can always finalize with the junk excluded. An aggregator colluding with
    ///      such Sybils loses `slashed` to gain at most `m / n * (reward + slashed / 2)`: with
    ///      `slashAmount >= 2 * rewardPerRound` failing on purpose never pays.
    function failRound(uint256 projectId) external;

    /// @notice Closes a project that has waited for an aggregator for `ACCEPTANCE_TIMEOUT` since it
    ///         was created or its last round failed (re-appointments do not restart the clock). The
    ///         budget is refunded as on cancellation and stakes become releasable. Until someone
    ///         calls this, an appointed aggregator can still accept.
    function expireProject(uint256 projectId) external;

    /// @notice Credits a third-party funder its share of an ended project's refund:
    ///         `refundPool * deposit / unclaimedDeposits`, so the shares are pro rata to the deposits
    ///         and the last claimant takes the exact remainder (nothing is left behind).
    function claimRefund(uint256 projectId) external;

    /// @notice Withdraws everything credited to the caller in `token` (`address(0)` for ETH).
    function withdraw(address token) external;

    // ---------------------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------------------

    /// @notice How long a project may wait for its aggregator before anyone can close it (seconds).
    function ACCEPTANCE_TIMEOUT() external view returns (uint64);

    /// @notice Number of projects created so far (ids run from 1 to this number).
    function projectCount() external view returns (uint256);

    /// @notice A project's configuration and state.
    function getProject(uint256 projectId) external view returns (ProjectView memory);

    /// @notice The open (or last) round of a project.
    function getCurrentRound(uint256 projectId) external view returns (RoundView memory);

    /// @notice The trainer and revealed commitment in `slot` of `round`. Slot storage is reused from round to
    ///         round, so this returns zeros for a slot that is empty or unrevealed in `round` or was overwritten by
    ///         a later round (the `UpdateRevealed` events keep the full history).
    function getSubmission(uint256 projectId, uint256 round, uint256 slot)
        external
        view
        returns (address trainer, uint256 commitment);

    /// @notice Whether `trainer` is registered and the last round it committed in plus one (0 = never).
    function getTrainer(uint256 projectId, address trainer)
        external
        view
        returns (bool registered, uint32 lastSubmittedRoundPlusOne, uint256 stake);

    /// @notice What `trainer` must seal in `commitUpdate` (see there).
    function sealedCommitment(uint256 projectId, uint256 round, address trainer, uint256 commitment, string calldata cid)
        external
        view
        returns (bytes32);

    /// @notice The slot `trainer` was drawn for in the open round: `selected` false if it was not
    ///         drawn, registered after the round opened, or the seed is still pending (`seedReady`).
    function slotOf(uint256 projectId, address trainer) external view returns (bool seedReady, bool selected, uint256 slot);

    /// @notice What a third-party `funder` deposited into the project's budget and has not been
    ///         refunded for yet, and what `claimRefund` would credit it now (0 until the project ends).
    function getFunder(uint256 projectId, address funder) external view returns (uint256 deposit, uint256 refundable);

    /// @notice What `account` can withdraw in `token`.
    function creditOf(address token, address account) external view returns (uint256);

    /// @notice Everything the contract owes in `token`: budgets, reserved round rewards, bonds,
    ///         stakes, unclaimed funder refunds and credits. The contract's balance of `token` is
    ///         never below it.
    function totalLiabilities(address token) external view returns (uint256);

    /// @notice The round context `ctx` bound into the decision proof of `round` (docs/PROOF-INTERFACE.md):
    ///         `((digest >> 48) << 40) | (modelSize << 8) | f`, `digest = keccak256(abi.encode(chainId,
    ///         market, projectId, round, paramsHash))`.
    function roundContext(uint256 projectId, uint256 round) external view returns (uint256);

    /// @notice The "not available" flags of the open round: `flaggedMask` has bit `k` set for every
    ///         slot flagged in it, `pendingMask` for those not answered (yet), and `answerDeadline`
    ///         is when answers close (also when only the reference is flagged, `flagReference`: chunk
    ///         proofs wait for it either way). All zero when nothing was flagged, or no round is open.
    function unavailableFlags(uint256 projectId)
        external
        view
        returns (uint256 pendingMask, uint256 flaggedMask, uint64 answerDeadline);

    /// @notice The public inputs the decision proof of the open round must verify against, given
    ///         the aggregator's result (useful to check a proof off chain before sending it):
    ///         `[ctx, prevModel, newModel, accFinal, sealKey.x, sealKey.y, reference, c[0..K_MAX),
    ///         outcome[0..W)]` (docs/PROOF-INTERFACE.md). `reference` is the owner's reference
    ///         commitment of the round when it counts (committed, published, and not flagged or
    ///         flagged and answered, `answerReference`), else 0: the proof then applies the rule
    ///         without a reference. `c[k]` is 0 for a slot that is empty, unrevealed, or flagged and
    ///         not answered (`flagUnavailable`): the proof treats it as empty.
    function decisionPublicInputs(uint256 projectId, uint256 newModelCommitment, uint256[] calldata outcomes)
        external
        view
        returns (uint256[] memory);
}
