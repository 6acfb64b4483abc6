// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {FedMarket} from "../../FedMarket.sol";
import {IFedMarket} from "../../interfaces/IFedMarket.sol";
import {MockRoundVerifier} from "../mocks/MockRoundVerifier.sol";
import {FeeOnTransferToken, TestToken} from "../mocks/TestTokens.sol";
import {SealKeys} from "../utils/SealKeys.sol";
import {ZeroTotalSplit} from "../utils/ZeroTotalSplit.sol";
import {Vm, VM_ADDRESS} from "../utils/Vm.sol";

/// @title MarketHandler
/// @notice Drives random but mostly valid call sequences against one FedMarket for the invariant
///         tests in `FedMarketInvariants.t.sol`, over three reward tokens: ETH, a plain ERC-20
///         (TestToken) and a 1% fee-on-transfer token.
/// @dev Every action picks its project and actors from its fuzzed arguments, brings the market
///      into a state where the call is valid (funding actors, warping time), makes the call as the
///      right account (`vm.prank`) and checks the exact effect on credits, budgets and bonds. Market
///      calls are low-level calls: a call the handler expected to succeed but that reverted, an
///      expected revert with the wrong error, or any wrong effect is recorded as a violation, and
///      the invariant function fails on the first one. Handler actions themselves never revert, so
///      the test runs with `failOnRevert` (a revert would be a bookkeeping bug, e.g. an underflow
///      caused by a wrong credit).
///
///      Roles are disjoint (owners, aggregators, trainers), so each credit change observed during an
///      action can be attributed: trainers get reward shares and slash shares, owners get budget
///      refunds and slash remainders, aggregators get bond refunds; any account may fund a project
///      and claim its refund. Ghost accounting per project:
///        deposited == budget + roundReward + rewardsPaid + budgetRefunded + refundPool + refundsClaimed
///        bondIn    == bondPosted + bondOut
///      where rewardsPaid is every round reward credited to trainers (finalized, failed or cancelled
///      rounds), budgetRefunded the owner's refunds and refundsClaimed the third-party funders'.
///      and per (token, account): credited - withdrawn == creditOf, withdrawn <= credited.
///      The open round's hyper-parameters equal the ghost's (set at creation, changed only by a
///      finalization) and stay within the project's bounds.
///
///      Rounds run the commit-reveal protocol: the handler keeps its own block number
///      (`currentBlock`), fixes each round's seed (`drawSeed`, re-anchored when more than 256 blocks
///      passed), checks every trainer's `slotOf` against an independent statement of the draw
///      (`_drawnSlot`), commits sealed commitments it computes itself (`_seal`) and reveals them in
///      the reveal window. Along the way it plays the attacks the protocol must defeat: a
///      registered trainer that was not drawn or registered after the round opened (`NotSelected`),
///      a copier that commits another slot's sealed commitment (its reveal fails with
///      `RevealMismatch`, it is never paid), a trainer that reuses another slot's commitment (the
///      second reveal fails with `DuplicateCommitment`), and a copier that seals, under its own
///      address, a commitment revealed in an earlier round of any project (its reveal fails with
///      `DuplicateCommitment`: commitments are unique across the market). The ghost slots record,
///      per slot, the last round committed and revealed in; the money checks pay revealed slots
///      (finalize, fail) or committed slots (cancel below quorum) in slot order.
contract MarketHandler {
    Vm internal constant vm = Vm(VM_ADDRESS);

    uint256 internal constant FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 public constant K_MAX = 6;
    uint256 public constant CHUNK = 100;
    uint256 public constant WORDS = 2; // ceil(K_MAX / 3)
    uint256 public constant MAX_PROJECTS = 5;
    uint256 internal constant N_TOKENS = 3; // 0: ETH, 1: TestToken, 2: FeeOnTransferToken
    uint256 internal constant N_OWNERS = 2;
    uint256 internal constant N_AGGREGATORS = 3;
    uint256 internal constant N_TRAINERS = 6;
    uint256 internal constant N_ACCOUNTS = N_OWNERS + N_AGGREGATORS + N_TRAINERS;
    uint256 internal constant FIRST_AGGREGATOR = N_OWNERS;
    uint256 internal constant FIRST_TRAINER = N_OWNERS + N_AGGREGATORS;
    uint256 internal constant MAX_AMOUNT = 1e24;

    error InvariantViolated(string what, uint256 pidOrIndex, uint256 expected, uint256 actual);

    struct Ghost {
        uint8 tokenIdx;
        address failedAggregator; // the aggregator of the last failed round
        bool referencePublished; // the last committed reference was published (it counts: never flagged here)
        uint256 deposited; // budget tokens that arrived (market balance delta) via createProject / fundProject
        uint256 rewardsPaid; // reward shares credited to trainers by finalizeRound
        uint256 budgetRefunded; // budget credited back to the owner (cancel / close)
        uint256 funderDeposits; // third-party deposits not yet refunded (fundProject by anyone but the owner)
        uint256 refundsClaimed; // credited to third-party funders by claimRefund
        uint256 bondIn; // bond tokens that arrived via acceptAggregator
        uint256 bondOut; // bond slashed, refunded (appointAggregator) or released (close)
        uint256 model; // model commitment the next decision proof must start from
        IFedMarket.HyperParams hyper; // hyper-parameters of the open round (changed only by finalizeRound)
        uint256[2] sealKey; // the accepted aggregator's seal key; [0, 0] while none (cleared by a failed round)
        uint256 referenceRoundPlusOne; // the round the owner last committed a reference in, plus one
        uint256 referenceCommitment; // that reference's commitment
        uint256 burned; // reference deposits burned (credited to address(0))
    }

    /// @dev A slot as the handler last used it (slot entries are reused from round to round).
    struct GhostSlot {
        uint256 commitment; // committed to (and revealed, if `revealedPlusOne` says so)
        address trainer;
        bytes32 sealedCommit;
        uint256 roundPlusOne; // last round committed in, plus one
        uint256 revealedPlusOne; // last round revealed in, plus one
        uint256 copiedPlusOne; // last round its sealed commitment was a copy of another slot's, plus one
        uint256 staleCopyPlusOne; // last round it committed to a commitment revealed before (a stale copy), plus one
    }

    /// @dev Locals of one finalization (avoids stack-too-deep).
    struct Fin {
        uint256 pid;
        uint256 round;
        uint256 subs;
        uint256 numChunks;
        uint256 split;
        uint256 newModel;
        uint256 reward;
        uint256 totalScore;
        uint256 paid;
        bool closing;
        IFedMarket.HyperParams next; // next round's hyper-parameters, within the project's bounds
        uint256[] accs;
        uint256[] words;
        uint256[] expected; // expected credit delta per account
        IFedMarket.ChunkProof[] head;
        IFedMarket.ChunkProof[] tail;
    }

    FedMarket public immutable market;
    MockRoundVerifier public immutable verifier;
    TestToken public immutable tst;
    FeeOnTransferToken public immutable fot;

    address[N_TOKENS] internal _tokens;
    address[N_ACCOUNTS] internal _accounts;

    string internal constant UPDATE_CID = "bafkreiupdate";

    uint256 public currentTime;
    uint256 public currentBlock;
    uint256[] public projectIds;
    mapping(uint256 projectId => Ghost) internal _ghost;
    mapping(uint256 projectId => mapping(address trainer => uint256)) public ghostStake;
    mapping(uint256 projectId => mapping(uint256 slot => GhostSlot)) internal _slot;
    /// Registration index of each trainer (its candidate index in every round opened after it).
    mapping(uint256 projectId => mapping(address trainer => uint256)) public ghostIndex;
    mapping(uint256 projectId => mapping(address funder => uint256)) public ghostFunderDeposit;
    mapping(address token => mapping(address account => uint256)) public ghostCredited;
    mapping(address token => mapping(address account => uint256)) public ghostWithdrawn;

    uint256 public violations;
    string public firstViolation;
    /// Successful actions by kind (for coverage statistics).
    mapping(string kind => uint256) public actionCount;

    constructor() {
        market = new FedMarket();
        verifier = new MockRoundVerifier(K_MAX, CHUNK);
        tst = new TestToken();
        fot = new FeeOnTransferToken();
        _tokens = [address(0), address(tst), address(fot)];
        for (uint256 i; i < N_ACCOUNTS; ++i) {
            _accounts[i] = address(uint160(uint256(keccak256(abi.encode("fedmarket-actor", i)))));
        }
        _bootstrap();
    }

    receive() external payable {}

    // ---------------------------------------------------------------------------------------------
    // Setup: three projects (one per token), active with trainers registered, so that short call
    // sequences already reach finalization, failure, cancellation and payouts.
    // ---------------------------------------------------------------------------------------------

    function _bootstrap() internal {
        currentTime = block.timestamp;
        currentBlock = block.number;
        vm.deal(address(this), type(uint128).max);
        for (uint256 i; i < N_ACCOUNTS; ++i) {
            vm.startPrank(_accounts[i]);
            tst.approve(address(market), type(uint256).max);
            fot.approve(address(market), type(uint256).max);
            vm.stopPrank();
        }
        // Trainers register before the aggregator accepts: round 0's candidates are the trainers
        // registered when it opens.
        // ETH: f = 1 (quorum 3 revealed; 2f + 3 = 5 slots at least), 6 slots, 6 candidates, 3 rounds, budget for 3 full rounds plus change.
        uint256 pid = _create(_config(0, 1, 6, 3, 10 ether + 7, 3 ether, 1 ether, 0.4 ether, 0.01 ether), 0, false);
        for (uint256 i; i < 6; ++i) _register(pid, _accounts[FIRST_TRAINER + i]);
        _accept(pid);
        // TestToken: f = 0 (quorum 3), 4 slots for 5 candidates (one is not drawn each round), 4
        // rounds; the budget runs out in the last round; the whole bond can be slashed.
        pid = _create(_config(1, 0, 4, 4, 1000e18, 350e18, 100e18, 100e18, 0), 1, false);
        for (uint256 i; i < 5; ++i) _register(pid, _accounts[FIRST_TRAINER + i]);
        _accept(pid);
        // Fee-on-transfer: amounts below 100 lose nothing to the 1% fee, so the bond and stake stay
        // small (acceptAggregator and registerTrainer require the full amount to arrive).
        pid = _create(_config(2, 0, 5, 2, 1_000_003, 333_333, 50, 7, 10), 0, false);
        for (uint256 i; i < 4; ++i) _register(pid, _accounts[FIRST_TRAINER + 1 + i]);
        _accept(pid);
    }

    function _config(
        uint8 tokenIdx,
        uint8 f,
        uint32 slots,
        uint32 rounds,
        uint256 budget,
        uint256 reward,
        uint256 bond,
        uint256 slash,
        uint256 stake
    ) internal view returns (IFedMarket.ProjectConfig memory c) {
        c.token = _tokens[tokenIdx];
        c.aggregator = _accounts[FIRST_AGGREGATOR + tokenIdx];
        c.verifier = verifier;
        c.budget = budget;
        c.rewardPerRound = reward;
        c.rewardDecayPpm = 1e6;
        c.numRounds = rounds;
        c.maxTrainersPerRound = slots;
        c.submissionWindow = 1 hours;
        c.revealWindow = 20 minutes;
        c.aggregationWindow = 30 minutes;
        c.aggregatorBond = bond;
        c.slashAmount = slash;
        c.trainerStake = stake;
        c.ownerEncryptionKey = keccak256(abi.encode("owner-key", tokenIdx));
        c.initialModelCommitment = uint256(keccak256(abi.encode("model-0", tokenIdx))) % FIELD;
        c.params = IFedMarket.CircuitParams({
            modelSize: uint32(250 + 50 * uint32(tokenIdx)), byzantineTolerance: f, quantizationScale: 1 << 16, clipBound: 127
        });
        c.specCid = "bafkreispecspecspecspecspecspecspecspecspecspecspecspec";
        c.initialModelCid = "bafkreimodel0model0model0model0model0model0model0model";
        _setHyperParams(c, uint256(keccak256(abi.encode("hyper", tokenIdx))));
    }

    /// @dev Random valid bounds (some fields fixed: min == max) and initial values inside them.
    function _setHyperParams(IFedMarket.ProjectConfig memory c, uint256 seed) internal pure {
        uint32 lrMin = uint32(_bound(seed, 1, 100_000));
        uint32 lrMax = seed % 5 == 0 ? lrMin : uint32(_bound(seed >> 32, lrMin, 1_000_000));
        uint16 epMin = uint16(_bound(seed >> 64, 1, 5));
        uint16 epMax = uint16(_bound(seed >> 80, epMin, 10));
        uint16 bsMin = uint16(_bound(seed >> 96, 1, 64));
        uint16 bsMax = (seed >> 112) % 3 == 0 ? bsMin : uint16(_bound(seed >> 128, bsMin, 512));
        c.minHyperParams = IFedMarket.HyperParams({learningRateMicros: lrMin, localEpochs: epMin, batchSize: bsMin});
        c.maxHyperParams = IFedMarket.HyperParams({learningRateMicros: lrMax, localEpochs: epMax, batchSize: bsMax});
        c.initialHyperParams = _hyperWithin(c.minHyperParams, c.maxHyperParams, seed >> 144);
    }

    function _hyperWithin(IFedMarket.HyperParams memory min, IFedMarket.HyperParams memory max, uint256 seed)
        internal
        pure
        returns (IFedMarket.HyperParams memory h)
    {
        h.learningRateMicros = uint32(_bound(seed, min.learningRateMicros, max.learningRateMicros));
        h.localEpochs = uint16(_bound(seed >> 40, min.localEpochs, max.localEpochs));
        h.batchSize = uint16(_bound(seed >> 60, min.batchSize, max.batchSize));
    }

    function _sameHyper(IFedMarket.HyperParams memory a, IFedMarket.HyperParams memory b) internal pure returns (bool) {
        return a.learningRateMicros == b.learningRateMicros && a.localEpochs == b.localEpochs && a.batchSize == b.batchSize;
    }

    // ---------------------------------------------------------------------------------------------
    // Actions (the fuzzer calls these)
    // ---------------------------------------------------------------------------------------------

    modifier step() {
        vm.warp(currentTime);
        vm.roll(currentBlock);
        _;
    }

    function createProject(uint256 seed, uint256 budget, uint256 reward, uint256 bond, bool accept) external step {
        if (projectIds.length >= MAX_PROJECTS) return;
        uint8 tokenIdx = uint8(seed % N_TOKENS);
        bool feeToken = tokenIdx == 2;
        IFedMarket.ProjectConfig memory c;
        c.token = _tokens[tokenIdx];
        c.aggregator = _accounts[FIRST_AGGREGATOR + (seed >> 8) % N_AGGREGATORS];
        c.verifier = verifier;
        c.budget = _bound(budget, 0, MAX_AMOUNT);
        // Sometimes a round reward above the budget (the last rounds then get what is left).
        c.rewardPerRound = _bound(reward, 0, MAX_AMOUNT / 2);
        // Half the projects pay equal rounds; the others decay by any allowed ratio, down to one millionth.
        uint256 decaySeed = uint256(keccak256(abi.encode("decay", seed)));
        c.rewardDecayPpm = decaySeed % 2 == 0 ? 1e6 : uint32(_bound(decaySeed >> 1, 1, 1e6));
        c.numRounds = uint32(_bound(seed >> 16, 1, 4));
        uint8 f = uint8((seed >> 24) % 2);
        c.params = IFedMarket.CircuitParams({
            modelSize: uint32(_bound(seed >> 32, 1, 4 * CHUNK)), byzantineTolerance: f, quantizationScale: 1 << 16, clipBound: 127
        });
        c.maxTrainersPerRound = uint32(_bound(seed >> 48, 2 * uint256(f) + 3, K_MAX));
        // Mostly windows of 10 minutes to 2 hours; sometimes a window of a few seconds.
        c.submissionWindow = uint64((seed >> 56) % 8 == 0 ? _bound(seed >> 60, 1, 10) : _bound(seed >> 60, 10 minutes, 2 hours));
        c.revealWindow = uint64((seed >> 164) % 8 == 0 ? _bound(seed >> 168, 1, 10) : _bound(seed >> 168, 5 minutes, 1 hours));
        c.aggregationWindow = uint64((seed >> 76) % 8 == 0 ? _bound(seed >> 80, 1, 10) : _bound(seed >> 80, 10 minutes, 2 hours));
        c.aggregatorBond = feeToken ? _bound(bond, 0, 99) : _bound(bond, 0, MAX_AMOUNT / 100);
        c.slashAmount = _bound(seed >> 100, 0, c.aggregatorBond);
        c.trainerStake = feeToken ? _bound(seed >> 152, 0, 99) : _bound(seed >> 152, 0, 1e20);
        c.ownerEncryptionKey = keccak256(abi.encode("owner-key", seed));
        c.initialModelCommitment = uint256(keccak256(abi.encode("model-0", seed))) % FIELD;
        c.specCid = "bafkreispec";
        c.initialModelCid = "bafkreimodel0";
        _setHyperParams(c, uint256(keccak256(abi.encode("hyper", seed))));
        uint256 pid = _create(c, (seed >> 240) % N_OWNERS, false);
        if (pid == 0) return;
        // Some trainers register before round 0 opens (its candidates); others may join later.
        uint256 early = (seed >> 200) % (N_TRAINERS + 1);
        for (uint256 i; i < early; ++i) _register(pid, _accounts[FIRST_TRAINER + ((seed >> 208) + i) % N_TRAINERS]);
        if (accept) _accept(pid);
    }

    function fundProject(uint256 pidSeed, uint256 funderSeed, uint256 amount) external step {
        (uint256 pid, bool found) = _pick(pidSeed);
        if (!found) return;
        IFedMarket.ProjectView memory p = market.getProject(pid);
        if (!_open(p) || p.cancelRequested) return;
        uint8 ti = _ghost[pid].tokenIdx;
        address funder = _accounts[funderSeed % N_ACCOUNTS];
        amount = _bound(amount, 0, MAX_AMOUNT);
        _fund(ti, funder, amount);
        uint256 balBefore = _balance(ti);
        uint256 liabBefore = market.totalLiabilities(p.token);
        vm.prank(funder);
        (bool ok, bytes memory ret) =
            address(market).call{value: ti == 0 ? amount : 0}(abi.encodeCall(IFedMarket.fundProject, (pid, amount)));
        if (!ok) return _unexpected("fundProject", pid, ret);
        uint256 arrived = _balance(ti) - balBefore;
        _check(arrived == _afterFee(ti, amount), "fund: arrived", pid, _afterFee(ti, amount), arrived);
        _check(market.getProject(pid).budget == p.budget + arrived, "fund: budget", pid, p.budget + arrived, 0);
        _check(market.totalLiabilities(p.token) == liabBefore + arrived, "fund: liabilities", pid, arrived, 0);
        _ghost[pid].deposited += arrived;
        if (funder != p.owner) {
            _ghost[pid].funderDeposits += arrived;
            ghostFunderDeposit[pid][funder] += arrived;
        }
        (uint256 recorded,) = market.getFunder(pid, funder);
        _check(recorded == ghostFunderDeposit[pid][funder], "fund: funder deposit", pid, ghostFunderDeposit[pid][funder], recorded);
        actionCount["fundProject"]++;
    }

    function appointAggregator(uint256 pidSeed, uint256 aggSeed, uint256 bond, uint256 slash) external step {
        (uint256 pid, bool found) = _pick(pidSeed);
        if (!found) return;
        IFedMarket.ProjectView memory p = market.getProject(pid);
        if (p.status != IFedMarket.ProjectStatus.AwaitingAggregator) return;
        uint8 ti = _ghost[pid].tokenIdx;
        address aggregator = _accounts[FIRST_AGGREGATOR + aggSeed % N_AGGREGATORS];
        // Often the same bond again (the usual re-appointment after a failed round).
        if (aggSeed % 3 == 0) bond = p.aggregatorBond;
        else bond = ti == 2 ? _bound(bond, 0, 99) : _bound(bond, 0, MAX_AMOUNT / 100);
        slash = _bound(slash, 0, bond);
        _check(p.bondPosted == 0, "awaiting: no bond posted", pid, 0, p.bondPosted);

        // The owner can never appoint itself.
        vm.prank(p.owner);
        (bool self, bytes memory selfRet) = address(market).call(
            abi.encodeCall(IFedMarket.appointAggregator, (pid, p.owner, bond, slash))
        );
        _expectError(self, selfRet, abi.encodeWithSelector(IFedMarket.AggregatorIsOwner.selector, p.owner), "appoint self", pid);

        uint256[] memory before = _snap(ti);
        vm.prank(p.owner);
        (bool ok, bytes memory ret) = address(market).call(
            abi.encodeCall(IFedMarket.appointAggregator, (pid, aggregator, bond, slash))
        );
        if (!ok) return _unexpected("appointAggregator", pid, ret);
        _settle(pid, ti, before, new uint256[](N_ACCOUNTS), "appoint");
        IFedMarket.ProjectView memory q = market.getProject(pid);
        _check(q.bondPosted == 0, "appoint: bondPosted", pid, 0, q.bondPosted);
        _check(q.aggregator == aggregator && q.aggregatorBond == bond && q.slashAmount == slash, "appoint: fields", pid, 0, 0);
        _check(q.acceptanceDeadline == p.acceptanceDeadline, "appoint: clock kept", pid, p.acceptanceDeadline, q.acceptanceDeadline);
        actionCount["appointAggregator"]++;
    }

    /// @notice The appointed aggregator accepts; first, sometimes, an acceptance of other terms (an
    ///         owner front-running it), by the aggregator whose round failed, or with a seal key off
    ///         the curve, which must revert.
    function acceptAggregator(uint256 pidSeed) external step {
        (uint256 pid, bool found) = _pick(pidSeed);
        if (!found) return;
        IFedMarket.ProjectView memory p = market.getProject(pid);
        if (p.status != IFedMarket.ProjectStatus.AwaitingAggregator) return;
        uint256 liabBefore = market.totalLiabilities(p.token);
        address failed = _ghost[pid].failedAggregator;
        if (p.aggregator == address(0) || (failed != address(0) && failed != p.aggregator && (pidSeed >> 128) % 2 == 0)) {
            // Nobody appointed since the last failure (or another one is): the failed aggregator cannot accept.
            if (failed == address(0)) return;
            vm.prank(failed);
            (bool okF, bytes memory retF) =
                address(market).call(abi.encodeCall(IFedMarket.acceptAggregator, (pid, SealKeys.at(pid), p.aggregatorBond, p.slashAmount)));
            _expectError(okF, retF, abi.encodeWithSelector(IFedMarket.NotAggregator.selector, pid, failed), "failed re-accept", pid);
            _check(market.totalLiabilities(p.token) == liabBefore, "failed re-accept: liabilities", pid, 0, 0);
            if (p.aggregator == address(0)) return;
        }
        if ((pidSeed >> 136) % 3 == 0) {
            // Terms other than the appointment's: a larger bond or a higher slash must not bind.
            uint256 bond = p.aggregatorBond + 1;
            vm.prank(p.aggregator);
            (bool okT, bytes memory retT) =
                address(market).call(abi.encodeCall(IFedMarket.acceptAggregator, (pid, SealKeys.at(pid), bond, p.slashAmount)));
            _expectError(
                okT,
                retT,
                abi.encodeWithSelector(IFedMarket.AppointmentTermsChanged.selector, pid, p.aggregatorBond, p.slashAmount),
                "accept other terms",
                pid
            );
            _check(market.totalLiabilities(p.token) == liabBefore, "accept other terms: liabilities", pid, 0, 0);
        }
        if ((pidSeed >> 144) % 4 == 0) {
            // A seal key off the curve (a valid key with y + 1), refused before any bond moves.
            uint256[2] memory bad = SealKeys.at(pidSeed >> 152);
            bad[1] = addmod(bad[1], 1, FIELD);
            vm.prank(p.aggregator);
            (bool okK, bytes memory retK) =
                address(market).call(abi.encodeCall(IFedMarket.acceptAggregator, (pid, bad, p.aggregatorBond, p.slashAmount)));
            _expectError(okK, retK, abi.encodeWithSelector(IFedMarket.InvalidSealKey.selector), "accept bad key", pid);
            _check(market.totalLiabilities(p.token) == liabBefore, "accept bad key: liabilities", pid, 0, 0);
            _check(market.getProject(pid).aggregatorSealKey[0] == 0, "accept bad key: no key", pid, 0, 0);
        }
        _accept(pid);
    }

    function registerTrainer(uint256 pidSeed, uint256 trainerSeed) external step {
        (uint256 pid, bool found) = _pick(pidSeed);
        if (!found) return;
        IFedMarket.ProjectView memory p = market.getProject(pid);
        address trainer = _accounts[FIRST_TRAINER + trainerSeed % N_TRAINERS];
        (bool registered,,) = market.getTrainer(pid, trainer);
        if (registered && _open(p) && !p.cancelRequested) {
            // A second registration must fail and change nothing.
            vm.prank(trainer);
            (bool ok, bytes memory ret) =
                address(market).call(abi.encodeCall(IFedMarket.registerTrainer, (pid, new bytes32[](0))));
            _expectError(ok, ret, abi.encodeWithSelector(IFedMarket.AlreadyRegistered.selector, pid, trainer), "re-register", pid);
            return;
        }
        if (!_open(p) || p.cancelRequested) return;
        _register(pid, trainer);
    }

    /// @notice Candidates of the open round commit (up to `count` of them) in its commit window;
    ///         along the way, trainers that were not drawn (or registered after the round opened)
    ///         try too and must get `NotSelected`, and some commitments are copies or duplicates.
    function commitUpdates(uint256 pidSeed, uint256 trainerSeed, uint256 count, uint256 commitSeed) external step {
        (uint256 pid, bool found) = _pick(pidSeed);
        if (!found) return;
        IFedMarket.ProjectView memory p = market.getProject(pid);
        if (p.status != IFedMarket.ProjectStatus.Active || p.cancelRequested) return;
        if (currentTime >= uint256(p.roundOpenedAt) + p.submissionWindow) {
            // Too late for this round: once its reveal window closed below quorum, skip it and
            // commit to the next one.
            if (currentTime < _revealEnd(p) || market.getCurrentRound(pid).submissions >= _quorum(p)) return;
            _skip(pid, p, commitSeed);
            p = market.getProject(pid);
            if (p.status != IFedMarket.ProjectStatus.Active) return;
        }
        _commitUpdates(pid, p, trainerSeed, _bound(count, 1, p.maxTrainersPerRound), commitSeed, false);
    }

    /// @notice Committed trainers reveal (up to `count` of them), warping into the reveal window if
    ///         the commit window is still open; a copier's and a duplicate's reveal must fail.
    function revealUpdates(uint256 pidSeed, uint256 count, uint256 timeSeed) external step {
        (uint256 pid, bool found) = _pick(pidSeed);
        if (!found) return;
        IFedMarket.ProjectView memory p = market.getProject(pid);
        if (p.status != IFedMarket.ProjectStatus.Active || market.getCurrentRound(pid).commits == 0) return;
        if (currentTime >= _revealEnd(p)) return;
        _enterRevealWindow(p, timeSeed);
        _revealPending(pid, p, _bound(count, 1, K_MAX), timeSeed);
    }

    /// @dev Up to `count` trainers commit to the open round (its commit window is open), registering
    ///      some unregistered ones first (they must get `NotSelected`: they were not candidates when
    ///      the round opened). Unless `honest`, some commit a copy of another slot's sealed
    ///      commitment, or seal another slot's commitment under their own address.
    function _commitUpdates(
        uint256 pid,
        IFedMarket.ProjectView memory p,
        uint256 trainerSeed,
        uint256 count,
        uint256 commitSeed,
        bool honest
    ) internal returns (uint256 made) {
        uint256 seed = _ensureSeed(pid, commitSeed);
        uint256 candidates = market.getCurrentRound(pid).candidates;
        for (uint256 i; i < N_TRAINERS && made < count; ++i) {
            address trainer = _accounts[FIRST_TRAINER + (trainerSeed % N_TRAINERS + i) % N_TRAINERS];
            (bool registered, uint32 lastPlusOne,) = market.getTrainer(pid, trainer);
            if (!registered && (honest || (commitSeed >> i) % 4 != 0 || !_register(pid, trainer))) continue;
            if (lastPlusOne == p.currentRound + 1) continue;
            (bool ready, bool selected, uint256 slot) = market.slotOf(pid, trainer);
            (bool drawn, uint256 drawnSlot) = _drawnSlot(seed, candidates, p.maxTrainersPerRound, pid, trainer);
            _check(ready && selected == drawn && slot == drawnSlot, "slotOf == the reference draw", pid, drawnSlot, slot);
            if (!selected) {
                if (honest) continue;
                // A trainer that was not drawn cannot take a slot, however early it sends.
                bytes32 sealedCommit = _seal(pid, p.currentRound, trainer, 1, UPDATE_CID);
                vm.prank(trainer);
                (bool okN, bytes memory retN) =
                    address(market).call(abi.encodeCall(IFedMarket.commitUpdate, (pid, p.currentRound, sealedCommit)));
                bytes memory want = abi.encodeWithSelector(IFedMarket.NotSelected.selector, pid, p.currentRound, trainer);
                _expectError(okN, retN, want, "commit: not drawn", pid);
                actionCount["notSelected"]++;
                continue;
            }
            if (!_commitOne(pid, p, slot, trainer, honest ? 2 : uint256(keccak256(abi.encode(commitSeed, i))))) return made;
            ++made;
        }
    }

    /// @dev `trainer` commits into `slot`: honestly (`r % 8 >= 3`, or `2`), or (when another slot
    ///      already committed in this round) with a copy of that slot's sealed commitment
    ///      (`r % 8 == 1`) or with that slot's commitment sealed under its own address (`r % 8 == 0`),
    ///      or (when a slot of any project holds a revealed commitment) with that commitment sealed
    ///      under its own address (`r % 8 == 3`, a stale copy). Honest commitments hash the project,
    ///      the trainer and the round, so they are unique in the market: a commitment was revealed
    ///      before exactly when it is a stale copy (or a copy of one) or another slot of the round
    ///      revealed it first.
    function _commitOne(uint256 pid, IFedMarket.ProjectView memory p, uint256 slot, address trainer, uint256 r)
        internal
        returns (bool)
    {
        uint256 round = p.currentRound;
        (uint256 commitment, bytes32 sealedCommit, bool copied, bool staleCopy) = _chooseCommitment(pid, p, trainer, r);
        if (!copied) {
            _check(
                market.sealedCommitment(pid, round, trainer, commitment, UPDATE_CID) == sealedCommit,
                "sealedCommitment view",
                pid,
                0,
                0
            );
        }
        uint256 commitsBefore = market.getCurrentRound(pid).commits;
        vm.prank(trainer);
        (bool ok, bytes memory ret) = address(market).call(abi.encodeCall(IFedMarket.commitUpdate, (pid, round, sealedCommit)));
        if (!ok) {
            _unexpected("commitUpdate", pid, ret);
            return false;
        }
        (, uint32 lastPlusOne,) = market.getTrainer(pid, trainer);
        IFedMarket.RoundView memory rv = market.getCurrentRound(pid);
        _check(lastPlusOne == round + 1 && rv.commits == commitsBefore + 1, "commit: recorded", pid, commitsBefore + 1, rv.commits);
        (address shown, uint256 value) = market.getSubmission(pid, round, slot);
        _check(shown == address(0) && value == 0, "commit: nothing visible before the reveal", pid, slot, value);
        GhostSlot storage g = _slot[pid][slot];
        (g.commitment, g.trainer, g.sealedCommit) = (commitment, trainer, sealedCommit);
        g.roundPlusOne = round + 1;
        g.copiedPlusOne = copied ? round + 1 : 0;
        g.staleCopyPlusOne = staleCopy ? round + 1 : 0;
        actionCount["commitUpdate"]++;
        if ((r >> 64) % 8 == 0) {
            // A second commitment in the same round is refused.
            vm.prank(trainer);
            (bool again, bytes memory againRet) = address(market).call(abi.encodeCall(IFedMarket.commitUpdate, (pid, round, bytes32(r))));
            bytes memory want = abi.encodeWithSelector(IFedMarket.AlreadySubmitted.selector, pid, round, trainer);
            _expectError(again, againRet, want, "commit twice", pid);
        }
        return true;
    }

    /// @dev What `trainer` commits to in mode `r` (see `_commitOne`): the commitment, its sealed
    ///      commitment, whether that is a copy of another slot's seal, and whether the commitment is
    ///      a stale copy (revealed before, or a copy of a slot that is one).
    function _chooseCommitment(uint256 pid, IFedMarket.ProjectView memory p, address trainer, uint256 r)
        internal
        view
        returns (uint256 commitment, bytes32 sealedCommit, bool copied, bool staleCopy)
    {
        uint256 round = p.currentRound;
        commitment = _bound(uint256(keccak256(abi.encode("update", r, pid, trainer, round))), 1, FIELD - 1);
        sealedCommit = _seal(pid, round, trainer, commitment, UPDATE_CID);
        (uint256 revealed, bool anyRevealed) = r % 8 == 3 ? _revealedCommitment(r >> 16) : (0, false);
        if (anyRevealed) {
            // The commitment (and CID) of an update revealed before are public: seal them again.
            commitment = revealed;
            sealedCommit = _seal(pid, round, trainer, commitment, UPDATE_CID);
            staleCopy = true;
        } else if (r % 8 < 2) {
            (uint256 other, bool any) = _committedSlot(pid, p, r >> 8);
            if (any) {
                GhostSlot storage o = _slot[pid][other];
                commitment = o.commitment;
                staleCopy = o.staleCopyPlusOne == round + 1;
                copied = r % 8 == 1;
                sealedCommit = copied ? o.sealedCommit : _seal(pid, round, trainer, commitment, UPDATE_CID);
            }
        }
    }

    /// @dev A commitment some slot of any project revealed (in its last round), if any (scanning from `seed`).
    function _revealedCommitment(uint256 seed) internal view returns (uint256 commitment, bool found) {
        uint256 n = projectIds.length * K_MAX;
        for (uint256 i; i < n; ++i) {
            uint256 at = (seed % n + i) % n;
            GhostSlot storage g = _slot[projectIds[at / K_MAX]][at % K_MAX];
            if (g.revealedPlusOne != 0 && g.revealedPlusOne == g.roundPlusOne) return (g.commitment, true);
        }
        return (0, false);
    }

    /// @dev A slot committed in the open round other than by a copier, if any (scanning from `seed`).
    function _committedSlot(uint256 pid, IFedMarket.ProjectView memory p, uint256 seed)
        internal
        view
        returns (uint256 slot, bool found)
    {
        uint256 k = p.maxTrainersPerRound;
        for (uint256 i; i < k; ++i) {
            slot = (seed % k + i) % k;
            GhostSlot storage g = _slot[pid][slot];
            if (g.roundPlusOne == p.currentRound + 1 && g.copiedPlusOne != p.currentRound + 1) {
                return (slot, true);
            }
        }
        return (0, false);
    }

    /// @dev Up to `count` committed, unrevealed slots of the open round reveal (its reveal window is
    ///      open). A copier's reveal (with the commitment and CID it copied) must fail with
    ///      `RevealMismatch`; a commitment revealed before, by another slot of the round or in any
    ///      earlier round of any project, with `DuplicateCommitment`.
    function _revealPending(uint256 pid, IFedMarket.ProjectView memory p, uint256 count, uint256 seed)
        internal
        returns (uint256 made)
    {
        uint256 round = p.currentRound;
        uint256 k = p.maxTrainersPerRound;
        for (uint256 i; i < k && made < count; ++i) {
            uint256 slot = (seed % k + i) % k;
            GhostSlot storage g = _slot[pid][slot];
            if (g.roundPlusOne != round + 1 || g.revealedPlusOne == round + 1) continue;
            if (_refusedReveal(pid, round, k, g)) continue;
            (bool ok, bytes memory ret) = _revealOne(pid, round, slot, g);
            if (!ok) return _unexpectedCount("revealUpdate", pid, ret, made);
            ++made;
        }
    }

    /// @dev Reveals slot `g`, which must succeed: checks the slot and the count, records the reveal.
    function _revealOne(uint256 pid, uint256 round, uint256 slot, GhostSlot storage g)
        internal
        returns (bool ok, bytes memory ret)
    {
        uint256 subsBefore = market.getCurrentRound(pid).submissions;
        vm.prank(g.trainer);
        (ok, ret) = address(market).call(abi.encodeCall(IFedMarket.revealUpdate, (pid, round, g.commitment, UPDATE_CID)));
        if (!ok) return (ok, ret);
        (address shown, uint256 value) = market.getSubmission(pid, round, slot);
        _check(shown == g.trainer && value == g.commitment, "reveal: slot", pid, slot, value);
        uint256 subs = market.getCurrentRound(pid).submissions;
        _check(subs == subsBefore + 1, "reveal: counted", pid, subsBefore + 1, subs);
        g.revealedPlusOne = round + 1;
        actionCount["revealUpdate"]++;
    }

    /// @dev If the reveal of slot `g` must be refused, tries it and checks the error: `RevealMismatch`
    ///      for a copied seal, `DuplicateCommitment` for a commitment revealed before (a stale copy,
    ///      or another slot of the round revealed it first). Returns whether it was such a reveal.
    function _refusedReveal(uint256 pid, uint256 round, uint256 k, GhostSlot storage g) internal returns (bool) {
        bytes memory want;
        string memory kind;
        if (g.copiedPlusOne == round + 1) {
            want = abi.encodeWithSelector(IFedMarket.RevealMismatch.selector, pid, round, g.trainer);
            kind = "revealMismatch";
        } else if (g.staleCopyPlusOne == round + 1) {
            want = abi.encodeWithSelector(IFedMarket.DuplicateCommitment.selector, pid, round, g.commitment);
            kind = "copiedEarlierReveal";
        } else if (_revealedInRound(pid, k, round, g.commitment)) {
            want = abi.encodeWithSelector(IFedMarket.DuplicateCommitment.selector, pid, round, g.commitment);
            kind = "duplicateCommitment";
        } else {
            return false;
        }
        vm.prank(g.trainer);
        (bool ok, bytes memory ret) =
            address(market).call(abi.encodeCall(IFedMarket.revealUpdate, (pid, round, g.commitment, UPDATE_CID)));
        _expectError(ok, ret, want, "reveal: copy or duplicate", pid);
        actionCount[kind]++;
        return true;
    }

    function _revealedInRound(uint256 pid, uint256 k, uint256 round, uint256 commitment) internal view returns (bool) {
        for (uint256 slot; slot < k; ++slot) {
            if (_slot[pid][slot].revealedPlusOne == round + 1 && _slot[pid][slot].commitment == commitment) return true;
        }
        return false;
    }

    /// @dev Fixes the open round's seed as any node would: in a block after the seed block,
    ///      re-anchoring first if that block's hash has expired (more than 256 blocks ago). Checks the
    ///      seed against `keccak256(chainid, market, projectId, round, blockhash(seedBlock))`.
    function _ensureSeed(uint256 pid, uint256 callerSeed) internal returns (uint256 seed) {
        IFedMarket.RoundView memory rv = market.getCurrentRound(pid);
        if (rv.seed != 0) return rv.seed;
        address caller = _accounts[callerSeed % N_ACCOUNTS];
        if (currentBlock <= rv.seedBlock) _roll(uint256(rv.seedBlock) + 1);
        if (currentBlock - rv.seedBlock > 256) {
            vm.prank(caller);
            (bool okA, bytes memory retA) = address(market).call(abi.encodeCall(IFedMarket.drawSeed, (pid)));
            if (!okA) return _unexpectedCount("drawSeed (re-anchor)", pid, retA, 0);
            rv = market.getCurrentRound(pid);
            _check(abi.decode(retA, (uint256)) == 0 && rv.seed == 0, "re-anchor: still pending", pid, 0, rv.seed);
            _check(rv.seedBlock == currentBlock, "re-anchor: seed block", pid, currentBlock, rv.seedBlock);
            actionCount["seedReanchored"]++;
            _roll(currentBlock + 1);
        }
        if (blockhash(rv.seedBlock) == bytes32(0)) vm.setBlockhash(rv.seedBlock, keccak256(abi.encode("block", rv.seedBlock)));
        vm.prank(caller);
        (bool ok, bytes memory ret) = address(market).call(abi.encodeCall(IFedMarket.drawSeed, (pid)));
        if (!ok) return _unexpectedCount("drawSeed", pid, ret, 0);
        seed = abi.decode(ret, (uint256));
        uint256 want = uint256(keccak256(abi.encode(block.chainid, address(market), pid, rv.round, blockhash(rv.seedBlock))));
        if (want == 0) want = 1;
        _check(seed == want && market.getCurrentRound(pid).seed == want, "seed", pid, want, seed);
    }

    /// @dev The draw, stated independently of the contract (packages/core slots.ts): candidate
    ///      `index` of `n` takes slot `index` when `n <= k`; otherwise Floyd's algorithm picks `k`.
    function _drawnSlot(uint256 seed, uint256 n, uint256 k, uint256 pid, address trainer)
        internal
        view
        returns (bool, uint256)
    {
        (bool registered,,) = market.getTrainer(pid, trainer);
        uint256 index = ghostIndex[pid][trainer];
        if (!registered || index >= n) return (false, 0);
        if (n <= k) return (true, index);
        uint256[] memory taken = new uint256[](k);
        for (uint256 d; d < k; ++d) {
            uint256 j = n - k + d;
            uint256 x = uint256(keccak256(abi.encode(seed, d))) % (j + 1);
            for (uint256 e; e < d; ++e) {
                if (taken[e] == x) x = j;
            }
            if (x == index) return (true, d);
            taken[d] = x;
        }
        return (false, 0);
    }

    /// @dev What `trainer` seals, computed here (IFedMarket.commitUpdate).
    function _seal(uint256 pid, uint256 round, address trainer, uint256 commitment, string memory cid)
        internal
        view
        returns (bytes32)
    {
        return keccak256(abi.encode(block.chainid, address(market), pid, round, trainer, commitment, keccak256(bytes(cid))));
    }

    function _roll(uint256 blockNumber) internal {
        currentBlock = blockNumber;
        vm.roll(blockNumber);
    }

    /// @dev The market's quorum of revealed updates, `max(3, 2f + 1)` (@fedmarket/core `roundQuorum`).
    function _quorum(IFedMarket.ProjectView memory p) internal pure returns (uint256) {
        uint256 f = p.params.byzantineTolerance;
        return f == 0 ? 3 : 2 * f + 1;
    }

    function _revealEnd(IFedMarket.ProjectView memory p) internal pure returns (uint256) {
        return uint256(p.roundOpenedAt) + p.submissionWindow + p.revealWindow;
    }

    /// @dev Warps into the reveal window if the commit window is still open.
    function _enterRevealWindow(IFedMarket.ProjectView memory p, uint256 timeSeed) internal {
        uint256 start = uint256(p.roundOpenedAt) + p.submissionWindow;
        if (currentTime < start) {
            currentTime = start + _bound(timeSeed, 0, p.revealWindow - 1);
            vm.warp(currentTime);
        }
    }

    function warp(uint256 seconds_) external step {
        // Mostly short steps inside the windows, sometimes long jumps past them (and past the 256
        // blocks a seed block's hash stays readable: one block per 12 seconds).
        uint256 dt = seconds_ % 4 == 0 ? _bound(seconds_, 0, 3 hours) : _bound(seconds_, 0, 10 minutes);
        currentTime += dt;
        vm.warp(currentTime);
        _roll(currentBlock + 1 + dt / 12);
    }

    /// @notice The aggregator finalizes the open round with mock proofs and random outcomes
    ///         (warping into the aggregation window if it has not opened yet).
    function finalizeRound(uint256 pidSeed, uint256 outcomeSeed, uint256 splitSeed, uint256 timeSeed) external step {
        (uint256 pid, bool found) = _pick(pidSeed);
        if (!found) return;
        IFedMarket.ProjectView memory p = market.getProject(pid);
        _fillToQuorum(pid, p, outcomeSeed);
        if (!_canAggregate(pid, p, timeSeed)) return;
        Fin memory x = _buildFinalization(pid, p, outcomeSeed, splitSeed);
        uint8 ti = _ghost[pid].tokenIdx;
        uint256[] memory before = _snap(ti);
        (uint256 depositReturned, uint256 depositBurned) = _referenceSettlement(pid, p, x.subs);
        uint256 burnBefore = market.creditOf(_tokens[ti], address(0));

        if (x.head.length > 0) {
            vm.prank(p.aggregator);
            (bool okHead, bytes memory retHead) = address(market).call(
                abi.encodeCall(IFedMarket.submitChunkProofs, (pid, x.round, 0, x.head))
            );
            if (!okHead) return _unexpected("submitChunkProofs", pid, retHead);
            IFedMarket.RoundView memory rv = market.getCurrentRound(pid);
            _check(rv.chunksVerified == x.head.length, "chunks: count", pid, x.head.length, rv.chunksVerified);
            _check(rv.accumulator == x.accs[x.head.length - 1], "chunks: accumulator", pid, 0, 0);
        }
        IFedMarket.RoundResult memory result = _result(x, _decisionProof(x, p));
        vm.prank(p.aggregator);
        (bool ok, bytes memory ret) = address(market).call(
            abi.encodeCall(IFedMarket.finalizeRound, (pid, x.round, x.split, x.tail, result))
        );
        if (!ok) return _unexpected("finalizeRound", pid, ret);

        // Expected credits: each inlier's share (computed without mulDiv: reward < 2^80, score < 2^64),
        // the budget to the owner and the bond to the aggregator when the project closes.
        uint256 budgetAfterRound = p.budget + x.reward - x.paid + depositReturned;
        (uint256 toOwner,) = _ownerRefund(pid, x.closing ? budgetAfterRound : 0);
        x.expected[_indexOf(p.owner)] += toOwner;
        x.expected[_indexOf(p.aggregator)] += x.closing ? p.bondPosted : 0;
        uint256[] memory deltas = _settle(pid, ti, before, x.expected, "finalize");
        _settleBurn(pid, ti, burnBefore, depositBurned, "finalize");
        _checkNextRound(pid, p, budgetAfterRound, x.closing, false);
        _check(market.getProject(pid).modelCommitment == x.newModel, "finalize: model", pid, x.newModel, 0);
        _check(_sameHyper(market.getProject(pid).hyperParams, x.next), "finalize: hyperParams", pid, x.next.learningRateMicros, 0);

        Ghost storage g = _ghost[pid];
        for (uint256 i = FIRST_TRAINER; i < N_ACCOUNTS; ++i) g.rewardsPaid += deltas[i];
        g.budgetRefunded += deltas[_indexOf(p.owner)];
        g.bondOut += deltas[_indexOf(p.aggregator)];
        g.model = x.newModel;
        g.hyper = x.next;
        actionCount["finalizeRound"]++;
    }

    function skipRound(uint256 pidSeed, uint256 callerSeed, uint256 timeSeed) external step {
        (uint256 pid, bool found) = _pick(pidSeed);
        if (!found) return;
        IFedMarket.ProjectView memory p = market.getProject(pid);
        if (p.status != IFedMarket.ProjectStatus.Active) return;
        uint256 subs = market.getCurrentRound(pid).submissions;
        if (subs >= _quorum(p)) return;
        uint256 deadline = _revealEnd(p);
        if (currentTime < deadline) {
            currentTime = deadline + _bound(timeSeed, 0, 10 minutes);
            vm.warp(currentTime);
        }
        _skip(pid, p, callerSeed);
    }

    /// @dev Skips the open round (its reveal window has closed below quorum).
    function _skip(uint256 pid, IFedMarket.ProjectView memory p, uint256 callerSeed) internal {
        uint8 ti = _ghost[pid].tokenIdx;
        bool closing = p.currentRound + 1 == p.numRounds;
        uint256[] memory before = _snap(ti);
        vm.prank(_accounts[callerSeed % N_ACCOUNTS]);
        (bool ok, bytes memory ret) = address(market).call(abi.encodeCall(IFedMarket.skipRound, (pid)));
        if (!ok) return _unexpected("skipRound", pid, ret);
        uint256[] memory expected = new uint256[](N_ACCOUNTS);
        // Below the quorum the reference deposit always returns.
        uint256 budgetAfterRound = p.budget + p.roundReward + p.referenceDeposit;
        (expected[_indexOf(p.owner)],) = _ownerRefund(pid, closing ? budgetAfterRound : 0);
        expected[_indexOf(p.aggregator)] += closing ? p.bondPosted : 0;
        uint256[] memory deltas = _settle(pid, ti, before, expected, "skip");
        _checkNextRound(pid, p, budgetAfterRound, closing, false);
        _ghost[pid].budgetRefunded += deltas[_indexOf(p.owner)];
        _ghost[pid].bondOut += deltas[_indexOf(p.aggregator)];
        actionCount["skipRound"]++;
    }

    function failRound(uint256 pidSeed, uint256 callerSeed, uint256 timeSeed) external step {
        (uint256 pid, bool found) = _pick(pidSeed);
        if (!found) return;
        IFedMarket.ProjectView memory p = market.getProject(pid);
        if (p.status != IFedMarket.ProjectStatus.Active) return;
        _fillToQuorum(pid, p, timeSeed);
        uint256 subs = market.getCurrentRound(pid).submissions;
        if (subs < _quorum(p)) return;
        uint256 end = _revealEnd(p) + p.aggregationWindow;
        if (currentTime < end) {
            currentTime = end + _bound(timeSeed, 0, 10 minutes);
            vm.warp(currentTime);
        }
        uint8 ti = _ghost[pid].tokenIdx;
        bool closing = p.cancelRequested || p.currentRound + 1 == p.numRounds;
        uint256 slashed = p.slashAmount < p.bondPosted ? p.slashAmount : p.bondPosted;
        uint256 perTrainer = slashed / 2 / subs;
        uint256 ownerSlashShare = slashed - perTrainer * subs;
        uint256[] memory before = _snap(ti);
        (uint256 depositReturned, uint256 depositBurned) = _referenceSettlement(pid, p, subs);
        uint256 burnBefore = market.creditOf(_tokens[ti], address(0));
        vm.prank(_accounts[callerSeed % N_ACCOUNTS]);
        (bool ok, bytes memory ret) = address(market).call(abi.encodeCall(IFedMarket.failRound, (pid)));
        if (!ok) return _unexpected("failRound", pid, ret);

        // Each revealed submitter: its slash share and an equal part of the round's reward (the
        // first `reward % subs` in slot order one unit more); committed but unrevealed slots (and
        // copiers) nothing; the owner: the rest of the slash; the aggregator: the rest of its bond.
        // The reward never returns to the budget.
        uint256[] memory expected = new uint256[](N_ACCOUNTS);
        uint256 k;
        for (uint256 slot; slot < p.maxTrainersPerRound; ++slot) {
            if (_slot[pid][slot].revealedPlusOne != p.currentRound + 1) continue;
            uint256 part = p.roundReward / subs + (k < p.roundReward % subs ? 1 : 0);
            ++k;
            expected[_indexOf(_slot[pid][slot].trainer)] += perTrainer + part;
        }
        _check(k == subs, "fail: ghost revealed slots", pid, subs, k);
        (uint256 toOwner,) = _ownerRefund(pid, closing ? p.budget + depositReturned : 0);
        expected[_indexOf(p.owner)] = ownerSlashShare + toOwner;
        expected[_indexOf(p.aggregator)] += p.bondPosted - slashed;
        uint256[] memory deltas = _settle(pid, ti, before, expected, "fail");
        _settleBurn(pid, ti, burnBefore, depositBurned, "fail");
        _checkNextRound(pid, p, p.budget + depositReturned, closing, true);
        IFedMarket.ProjectView memory q = market.getProject(pid);
        _check(q.bondPosted == 0 && q.aggregator == address(0), "fail: appointment cleared", pid, 0, q.bondPosted);
        _check(q.aggregatorSealKey[0] == 0 && q.aggregatorSealKey[1] == 0, "fail: seal key cleared", pid, 0, q.aggregatorSealKey[0]);
        Ghost storage g = _ghost[pid];
        delete g.sealKey;
        g.bondOut += slashed + deltas[_indexOf(p.aggregator)];
        g.budgetRefunded += deltas[_indexOf(p.owner)] - ownerSlashShare;
        g.rewardsPaid += p.roundReward;
        g.failedAggregator = p.aggregator;
        actionCount["failRound"]++;
    }

    function cancelProject(uint256 pidSeed) external step {
        // Cancelling ends a project for the rest of the sequence: do it one time in three.
        if ((pidSeed >> 128) % 3 != 0) return;
        (uint256 pid, bool found) = _pick(pidSeed);
        if (!found) return;
        IFedMarket.ProjectView memory p = market.getProject(pid);
        if (!_open(p) || p.cancelRequested) return;
        uint8 ti = _ghost[pid].tokenIdx;
        bool active = p.status == IFedMarket.ProjectStatus.Active;
        uint256 subs = active ? market.getCurrentRound(pid).submissions : 0;
        uint256 commits = active ? market.getCurrentRound(pid).commits : 0;
        bool keepRound = subs >= _quorum(p);
        uint256[] memory before = _snap(ti);
        vm.prank(p.owner);
        (bool ok, bytes memory ret) = address(market).call(abi.encodeCall(IFedMarket.cancelProject, (pid)));
        if (!ok) return _unexpected("cancelProject", pid, ret);
        uint256[] memory expected = new uint256[](N_ACCOUNTS);
        IFedMarket.ProjectView memory q = market.getProject(pid);
        uint256 paidToSubmitters;
        if (keepRound) {
            // Nothing is refunded until the kept round ends.
            _check(q.cancelRequested && q.status == IFedMarket.ProjectStatus.Active, "cancel: keeps round", pid, 0, 0);
            _check(q.budget == p.budget && q.roundReward == p.roundReward, "cancel: kept escrow", pid, p.roundReward, q.roundReward);
        } else {
            // Below quorum: the trainers that committed (revealed or not, copiers too) share the
            // round's reward in slot order; a round without commitments has its reward refunded.
            paidToSubmitters = commits == 0 ? 0 : p.roundReward;
            uint256 k;
            for (uint256 slot; slot < p.maxTrainersPerRound && active; ++slot) {
                if (_slot[pid][slot].roundPlusOne != p.currentRound + 1) continue;
                uint256 part = paidToSubmitters / commits + (k < paidToSubmitters % commits ? 1 : 0);
                ++k;
                expected[_indexOf(_slot[pid][slot].trainer)] += part;
            }
            _check(k == commits, "cancel: ghost committed slots", pid, commits, k);
            // The reference deposit returns to the budget (no quorum) before the budget is refunded.
            (uint256 toOwner, uint256 pool) = _ownerRefund(pid, p.budget + p.roundReward + p.referenceDeposit - paidToSubmitters);
            expected[_indexOf(p.owner)] = toOwner;
            if (p.bondPosted != 0) expected[_indexOf(p.aggregator)] += p.bondPosted;
            _check(q.status == IFedMarket.ProjectStatus.Cancelled, "cancel: status", pid, 0, uint256(q.status));
            _check(q.budget == 0 && q.roundReward == 0 && q.referenceDeposit == 0 && q.bondPosted == 0, "cancel: emptied", pid, 0, 0);
            _check(q.refundPool == pool, "cancel: refund pool", pid, pool, q.refundPool);
        }
        uint256[] memory deltas = _settle(pid, ti, before, expected, "cancel");
        _ghost[pid].budgetRefunded += deltas[_indexOf(p.owner)];
        _ghost[pid].rewardsPaid += paidToSubmitters;
        if (p.bondPosted != 0) _ghost[pid].bondOut += deltas[_indexOf(p.aggregator)];
        actionCount["cancelProject"]++;
    }

    /// @notice Anyone closes a project that waited for an aggregator past its acceptance deadline
    ///         (warping there, or, one time in four, trying too early, which must revert).
    function expireProject(uint256 pidSeed, uint256 callerSeed, uint256 timeSeed) external step {
        (uint256 pid, bool found) = _pick(pidSeed);
        if (!found) return;
        IFedMarket.ProjectView memory p = market.getProject(pid);
        if (p.status != IFedMarket.ProjectStatus.AwaitingAggregator) return;
        uint256 deadline = p.acceptanceDeadline;
        _check(deadline != 0 && p.bondPosted == 0, "awaiting: deadline, no bond", pid, deadline, p.bondPosted);
        address caller = _accounts[callerSeed % N_ACCOUNTS];
        if (currentTime < deadline) {
            if (timeSeed % 4 == 0) {
                vm.prank(caller);
                (bool early, bytes memory earlyRet) = address(market).call(abi.encodeCall(IFedMarket.expireProject, (pid)));
                bytes memory want = abi.encodeWithSelector(IFedMarket.AcceptanceWindowOpen.selector, pid, deadline);
                return _expectError(early, earlyRet, want, "expire early", pid);
            }
            currentTime = deadline + _bound(timeSeed, 0, 1 hours);
            vm.warp(currentTime);
        }
        uint8 ti = _ghost[pid].tokenIdx;
        uint256[] memory before = _snap(ti);
        vm.prank(caller);
        (bool ok, bytes memory ret) = address(market).call(abi.encodeCall(IFedMarket.expireProject, (pid)));
        if (!ok) return _unexpected("expireProject", pid, ret);
        uint256[] memory expected = new uint256[](N_ACCOUNTS);
        (uint256 toOwner, uint256 pool) = _ownerRefund(pid, p.budget);
        expected[_indexOf(p.owner)] = toOwner;
        uint256[] memory deltas = _settle(pid, ti, before, expected, "expire");
        IFedMarket.ProjectView memory q = market.getProject(pid);
        _check(q.status == IFedMarket.ProjectStatus.Cancelled, "expire: status", pid, 0, uint256(q.status));
        _check(q.budget == 0 && q.roundReward == 0 && q.refundPool == pool, "expire: refunded", pid, pool, q.refundPool);
        _ghost[pid].budgetRefunded += deltas[_indexOf(p.owner)];
        actionCount["expireProject"]++;
    }

    /// @notice A third-party funder claims its share of an ended project's refund (or, if it has
    ///         none or the project has not ended, fails with NothingToRefund).
    function claimRefund(uint256 pidSeed, uint256 funderSeed) external step {
        (uint256 pid, bool found) = _pick(pidSeed);
        if (!found) return;
        if ((pidSeed >> 128) % 4 != 0) {
            // Mostly pick an ended project that owes a funder a refund.
            for (uint256 k; k < projectIds.length; ++k) {
                uint256 candidate = projectIds[(pidSeed % projectIds.length + k) % projectIds.length];
                IFedMarket.ProjectStatus st = market.getProject(candidate).status;
                bool over = st == IFedMarket.ProjectStatus.Completed || st == IFedMarket.ProjectStatus.Cancelled;
                if (over && _ghost[candidate].funderDeposits != 0) {
                    pid = candidate;
                    break;
                }
            }
        }
        address funder = _accounts[funderSeed % N_ACCOUNTS];
        if (ghostFunderDeposit[pid][funder] == 0 && (funderSeed >> 128) % 4 != 0) {
            // Mostly pick an account with a deposit in this project.
            for (uint256 k = 1; k < N_ACCOUNTS && ghostFunderDeposit[pid][funder] == 0; ++k) {
                funder = _accounts[(funderSeed % N_ACCOUNTS + k) % N_ACCOUNTS];
            }
        }
        IFedMarket.ProjectView memory p = market.getProject(pid);
        Ghost storage g = _ghost[pid];
        uint256 deposit = ghostFunderDeposit[pid][funder];
        bool ended = p.status == IFedMarket.ProjectStatus.Completed || p.status == IFedMarket.ProjectStatus.Cancelled;
        uint256[] memory before = _snap(g.tokenIdx);
        vm.prank(funder);
        (bool ok, bytes memory ret) = address(market).call(abi.encodeCall(IFedMarket.claimRefund, (pid)));
        if (!ended || deposit == 0) {
            bytes memory want = abi.encodeWithSelector(IFedMarket.NothingToRefund.selector, pid, funder);
            return _expectError(ok, ret, want, "claimRefund", pid);
        }
        if (!ok) return _unexpected("claimRefund", pid, ret);
        // Pro rata to the deposits not yet refunded; the last claimant takes what is left.
        uint256 share = deposit == g.funderDeposits ? p.refundPool : p.refundPool * deposit / g.funderDeposits;
        uint256[] memory expected = new uint256[](N_ACCOUNTS);
        expected[_indexOf(funder)] = share;
        uint256[] memory deltas = _settle(pid, g.tokenIdx, before, expected, "claimRefund");
        uint256 pool = market.getProject(pid).refundPool;
        _check(pool == p.refundPool - share, "claimRefund: pool", pid, p.refundPool - share, pool);
        g.funderDeposits -= deposit;
        ghostFunderDeposit[pid][funder] = 0;
        g.refundsClaimed += deltas[_indexOf(funder)];
        if (g.funderDeposits == 0) _check(pool == 0, "claimRefund: pool emptied by the last claim", pid, 0, pool);
        actionCount["claimRefund"]++;
    }

    function releaseStake(uint256 pidSeed, uint256 trainerSeed) external step {
        (uint256 pid, bool found) = _pick(pidSeed);
        if (!found) return;
        IFedMarket.ProjectView memory p = market.getProject(pid);
        address trainer = _accounts[FIRST_TRAINER + trainerSeed % N_TRAINERS];
        (,, uint256 stake) = market.getTrainer(pid, trainer);
        bool ended = p.status == IFedMarket.ProjectStatus.Completed || p.status == IFedMarket.ProjectStatus.Cancelled;
        if (ended && stake == 0 && (trainerSeed >> 128) % 4 != 0) {
            // Mostly pick a trainer that still has a stake in this ended project.
            for (uint256 k = 1; k < N_TRAINERS && stake == 0; ++k) {
                address other = _accounts[FIRST_TRAINER + (trainerSeed % N_TRAINERS + k) % N_TRAINERS];
                (,, uint256 otherStake) = market.getTrainer(pid, other);
                if (otherStake != 0) (trainer, stake) = (other, otherStake);
            }
        }
        uint8 ti = _ghost[pid].tokenIdx;
        uint256[] memory before = _snap(ti);
        vm.prank(trainer);
        (bool ok, bytes memory ret) = address(market).call(abi.encodeCall(IFedMarket.releaseStake, (pid)));
        if (!ended || stake == 0) {
            _expectError(ok, ret, abi.encodeWithSelector(IFedMarket.NoStakeToRelease.selector, pid, trainer), "releaseStake", pid);
            return;
        }
        if (!ok) return _unexpected("releaseStake", pid, ret);
        uint256[] memory expected = new uint256[](N_ACCOUNTS);
        expected[_indexOf(trainer)] = stake;
        _settle(pid, ti, before, expected, "releaseStake");
        _check(ghostStake[pid][trainer] == stake, "releaseStake: ghost stake", pid, ghostStake[pid][trainer], stake);
        ghostStake[pid][trainer] = 0;
        actionCount["releaseStake"]++;
    }

    function withdraw(uint256 accountSeed, uint256 tokenSeed) external step {
        address account = _accounts[accountSeed % N_ACCOUNTS];
        uint8 ti = uint8(tokenSeed % N_TOKENS);
        address token = _tokens[ti];
        uint256 credit = market.creditOf(token, account);
        if (credit == 0 && (tokenSeed >> 128) % 4 != 0) {
            // Mostly look for an account that has something to withdraw.
            for (uint256 k; k < N_ACCOUNTS * N_TOKENS && credit == 0; ++k) {
                uint256 a = (accountSeed % N_ACCOUNTS + k) % N_ACCOUNTS;
                uint256 t = (tokenSeed % N_TOKENS + k / N_ACCOUNTS) % N_TOKENS;
                uint256 c = market.creditOf(_tokens[t], _accounts[a]);
                if (c != 0) (account, ti, token, credit) = (_accounts[a], uint8(t), _tokens[t], c);
            }
        }
        if (credit == 0) {
            vm.prank(account);
            (bool ok0, bytes memory ret0) = address(market).call(abi.encodeCall(IFedMarket.withdraw, (token)));
            _expectError(ok0, ret0, abi.encodeWithSelector(IFedMarket.NothingToWithdraw.selector, token, account), "withdraw 0", ti);
            return;
        }
        uint256 marketBefore = _balance(ti);
        uint256 accountBefore = _balanceOf(ti, account);
        uint256 liabBefore = market.totalLiabilities(token);
        vm.prank(account);
        (bool ok, bytes memory ret) = address(market).call(abi.encodeCall(IFedMarket.withdraw, (token)));
        if (!ok) return _unexpected("withdraw", ti, ret);
        uint256 out = marketBefore - _balance(ti);
        _check(out == credit, "withdraw: market paid", ti, credit, out);
        _check(_balanceOf(ti, account) - accountBefore == _afterFee(ti, credit), "withdraw: received", ti, credit, 0);
        _check(market.creditOf(token, account) == 0, "withdraw: credit left", ti, 0, market.creditOf(token, account));
        _check(market.totalLiabilities(token) == liabBefore - credit, "withdraw: liabilities", ti, credit, 0);
        ghostWithdrawn[token][account] += out;
        // Withdrawing again pays nothing.
        vm.prank(account);
        (ok, ret) = address(market).call(abi.encodeCall(IFedMarket.withdraw, (token)));
        _expectError(ok, ret, abi.encodeWithSelector(IFedMarket.NothingToWithdraw.selector, token, account), "withdraw twice", ti);
        actionCount["withdraw"]++;
    }

    /// @notice Hostile finalizations that must fail and change nothing: a non-aggregator with a
    ///         valid proof, the aggregator with a proof of different outcomes, a decision proof
    ///         replayed from another project or proven for another seal key than the registered
    ///         one, and next hyper-parameters outside the bounds.
    function hostileFinalize(uint256 pidSeed, uint256 actorSeed, uint256 outcomeSeed) external step {
        (uint256 pid, bool found) = _pick(pidSeed);
        if (!found) return;
        IFedMarket.ProjectView memory p = market.getProject(pid);
        _fillToQuorum(pid, p, actorSeed);
        if (!_canAggregate(pid, p, outcomeSeed)) return;
        Fin memory x = _buildFinalization(pid, p, outcomeSeed, 0);
        uint256[8] memory proof = _decisionProof(x, p);
        uint256 liabBefore = market.totalLiabilities(p.token);
        uint256 mode = actorSeed % 4;
        address caller = p.aggregator;
        bytes memory expectedError;
        if (mode == 0) {
            // Anyone but the aggregator (owners and trainers; never an aggregator of this project).
            uint256 i = actorSeed % (N_OWNERS + N_TRAINERS);
            caller = _accounts[i < N_OWNERS ? i : FIRST_TRAINER + i - N_OWNERS];
            expectedError = abi.encodeWithSelector(IFedMarket.NotAggregator.selector, pid, caller);
        } else if (mode == 1) {
            x.words[0] ^= 1 << 2; // flip one score bit of slot 0 after proving
            expectedError = abi.encodeWithSelector(IFedMarket.InvalidDecisionProof.selector);
        } else if (mode == 2) {
            if ((actorSeed >> 16) % 2 == 0) {
                // The proof of the same outcomes, bound to another project id.
                proof = _decisionProofFor(x, p, pid + 1000, _ghost[pid].sealKey);
            } else {
                // The proof of the same outcomes for another (valid) seal key than the registered one.
                uint256[2] memory other = SealKeys.at(0);
                if (other[0] == _ghost[pid].sealKey[0]) other = SealKeys.at(1);
                proof = _decisionProofFor(x, p, pid, other);
            }
            expectedError = abi.encodeWithSelector(IFedMarket.InvalidDecisionProof.selector);
        } else {
            // A valid proof, but a learning rate just above (or below) the project's bounds.
            bool above = (actorSeed >> 8) % 2 == 0;
            uint256 lr = above ? uint256(p.maxHyperParams.learningRateMicros) + 1 : uint256(p.minHyperParams.learningRateMicros) - 1;
            x.next.learningRateMicros = uint32(lr);
            expectedError = abi.encodeWithSelector(
                IFedMarket.HyperParamOutOfBounds.selector,
                "learningRateMicros",
                lr,
                p.minHyperParams.learningRateMicros,
                p.maxHyperParams.learningRateMicros
            );
        }
        IFedMarket.ChunkProof[] memory all = _concat(x.head, x.tail);
        IFedMarket.RoundResult memory result = _result(x, proof);
        vm.prank(caller);
        (bool ok, bytes memory ret) =
            address(market).call(abi.encodeCall(IFedMarket.finalizeRound, (pid, x.round, 0, all, result)));
        _expectError(ok, ret, expectedError, "hostileFinalize", pid);
        _check(market.totalLiabilities(p.token) == liabBefore, "hostile: liabilities", pid, liabBefore, 0);
        _check(market.getCurrentRound(pid).round == x.round, "hostile: round moved", pid, x.round, 0);
        _check(_sameHyper(market.getProject(pid).hyperParams, _ghost[pid].hyper), "hostile: hyperParams", pid, 0, 0);
        actionCount["hostileFinalize"]++;
    }

    // ---------------------------------------------------------------------------------------------
    // Invariants (called by the test contract after every action)
    // ---------------------------------------------------------------------------------------------

    /// @notice Reverts with `InvariantViolated` when any accounting property is broken.
    function assertInvariants() external view {
        if (violations != 0) revert InvariantViolated(firstViolation, violations, 0, 0);
        for (uint8 ti; ti < N_TOKENS; ++ti) {
            address token = _tokens[ti];
            uint256 liabilities = market.totalLiabilities(token);
            uint256 balance = _balance(ti);
            // We never force-send ETH, so equality holds for ETH as well.
            if (balance != liabilities) revert InvariantViolated("balance == totalLiabilities", ti, liabilities, balance);
            // Burned reference deposits: credited to address(0), which never withdraws.
            uint256 sum = _sumProjects(ti) + market.creditOf(token, address(0));
            for (uint256 a; a < N_ACCOUNTS; ++a) {
                address account = _accounts[a];
                uint256 credit = market.creditOf(token, account);
                sum += credit;
                uint256 credited = ghostCredited[token][account];
                uint256 withdrawn = ghostWithdrawn[token][account];
                if (withdrawn > credited) revert InvariantViolated("withdrawn <= credited", a, credited, withdrawn);
                if (credited - withdrawn != credit) {
                    revert InvariantViolated("credited - withdrawn == creditOf", a, credited - withdrawn, credit);
                }
            }
            if (sum != liabilities) revert InvariantViolated("totalLiabilities == sum of parts", ti, sum, liabilities);
        }
    }

    function _sumProjects(uint8 ti) internal view returns (uint256 sum) {
        for (uint256 k; k < projectIds.length; ++k) {
            uint256 pid = projectIds[k];
            Ghost storage g = _ghost[pid];
            if (g.tokenIdx != ti) continue;
            IFedMarket.ProjectView memory p = market.getProject(pid);
            sum += p.budget + p.roundReward + p.referenceDeposit + p.bondPosted + p.refundPool;
            if (p.status == IFedMarket.ProjectStatus.AwaitingAggregator && p.bondPosted != 0) {
                revert InvariantViolated("no bond while awaiting an aggregator", pid, 0, p.bondPosted);
            }
            for (uint256 t = FIRST_TRAINER; t < N_ACCOUNTS; ++t) {
                (,, uint256 stake) = market.getTrainer(pid, _accounts[t]);
                if (stake != ghostStake[pid][_accounts[t]]) {
                    revert InvariantViolated("stake == ghost stake", pid, ghostStake[pid][_accounts[t]], stake);
                }
                sum += stake;
            }
            uint256 held = p.budget + p.roundReward + p.referenceDeposit + g.rewardsPaid + g.budgetRefunded + p.refundPool
                + g.refundsClaimed + g.burned;
            if (g.deposited != held) revert InvariantViolated("budget conservation", pid, g.deposited, held);
            if (g.rewardsPaid > g.deposited) revert InvariantViolated("paid <= deposited", pid, g.deposited, g.rewardsPaid);
            if (g.bondIn != p.bondPosted + g.bondOut) {
                revert InvariantViolated("bond conservation", pid, g.bondIn, p.bondPosted + g.bondOut);
            }
            _checkHyperInvariants(pid, p, g);
            if (p.status == IFedMarket.ProjectStatus.Active) _checkRoundInvariants(pid, p);
        }
    }

    /// @dev The open round: revealed <= committed <= min(candidates, slots), candidates <= registered.
    function _checkRoundInvariants(uint256 pid, IFedMarket.ProjectView memory p) internal view {
        IFedMarket.RoundView memory rv = market.getCurrentRound(pid);
        uint256 slots = rv.candidates < p.maxTrainersPerRound ? rv.candidates : p.maxTrainersPerRound;
        if (rv.submissions > rv.commits) revert InvariantViolated("revealed <= committed", pid, rv.commits, rv.submissions);
        if (rv.commits > slots) revert InvariantViolated("committed <= drawn slots", pid, slots, rv.commits);
        if (rv.candidates > p.registeredTrainers) {
            revert InvariantViolated("candidates <= registered", pid, p.registeredTrainers, rv.candidates);
        }
    }

    /// @dev Skipped and failed rounds keep the hyper-parameters; only finalizations change them.
    function _checkHyperInvariants(uint256 pid, IFedMarket.ProjectView memory p, Ghost storage g) internal view {
        IFedMarket.HyperParams memory h = p.hyperParams;
        if (!_sameHyper(h, g.hyper)) revert InvariantViolated("hyperParams == ghost", pid, g.hyper.learningRateMicros, h.learningRateMicros);
        if (!_sameHyper(market.getCurrentRound(pid).hyperParams, h)) revert InvariantViolated("round view hyperParams", pid, 0, 0);
        bool inside = h.learningRateMicros >= p.minHyperParams.learningRateMicros
            && h.learningRateMicros <= p.maxHyperParams.learningRateMicros && h.localEpochs >= p.minHyperParams.localEpochs
            && h.localEpochs <= p.maxHyperParams.localEpochs && h.batchSize >= p.minHyperParams.batchSize
            && h.batchSize <= p.maxHyperParams.batchSize;
        if (!inside) revert InvariantViolated("hyperParams within bounds", pid, 0, h.learningRateMicros);
    }

    // ---------------------------------------------------------------------------------------------
    // Views for the test contract
    // ---------------------------------------------------------------------------------------------

    function projectCount() external view returns (uint256) {
        return projectIds.length;
    }

    function ghost(uint256 pid) external view returns (Ghost memory) {
        return _ghost[pid];
    }

    function accountAt(uint256 i) external view returns (address) {
        return _accounts[i];
    }

    // ---------------------------------------------------------------------------------------------
    // Internal: actions shared by bootstrap and the fuzzed entry points
    // ---------------------------------------------------------------------------------------------

    function _create(IFedMarket.ProjectConfig memory c, uint256 ownerIdx, bool accept) internal returns (uint256 pid) {
        uint8 ti = c.token == address(0) ? 0 : (c.token == address(tst) ? 1 : 2);
        address owner = _accounts[ownerIdx];
        _fund(ti, owner, c.budget);
        uint256 balBefore = _balance(ti);
        uint256 liabBefore = market.totalLiabilities(c.token);
        vm.prank(owner);
        (bool ok, bytes memory ret) =
            address(market).call{value: ti == 0 ? c.budget : 0}(abi.encodeCall(IFedMarket.createProject, (c)));
        if (!ok) {
            _unexpected("createProject", 0, ret);
            return 0;
        }
        pid = abi.decode(ret, (uint256));
        _check(pid == market.projectCount() && pid == projectIds.length + 1, "create: id", pid, projectIds.length + 1, pid);
        uint256 arrived = _balance(ti) - balBefore;
        _check(arrived == _afterFee(ti, c.budget), "create: arrived", pid, _afterFee(ti, c.budget), arrived);
        IFedMarket.ProjectView memory p = market.getProject(pid);
        _check(p.budget == arrived, "create: budget == arrived", pid, arrived, p.budget);
        _check(p.owner == owner && p.status == IFedMarket.ProjectStatus.AwaitingAggregator, "create: fields", pid, 0, 0);
        _check(market.totalLiabilities(c.token) == liabBefore + arrived, "create: liabilities", pid, arrived, 0);
        projectIds.push(pid);
        Ghost storage g = _ghost[pid];
        g.tokenIdx = ti;
        g.deposited = arrived;
        g.model = c.initialModelCommitment;
        g.hyper = c.initialHyperParams;
        _check(_sameHyper(p.hyperParams, c.initialHyperParams), "create: hyperParams", pid, 0, 0);
        actionCount["createProject"]++;
        if (accept) _accept(pid);
    }

    function _accept(uint256 pid) internal {
        IFedMarket.ProjectView memory p = market.getProject(pid);
        uint8 ti = _ghost[pid].tokenIdx;
        uint256 needed = p.aggregatorBond > p.bondPosted ? p.aggregatorBond - p.bondPosted : 0;
        _fund(ti, p.aggregator, needed);
        uint256 balBefore = _balance(ti);
        // A new key for every acceptance (a project is re-accepted after a failed round).
        uint256[2] memory key = SealKeys.at(pid + p.currentRound);
        vm.prank(p.aggregator);
        (bool ok, bytes memory ret) = address(market).call{value: ti == 0 ? needed : 0}(
            abi.encodeCall(IFedMarket.acceptAggregator, (pid, key, p.aggregatorBond, p.slashAmount))
        );
        if (_afterFee(ti, needed) < needed) {
            // Only reachable with a fee-on-transfer bond >= 100 (the handler avoids those).
            _expectError(
                ok,
                ret,
                abi.encodeWithSelector(IFedMarket.InsufficientDeposit.selector, needed, _afterFee(ti, needed)),
                "accept fee",
                pid
            );
            return;
        }
        if (!ok) return _unexpected("acceptAggregator", pid, ret);
        uint256 arrived = _balance(ti) - balBefore;
        _check(arrived == needed, "accept: arrived", pid, needed, arrived);
        IFedMarket.ProjectView memory q = market.getProject(pid);
        _check(q.bondPosted == p.bondPosted + arrived, "accept: bondPosted", pid, p.bondPosted + arrived, q.bondPosted);
        _check(q.status == IFedMarket.ProjectStatus.Active && q.currentRound == p.currentRound, "accept: status", pid, 0, 0);
        _check(q.aggregatorSealKey[0] == key[0] && q.aggregatorSealKey[1] == key[1], "accept: seal key", pid, key[0], q.aggregatorSealKey[0]);
        uint256 reward = p.rewardPerRound < p.budget ? p.rewardPerRound : p.budget;
        _check(q.roundReward == reward && q.budget == p.budget - reward, "accept: reward reserved", pid, reward, q.roundReward);
        _checkDecayed(pid, p, q);
        _checkOpened(pid);
        _ghost[pid].bondIn += arrived;
        _ghost[pid].sealKey = key;
        actionCount["acceptAggregator"]++;
    }

    /// @return registered Whether the trainer is registered afterwards.
    function _register(uint256 pid, address trainer) internal returns (bool registered) {
        IFedMarket.ProjectView memory p = market.getProject(pid);
        uint8 ti = _ghost[pid].tokenIdx;
        uint256 stake = p.trainerStake;
        uint256 index = p.registeredTrainers;
        _fund(ti, trainer, stake);
        uint256 balBefore = _balance(ti);
        vm.prank(trainer);
        (bool ok, bytes memory ret) = address(market).call{value: ti == 0 ? stake : 0}(
            abi.encodeCall(IFedMarket.registerTrainer, (pid, new bytes32[](0)))
        );
        if (_afterFee(ti, stake) < stake) {
            _expectError(
                ok, ret, abi.encodeWithSelector(IFedMarket.InsufficientDeposit.selector, stake, _afterFee(ti, stake)), "register fee", pid
            );
            return false;
        }
        if (!ok) {
            _unexpected("registerTrainer", pid, ret);
            return false;
        }
        uint256 arrived = _balance(ti) - balBefore;
        (bool isRegistered,, uint256 stored) = market.getTrainer(pid, trainer);
        _check(isRegistered && stored == arrived && arrived == stake, "register: stake", pid, stake, stored);
        uint256 count = market.getProject(pid).registeredTrainers;
        _check(count == index + 1, "register: index", pid, index + 1, count);
        ghostStake[pid][trainer] = arrived;
        ghostIndex[pid][trainer] = index;
        actionCount["registerTrainer"]++;
        return true;
    }

    /// @dev While the commit or reveal window is open, brings the open round to its quorum of
    ///      revealed updates as far as its candidates allow: honest commitments from candidates that
    ///      have not committed yet (in the commit window), then the pending reveals (most sequences
    ///      would otherwise rarely get a round aggregated).
    function _fillToQuorum(uint256 pid, IFedMarket.ProjectView memory p, uint256 seed) internal {
        if (p.status != IFedMarket.ProjectStatus.Active || currentTime >= _revealEnd(p)) return;
        uint256 quorum = _quorum(p);
        uint256 subs = market.getCurrentRound(pid).submissions;
        if (subs >= quorum) return;
        uint256 pending = _pendingReveals(pid, p);
        if (currentTime < uint256(p.roundOpenedAt) + p.submissionWindow && !p.cancelRequested && subs + pending < quorum) {
            pending += _commitUpdates(pid, p, seed, quorum - subs - pending, seed >> 8, true);
        }
        if (pending == 0) return;
        _enterRevealWindow(p, seed >> 16);
        _revealPending(pid, p, K_MAX, seed);
    }

    /// @dev Committed, unrevealed slots of the open round that are not copies (of a seal, or of a
    ///      commitment revealed before).
    function _pendingReveals(uint256 pid, IFedMarket.ProjectView memory p) internal view returns (uint256 n) {
        uint256 tag = p.currentRound + 1;
        for (uint256 slot; slot < p.maxTrainersPerRound; ++slot) {
            GhostSlot storage g = _slot[pid][slot];
            if (g.roundPlusOne == tag && g.revealedPlusOne != tag && g.copiedPlusOne != tag && g.staleCopyPlusOne != tag) {
                ++n;
            }
        }
    }

    /// @dev Whether the aggregator can finalize now; warps into the aggregation window if the
    ///      commit or reveal window is still open (with a quorum already revealed).
    function _canAggregate(uint256 pid, IFedMarket.ProjectView memory p, uint256 timeSeed) internal returns (bool) {
        if (p.status != IFedMarket.ProjectStatus.Active) return false;
        if (market.getCurrentRound(pid).submissions < _quorum(p)) return false;
        uint256 start = _revealEnd(p);
        uint256 end = start + p.aggregationWindow;
        if (currentTime >= end) return false;
        if (currentTime < start) {
            currentTime = start + _bound(timeSeed, 0, p.aggregationWindow - 1);
            vm.warp(currentTime);
        }
        // A committed reference not published yet: the chunk proofs wait for its publication window.
        Ghost storage g = _ghost[pid];
        uint256 publicationEnd = start + p.aggregationWindow / 4;
        if (g.referenceRoundPlusOne == p.currentRound + 1 && !g.referencePublished && currentTime < publicationEnd) {
            currentTime = publicationEnd + _bound(timeSeed, 0, end - publicationEnd - 1);
            vm.warp(currentTime);
        }
        return true;
    }

    /// @dev Whether the open round `round`'s reference counts in the decision proof, and its commitment.
    function _referenceCounts(uint256 pid, uint256 round) internal view returns (bool counts, uint256 commitment) {
        Ghost storage g = _ghost[pid];
        counts = g.referenceRoundPlusOne == round + 1 && g.referencePublished;
        commitment = g.referenceCommitment;
    }

    /// @dev How the open round's reference deposit settles when the round closes with `subs` reveals:
    ///      back to the budget without a quorum or when the reference counts, else burned.
    function _referenceSettlement(uint256 pid, IFedMarket.ProjectView memory p, uint256 subs)
        internal
        view
        returns (uint256 returned, uint256 burned)
    {
        (bool counts,) = _referenceCounts(pid, p.currentRound);
        if (subs < _quorum(p) || counts) returned = p.referenceDeposit;
        else burned = p.referenceDeposit;
    }

    /// @dev Checks that `burned` was credited to address(0) since `before` (its credit then), and books it.
    function _settleBurn(uint256 pid, uint8 ti, uint256 before, uint256 burned, string memory what) internal {
        uint256 nowCredit = market.creditOf(_tokens[ti], address(0));
        _check(nowCredit == before + burned, string.concat(what, ": reference deposit burned"), pid, before + burned, nowCredit);
        _ghost[pid].burned += burned;
        if (burned != 0) actionCount["referenceBurned"]++;
    }

    /// @notice The owner commits a reference in the open round's commit window; a budget holding less
    ///         than the round's reward (the deposit) must refuse it.
    function commitReference(uint256 pidSeed, uint256 seed) external step {
        (uint256 pid, bool found) = _pick(pidSeed);
        if (!found) return;
        IFedMarket.ProjectView memory p = market.getProject(pid);
        if (p.status != IFedMarket.ProjectStatus.Active) return;
        Ghost storage g = _ghost[pid];
        if (g.referenceRoundPlusOne == p.currentRound + 1) return;
        if (currentTime >= uint256(p.roundOpenedAt) + p.submissionWindow) return;
        // Non-zero and below 2^248 < the field modulus.
        uint256 commitment = uint256(uint248(uint256(keccak256(abi.encode("reference", pid, p.currentRound, seed))))) | 1;
        vm.prank(p.owner);
        (bool ok, bytes memory ret) =
            address(market).call(abi.encodeCall(IFedMarket.commitReference, (pid, p.currentRound, commitment)));
        if (p.budget < p.roundReward) {
            bytes memory want = abi.encodeWithSelector(
                IFedMarket.ReferenceDepositUnavailable.selector, pid, p.currentRound, p.budget, p.roundReward
            );
            return _expectError(ok, ret, want, "commitReference", pid);
        }
        if (!ok) return _unexpected("commitReference", pid, ret);
        IFedMarket.ProjectView memory q = market.getProject(pid);
        _check(q.referenceDeposit == p.roundReward, "reference: deposit held", pid, p.roundReward, q.referenceDeposit);
        _check(q.budget == p.budget - p.roundReward, "reference: deposit from the budget", pid, p.budget - p.roundReward, q.budget);
        g.referenceRoundPlusOne = p.currentRound + 1;
        g.referenceCommitment = commitment;
        g.referencePublished = false;
        actionCount["commitReference"]++;
    }

    /// @notice The owner publishes the open round's committed reference in its publication window
    ///         (warping to the end of the reveals if needed); a reference left unpublished is withheld.
    function publishReference(uint256 pidSeed, uint256 timeSeed) external step {
        (uint256 pid, bool found) = _pick(pidSeed);
        if (!found) return;
        IFedMarket.ProjectView memory p = market.getProject(pid);
        if (p.status != IFedMarket.ProjectStatus.Active) return;
        Ghost storage g = _ghost[pid];
        if (g.referenceRoundPlusOne != p.currentRound + 1 || g.referencePublished) return;
        uint256 start = _revealEnd(p);
        uint256 end = start + p.aggregationWindow / 4;
        // An aggregation window under 4 s leaves no publication window: the reference is withheld.
        if (currentTime >= end || end == start) return;
        if (currentTime < start) {
            currentTime = start + _bound(timeSeed, 0, end - start - 1);
            vm.warp(currentTime);
        }
        vm.prank(p.owner);
        (bool ok, bytes memory ret) =
            address(market).call(abi.encodeCall(IFedMarket.publishReference, (pid, p.currentRound, "bafkreireference")));
        if (!ok) return _unexpected("publishReference", pid, ret);
        g.referencePublished = true;
        actionCount["publishReference"]++;
    }

    function _buildFinalization(uint256 pid, IFedMarket.ProjectView memory p, uint256 outcomeSeed, uint256 splitSeed)
        internal
        view
        returns (Fin memory x)
    {
        x.pid = pid;
        x.round = p.currentRound;
        x.subs = market.getCurrentRound(pid).submissions;
        x.numChunks = p.numChunks;
        x.reward = p.roundReward;
        x.closing = p.cancelRequested || p.currentRound + 1 == p.numRounds;
        x.newModel = uint256(keccak256(abi.encode("model", pid, x.round, outcomeSeed))) % FIELD;
        x.next = _hyperWithin(p.minHyperParams, p.maxHyperParams, uint256(keccak256(abi.encode("next", outcomeSeed))));
        // Chunk accumulator chain 0 -> accs[0] -> ... -> accs[n-1]; the first `split` proofs go
        // through submitChunkProofs, the rest with finalizeRound.
        x.accs = new uint256[](x.numChunks);
        x.split = splitSeed % (x.numChunks + 1);
        x.head = new IFedMarket.ChunkProof[](x.split);
        x.tail = new IFedMarket.ChunkProof[](x.numChunks - x.split);
        uint256 acc;
        for (uint256 i; i < x.numChunks; ++i) {
            uint256 next = uint256(keccak256(abi.encode("acc", pid, x.round, i, outcomeSeed)));
            IFedMarket.ChunkProof memory cp = _chunkProof(acc, next);
            if (i < x.split) x.head[i] = cp;
            else x.tail[i - x.split] = cp;
            x.accs[i] = next;
            acc = next;
        }
        // Random outcomes for the revealed slots, mostly inliers; scores from zero to 2^64 - 1. The
        // other slots (empty, or committed and never revealed) are empty, as the circuit proves
        // for a zero commitment.
        x.words = new uint256[](WORDS);
        x.expected = new uint256[](N_ACCOUNTS);
        uint256[] memory scores = new uint256[](K_MAX);
        uint256[] memory statuses = new uint256[](K_MAX);
        bool[] memory revealed = new bool[](K_MAX);
        uint256 revealedMask;
        for (uint256 slot; slot < K_MAX; ++slot) {
            revealed[slot] = _slot[pid][slot].revealedPlusOne == x.round + 1;
            if (!revealed[slot]) continue;
            revealedMask |= 1 << slot;
            uint256 r = uint256(keccak256(abi.encode(outcomeSeed, slot)));
            uint256 s = r % 8;
            // 5/8 inlier, 1/8 not aggregated, 1/8 excluded, 1/8 claimed empty (pays nothing).
            statuses[slot] = s < 5 ? 1 : s == 5 ? 2 : s == 6 ? 3 : 0;
            uint256 mode = (r >> 8) % 4;
            uint256 score = mode == 0 ? 0 : mode == 1 ? (r >> 16) % 1000 : mode == 2 ? uint64(r >> 80) : type(uint64).max;
            scores[slot] = score;
            x.words[slot / 3] |= (statuses[slot] | (score << 2)) << (66 * (slot % 3));
            if (statuses[slot] == 1) x.totalScore += score;
        }
        // Zero total: equal parts for the inliers, else for the valid slots (not aggregated), else for all.
        (uint256 inliers, uint256 valid) = ZeroTotalSplit.counts(statuses, revealedMask);
        uint256 eligible = ZeroTotalSplit.eligibleCount(inliers, valid, x.subs);
        uint256 k;
        for (uint256 slot; slot < K_MAX; ++slot) {
            if (!revealed[slot]) continue;
            uint256 share;
            if (x.totalScore != 0) {
                if (statuses[slot] != 1 || scores[slot] == 0) continue;
                share = x.reward * scores[slot] / x.totalScore;
            } else {
                if (!ZeroTotalSplit.eligible(statuses[slot], inliers, valid)) continue;
                share = x.reward / eligible + (k < x.reward % eligible ? 1 : 0);
                ++k;
            }
            x.paid += share;
            x.expected[_indexOf(_slot[pid][slot].trainer)] += share;
        }
    }

    function _decisionProof(Fin memory x, IFedMarket.ProjectView memory p) internal view returns (uint256[8] memory) {
        return _decisionProofFor(x, p, x.pid, _ghost[x.pid].sealKey);
    }

    /// @dev The mock decision proof over independently computed public inputs (ctx as in
    ///      docs/PROOF-INTERFACE.md, the ghost model, the seal key, the ghost reference, the ghost slot commitments).
    function _decisionProofFor(
        Fin memory x,
        IFedMarket.ProjectView memory p,
        uint256 ctxProjectId,
        uint256[2] memory sealKey
    ) internal view returns (uint256[8] memory proof) {
        uint256[] memory inputs = new uint256[](7 + K_MAX + WORDS);
        uint256 digest = uint256(keccak256(abi.encode(block.chainid, address(market), ctxProjectId, x.round, p.paramsHash)));
        inputs[0] = ((digest >> 48) << 40) | (uint256(p.params.modelSize) << 8) | p.params.byzantineTolerance;
        inputs[1] = _ghost[x.pid].model;
        inputs[2] = x.newModel;
        inputs[3] = x.numChunks == 0 ? 0 : x.accs[x.numChunks - 1];
        inputs[4] = sealKey[0];
        inputs[5] = sealKey[1];
        // inputs[6], the owner's reference: its commitment when it counts (published; never flagged here).
        (bool counts, uint256 commitment) = _referenceCounts(x.pid, x.round);
        if (counts) inputs[6] = commitment;
        for (uint256 slot; slot < K_MAX; ++slot) {
            if (_slot[x.pid][slot].revealedPlusOne == x.round + 1) inputs[7 + slot] = _slot[x.pid][slot].commitment;
        }
        for (uint256 w; w < WORDS; ++w) {
            inputs[7 + K_MAX + w] = x.words[w];
        }
        proof[0] = uint256(keccak256(abi.encode(inputs)));
    }

    function _result(Fin memory x, uint256[8] memory proof) internal pure returns (IFedMarket.RoundResult memory r) {
        r.newModelCommitment = x.newModel;
        r.outcomes = x.words;
        r.proof = proof;
        r.newModelCid = "bafkreinextmodel";
        r.nextHyperParams = x.next;
    }

    function _chunkProof(uint256 accIn, uint256 accOut) internal pure returns (IFedMarket.ChunkProof memory cp) {
        cp.proof[0] = uint256(keccak256(abi.encode(accIn, accOut)));
        cp.accOut = accOut;
    }

    function _concat(IFedMarket.ChunkProof[] memory a, IFedMarket.ChunkProof[] memory b)
        internal
        pure
        returns (IFedMarket.ChunkProof[] memory all)
    {
        all = new IFedMarket.ChunkProof[](a.length + b.length);
        for (uint256 i; i < a.length; ++i) all[i] = a[i];
        for (uint256 i; i < b.length; ++i) all[a.length + i] = b[i];
    }

    /// @dev A round opened: the next one's reward is this one's decayed once, rounded down
    ///      (the core reference, `roundRewardSchedule`), and the decay itself never changes.
    function _checkDecayed(uint256 pid, IFedMarket.ProjectView memory p, IFedMarket.ProjectView memory q) internal {
        uint256 next = p.rewardPerRound * q.rewardDecayPpm / 1e6;
        _check(q.rewardDecayPpm == p.rewardDecayPpm, "round: decay fixed", pid, p.rewardDecayPpm, q.rewardDecayPpm);
        _check(q.rewardPerRound == next, "round: next reward decayed", pid, next, q.rewardPerRound);
    }

    /// @dev After a round ended (finalized, skipped or failed): the project closed, or the next
    ///      round opened (reserving min(rewardPerRound, budget)), or it awaits an aggregator.
    function _checkNextRound(uint256 pid, IFedMarket.ProjectView memory p, uint256 budgetAfterRound, bool closing, bool failed)
        internal
    {
        IFedMarket.ProjectView memory q = market.getProject(pid);
        _check(q.currentRound == p.currentRound + 1, "round: advanced", pid, p.currentRound + 1, q.currentRound);
        if (closing) {
            IFedMarket.ProjectStatus want =
                p.cancelRequested ? IFedMarket.ProjectStatus.Cancelled : IFedMarket.ProjectStatus.Completed;
            _check(q.status == want, "round: closed status", pid, uint256(want), uint256(q.status));
            _check(q.budget == 0 && q.roundReward == 0 && q.bondPosted == 0, "round: closed emptied", pid, 0, 0);
        } else if (failed) {
            _check(q.status == IFedMarket.ProjectStatus.AwaitingAggregator, "round: awaiting", pid, 0, uint256(q.status));
            _check(q.budget == budgetAfterRound && q.roundReward == 0, "round: failed budget", pid, budgetAfterRound, q.budget);
            uint256 deadline = currentTime + market.ACCEPTANCE_TIMEOUT();
            _check(q.acceptanceDeadline == deadline, "round: acceptance clock restarted", pid, deadline, q.acceptanceDeadline);
        } else {
            uint256 reward = p.rewardPerRound < budgetAfterRound ? p.rewardPerRound : budgetAfterRound;
            _check(q.status == IFedMarket.ProjectStatus.Active, "round: next active", pid, 0, uint256(q.status));
            _check(q.roundReward == reward, "round: next reward", pid, reward, q.roundReward);
            _check(q.budget == budgetAfterRound - reward, "round: next budget", pid, budgetAfterRound - reward, q.budget);
            _checkDecayed(pid, p, q);
            _check(q.roundOpenedAt == currentTime, "round: opened now", pid, currentTime, q.roundOpenedAt);
            IFedMarket.RoundView memory rv = market.getCurrentRound(pid);
            _check(rv.submissions == 0 && rv.chunksVerified == 0 && rv.accumulator == 0, "round: counters reset", pid, 0, 0);
            _checkOpened(pid);
        }
    }

    /// @dev A round that just opened: no commitment yet, its candidates are the trainers registered
    ///      now, its seed block is this block and its seed is not drawn.
    function _checkOpened(uint256 pid) internal {
        IFedMarket.RoundView memory rv = market.getCurrentRound(pid);
        uint256 registered = market.getProject(pid).registeredTrainers;
        _check(rv.commits == 0 && rv.submissions == 0, "opened: no commitment", pid, 0, rv.commits);
        _check(rv.candidates == registered, "opened: candidates", pid, registered, rv.candidates);
        _check(rv.seedBlock == currentBlock && rv.seed == 0, "opened: seed block", pid, currentBlock, rv.seedBlock);
    }

    // ---------------------------------------------------------------------------------------------
    // Internal: money and bookkeeping
    // ---------------------------------------------------------------------------------------------

    /// @dev How closing the project now would split `refund`: pro rata to the deposits, the
    ///      third-party funders' part (rounded down) into the refund pool, the rest to the owner.
    function _ownerRefund(uint256 pid, uint256 refund) internal view returns (uint256 toOwner, uint256 pool) {
        Ghost storage g = _ghost[pid];
        pool = g.funderDeposits == 0 ? 0 : refund * g.funderDeposits / g.deposited;
        toOwner = refund - pool;
    }

    /// @dev Credits of every tracked account in the project's token.
    function _snap(uint8 ti) internal view returns (uint256[] memory s) {
        s = new uint256[](N_ACCOUNTS);
        for (uint256 a; a < N_ACCOUNTS; ++a) {
            s[a] = market.creditOf(_tokens[ti], _accounts[a]);
        }
    }

    /// @dev Compares the credit changes of an action with the expected ones and books them.
    function _settle(uint256 pid, uint8 ti, uint256[] memory before, uint256[] memory expected, string memory what)
        internal
        returns (uint256[] memory deltas)
    {
        address token = _tokens[ti];
        deltas = new uint256[](N_ACCOUNTS);
        for (uint256 a; a < N_ACCOUNTS; ++a) {
            uint256 nowCredit = market.creditOf(token, _accounts[a]);
            if (nowCredit < before[a]) {
                _fail(string.concat(what, ": credit decreased"), pid, before[a], nowCredit);
                continue;
            }
            deltas[a] = nowCredit - before[a];
            if (deltas[a] != expected[a]) _fail(string.concat(what, ": credit delta"), a, expected[a], deltas[a]);
            ghostCredited[token][_accounts[a]] += deltas[a];
        }
    }

    function _fund(uint8 ti, address who, uint256 amount) internal {
        if (amount == 0) return;
        if (ti == 0) vm.deal(who, who.balance + amount);
        else if (ti == 1) tst.mint(who, amount);
        else fot.mint(who, amount);
    }

    function _balance(uint8 ti) internal view returns (uint256) {
        return _balanceOf(ti, address(market));
    }

    function _balanceOf(uint8 ti, address who) internal view returns (uint256) {
        return ti == 0 ? who.balance : IERC20(_tokens[ti]).balanceOf(who);
    }

    function _afterFee(uint8 ti, uint256 amount) internal pure returns (uint256) {
        return ti == 2 ? amount - amount / 100 : amount;
    }

    function _pick(uint256 seed) internal view returns (uint256 pid, bool found) {
        uint256 n = projectIds.length;
        if (n == 0) return (0, false);
        return (projectIds[seed % n], true);
    }

    function _open(IFedMarket.ProjectView memory p) internal pure returns (bool) {
        return p.status == IFedMarket.ProjectStatus.AwaitingAggregator || p.status == IFedMarket.ProjectStatus.Active;
    }

    function _indexOf(address who) internal view returns (uint256) {
        for (uint256 i; i < N_ACCOUNTS; ++i) {
            if (_accounts[i] == who) return i;
        }
        revert("unknown account");
    }

    function _bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        if (max <= min) return min;
        uint256 size = max - min;
        if (size == type(uint256).max) return x;
        return min + x % (size + 1);
    }

    function _check(bool ok, string memory what, uint256 pid, uint256 expected, uint256 actual) internal {
        if (!ok) _fail(what, pid, expected, actual);
    }

    function _fail(string memory what, uint256 pid, uint256 expected, uint256 actual) internal {
        if (violations == 0) {
            firstViolation = string.concat(
                what, " [id ", _str(pid), ", expected ", _str(expected), ", actual ", _str(actual), "]"
            );
        }
        ++violations;
    }

    function _unexpectedCount(string memory what, uint256 pid, bytes memory ret, uint256 value) internal returns (uint256) {
        _unexpected(what, pid, ret);
        return value;
    }

    function _unexpected(string memory what, uint256 pid, bytes memory ret) internal {
        if (violations == 0) {
            firstViolation = string.concat(what, " reverted unexpectedly [id ", _str(pid), "] ", _hex(ret));
        }
        ++violations;
    }

    function _expectError(bool ok, bytes memory ret, bytes memory expected, string memory what, uint256 pid) internal {
        if (ok) return _fail(string.concat(what, ": expected a revert"), pid, 0, 0);
        if (keccak256(ret) != keccak256(expected)) {
            if (violations == 0) {
                firstViolation = string.concat(what, ": wrong error ", _hex(ret), " expected ", _hex(expected));
            }
            ++violations;
        }
    }

    function _str(uint256 v) internal pure returns (string memory) {
        if (v == 0) return "0";
        bytes memory b;
        while (v != 0) {
            b = bytes.concat(bytes1(uint8(48 + v % 10)), b);
            v /= 10;
        }
        return string(b);
    }

    function _hex(bytes memory data) internal pure returns (string memory) {
        bytes memory alphabet = "0123456789abcdef";
        bytes memory out = new bytes(2 + data.length * 2);
        out[0] = "0";
        out[1] = "x";
        for (uint256 i; i < data.length; ++i) {
            out[2 + 2 * i] = alphabet[uint8(data[i]) >> 4];
            out[3 + 2 * i] = alphabet[uint8(data[i]) & 15];
        }
        return string(out);
    }
}
