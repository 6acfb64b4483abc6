// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {FedMarket} from "../FedMarket.sol";
import {IFedMarket} from "../interfaces/IFedMarket.sol";
import {MockRoundVerifier} from "./mocks/MockRoundVerifier.sol";
import {FeeOnTransferToken, TestToken} from "./mocks/TestTokens.sol";
import {SealKeys} from "./utils/SealKeys.sol";
import {ZeroTotalSplit} from "./utils/ZeroTotalSplit.sol";
import {Vm, VM_ADDRESS} from "./utils/Vm.sol";

/// @dev Shared setup and helpers of the fuzz suites: deploys a market, a mock verifier, the test
///      tokens, and runs projects through their rounds with mock proofs.
abstract contract FuzzBase {
    Vm internal constant vm = Vm(VM_ADDRESS);
    uint256 internal constant FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 internal constant CHUNK = 100;
    string internal constant UPDATE_CID = "bafkreiupdate";
    bytes32 internal constant CONTRIBUTION_RECORDED =
        keccak256("ContributionRecorded(uint256,uint256,address,uint256,uint8,uint256,uint256)");

    FedMarket internal market;
    TestToken internal tst;
    FeeOnTransferToken internal fot;
    address internal owner;
    address internal aggregator;
    address internal funder;
    address[] internal trainers;

    function _deploy(uint256 trainerCount) internal {
        vm.warp(1_700_000_000);
        market = new FedMarket();
        tst = new TestToken();
        fot = new FeeOnTransferToken();
        owner = _actor("owner");
        aggregator = _actor("aggregator");
        funder = _actor("funder");
        address[] memory all = new address[](trainerCount + 3);
        all[0] = owner;
        all[1] = aggregator;
        all[2] = funder;
        for (uint256 i; i < trainerCount; ++i) {
            trainers.push(_actor(string.concat("trainer", _str(i))));
            all[3 + i] = trainers[i];
        }
        for (uint256 i; i < all.length; ++i) {
            vm.startPrank(all[i]);
            tst.approve(address(market), type(uint256).max);
            fot.approve(address(market), type(uint256).max);
            vm.stopPrank();
        }
    }

    function _actor(string memory name) internal pure returns (address) {
        return address(uint160(uint256(keccak256(abi.encode("fuzz-actor", name)))));
    }

    function _config(address token, MockRoundVerifier verifier, uint256 budget, uint256 reward, uint32 slots)
        internal
        view
        returns (IFedMarket.ProjectConfig memory c)
    {
        c.token = token;
        c.aggregator = aggregator;
        c.verifier = verifier;
        c.budget = budget;
        c.rewardPerRound = reward;
        c.rewardDecayPpm = 1e6;
        c.numRounds = 2;
        c.maxTrainersPerRound = slots;
        c.submissionWindow = 1 hours;
        c.revealWindow = 20 minutes;
        c.aggregationWindow = 30 minutes;
        c.ownerEncryptionKey = bytes32(uint256(1));
        c.initialModelCommitment = 12345;
        c.params = IFedMarket.CircuitParams({modelSize: 250, byzantineTolerance: 0, quantizationScale: 1 << 16, clipBound: 127});
        c.specCid = "bafkreispec";
        c.initialModelCid = "bafkreimodel0";
        c.initialHyperParams = IFedMarket.HyperParams({learningRateMicros: 10_000, localEpochs: 1, batchSize: 32});
        c.minHyperParams = IFedMarket.HyperParams({learningRateMicros: 1_000, localEpochs: 1, batchSize: 16});
        c.maxHyperParams = IFedMarket.HyperParams({learningRateMicros: 100_000, localEpochs: 5, batchSize: 128});
    }

    /// @dev Gives `who` `amount` of `token` (ETH when zero).
    function _give(address token, address who, uint256 amount) internal {
        if (token == address(0)) vm.deal(who, who.balance + amount);
        else TestToken(token).mint(who, amount); // FeeOnTransferToken has the same mint
    }

    function _create(IFedMarket.ProjectConfig memory c) internal returns (uint256 pid) {
        _give(c.token, owner, c.budget);
        vm.prank(owner);
        pid = market.createProject{value: c.token == address(0) ? c.budget : 0}(c);
    }

    /// @dev The aggregator accepts the project's current terms (its bond must be `bond`).
    function _accept(uint256 pid, address token, uint256 bond) internal {
        _give(token, aggregator, bond);
        uint256 slashAmount = market.getProject(pid).slashAmount;
        vm.prank(aggregator);
        market.acceptAggregator{value: token == address(0) ? bond : 0}(pid, SealKeys.base8(), bond, slashAmount);
    }

    /// @dev Registers the first `n` trainers (trainer `i` gets registration index `i`). Call it
    ///      before the round opens: a round's candidates are the trainers registered when it opened.
    function _register(uint256 pid, uint256 n) internal {
        for (uint256 i; i < n; ++i) {
            (bool registered,,) = market.getTrainer(pid, trainers[i]);
            if (!registered) {
                vm.prank(trainers[i]);
                market.registerTrainer(pid, new bytes32[](0));
            }
        }
    }

    /// @dev Fixes the open round's seed: moves to the block after the seed block (giving that block
    ///      a hash if the test chain has none) and calls `drawSeed`.
    function _drawSeed(uint256 pid) internal returns (uint256 seed) {
        IFedMarket.RoundView memory r = market.getCurrentRound(pid);
        if (r.seed != 0) return r.seed;
        if (block.number <= r.seedBlock) vm.roll(uint256(r.seedBlock) + 1);
        if (blockhash(r.seedBlock) == bytes32(0)) vm.setBlockhash(r.seedBlock, keccak256(abi.encode("block", r.seedBlock)));
        seed = market.drawSeed(pid);
        require(seed != 0, "seed drawn");
    }

    /// @dev The update trainer `i` sends in `round` (a non-zero field element).
    function _commitmentOf(uint256 pid, uint256 round, uint256 i) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(pid, round, i))) % (FIELD - 1) + 1;
    }

    /// @dev Trainers `0 .. n-1` commit to their updates in the open round. With at most as many
    ///      candidates as slots, trainer `i` holds slot `i` (checked).
    function _commit(uint256 pid, uint256 n) internal {
        uint256 round = market.getCurrentRound(pid).round;
        _drawSeed(pid);
        for (uint256 i; i < n; ++i) {
            (bool ready, bool selected, uint256 slot) = market.slotOf(pid, trainers[i]);
            require(ready && selected && slot == i, "trainer i holds slot i");
            bytes32 sealedCommit = market.sealedCommitment(pid, round, trainers[i], _commitmentOf(pid, round, i), UPDATE_CID);
            vm.prank(trainers[i]);
            market.commitUpdate(pid, round, sealedCommit);
        }
    }

    /// @dev Warps into the reveal window; the committed trainers `i < 64` with bit `i` of `mask` set reveal.
    function _reveal(uint256 pid, uint256 n, uint256 mask) internal {
        IFedMarket.ProjectView memory p = market.getProject(pid);
        uint256 start = uint256(p.roundOpenedAt) + p.submissionWindow;
        if (block.timestamp < start) vm.warp(start);
        for (uint256 i; i < n; ++i) {
            if ((mask >> i) & 1 == 0) continue;
            vm.prank(trainers[i]);
            market.revealUpdate(pid, p.currentRound, _commitmentOf(pid, p.currentRound, i), UPDATE_CID);
        }
    }

    /// @dev Trainers `0 .. n-1` (registered before the round opened) commit and reveal.
    function _submit(uint256 pid, uint256 n) internal {
        _commit(pid, n);
        _reveal(pid, n, type(uint256).max);
    }

    /// @dev Warps into the aggregation window and finalizes the open round with these outcomes:
    ///      chunk proofs first (submitChunkProofs), then the decision over the contract's inputs.
    function _finalize(uint256 pid, uint256[] memory words) internal {
        _finalizeWith(pid, words, market.getProject(pid).hyperParams, "");
    }

    /// @dev As `_finalize`, publishing `nextHyperParams` as the next round's hyper-parameters; when
    ///      `expectedRevert` is not empty, `finalizeRound` must revert with exactly it.
    function _finalizeWith(
        uint256 pid,
        uint256[] memory words,
        IFedMarket.HyperParams memory nextHyperParams,
        bytes memory expectedRevert
    ) internal {
        IFedMarket.ProjectView memory p = market.getProject(pid);
        vm.warp(uint256(p.roundOpenedAt) + p.submissionWindow + p.revealWindow);
        IFedMarket.ChunkProof[] memory chunks = new IFedMarket.ChunkProof[](p.numChunks);
        uint256 acc;
        for (uint256 i; i < p.numChunks; ++i) {
            uint256 next = uint256(keccak256(abi.encode("acc", pid, p.currentRound, i)));
            chunks[i].proof[0] = uint256(keccak256(abi.encode(acc, next)));
            chunks[i].accOut = next;
            acc = next;
        }
        vm.prank(aggregator);
        market.submitChunkProofs(pid, p.currentRound, 0, chunks);
        uint256 newModel = uint256(keccak256(abi.encode("model", pid, p.currentRound))) % FIELD;
        IFedMarket.RoundResult memory result;
        result.newModelCommitment = newModel;
        result.outcomes = words;
        result.proof[0] = uint256(keccak256(abi.encode(market.decisionPublicInputs(pid, newModel, words))));
        result.newModelCid = "bafkreinext";
        result.nextHyperParams = nextHyperParams;
        vm.prank(aggregator);
        if (expectedRevert.length != 0) vm.expectRevert(expectedRevert);
        market.finalizeRound(pid, p.currentRound, p.numChunks, new IFedMarket.ChunkProof[](0), result);
    }

    function _pack(uint256[] memory statuses, uint256[] memory scores, uint256 kMax)
        internal
        pure
        returns (uint256[] memory words)
    {
        words = new uint256[]((kMax + 2) / 3);
        for (uint256 slot; slot < statuses.length; ++slot) {
            words[slot / 3] |= (statuses[slot] | (scores[slot] << 2)) << (66 * (slot % 3));
        }
    }

    /// @dev The reference split of a finalized round (an independent statement of the contract's
    ///      rule) over the revealed slots (bit `i` of `revealed`; the others are paid nothing and
    ///      counted nowhere): `mulDiv(reward, score, total)` per revealed inlier; with a zero total,
    ///      equal parts for the revealed inliers, or without inliers for the valid revealed slots
    ///      (not aggregated), or for every revealed slot if none is valid, one unit more for the
    ///      first `reward % n` of them.
    function _expectedShares(uint256 reward, uint256[] memory statuses, uint256[] memory scores, uint256 revealed)
        internal
        pure
        returns (uint256[] memory shares)
    {
        uint256 n = statuses.length;
        shares = new uint256[](n);
        uint256 total;
        for (uint256 i; i < n; ++i) {
            if ((revealed >> i) & 1 == 1 && statuses[i] == 1) total += scores[i];
        }
        if (total != 0) {
            for (uint256 i; i < n; ++i) {
                if ((revealed >> i) & 1 == 1 && statuses[i] == 1 && scores[i] != 0) {
                    shares[i] = Math.mulDiv(reward, scores[i], total);
                }
            }
            return shares;
        }
        (uint256 inliers, uint256 valid) = ZeroTotalSplit.counts(statuses, revealed);
        uint256 eligible = ZeroTotalSplit.eligibleCount(inliers, valid, _count(revealed));
        uint256 k;
        for (uint256 i; i < n; ++i) {
            if ((revealed >> i) & 1 == 0) continue;
            if (!ZeroTotalSplit.eligible(statuses[i], inliers, valid)) continue;
            shares[i] = reward / eligible + (k < reward % eligible ? 1 : 0);
            ++k;
        }
    }

    /// @dev A set of at least `min` of the slots `0 .. n-1` (bit `i` = slot `i`), drawn from `seed`.
    function _subset(uint256 seed, uint256 n, uint256 min) internal pure returns (uint256 mask) {
        mask = seed & ((1 << n) - 1);
        for (uint256 i; _count(mask) < min; ++i) {
            mask |= 1 << ((seed + i) % n);
        }
    }

    function _count(uint256 mask) internal pure returns (uint256 c) {
        for (; mask != 0; mask >>= 1) c += mask & 1;
    }

    function _bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        if (max <= min) return min;
        uint256 size = max - min;
        if (size == type(uint256).max) return x;
        return min + x % (size + 1);
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

    function _eq(uint256 a, uint256 b, string memory what) internal pure {
        if (a != b) revert(string.concat(what, ": expected ", _str(b), ", got ", _str(a)));
    }
}

/// @title FedMarketFuzzTest
/// @notice Property tests of single operations: the reward split, fee-on-transfer deposits, no
///         double payment, the slash split of a failed round, the bounds on the next round's
///         hyper-parameters and the validation of the aggregator's seal key.
contract FedMarketFuzzTest is FuzzBase {
    MockRoundVerifier internal verifier;

    function setUp() public {
        _deploy(6);
        verifier = new MockRoundVerifier(6, CHUNK);
    }

    // ---------------------------------------------------------------------------------------------
    // Reward split
    // ---------------------------------------------------------------------------------------------

    /// @notice Random reward (up to 2^200), all 6 slots committed and any 3 to 6 of them revealed
    ///         (not necessarily contiguous), random statuses and 64-bit scores on the revealed
    ///         slots: each revealed inlier gets exactly mulDiv(reward, score, totalInlierScore),
    ///         everyone else (the unrevealed committers too) 0, the shares sum to at most the
    ///         reward, and the remainder goes back to the budget. With a zero total the whole reward
    ///         is split equally (see `_expectedShares`).
    /// hardhat-config: fuzz.runs = 1000
    function testFuzz_rewardSplit(uint256 reward, uint64[6] memory scoreSeeds, uint8[6] memory statusSeeds, uint8 revealSeed)
        public
    {
        reward = _bound(reward, 0, 1 << 200);
        uint256 revealed = _subset(revealSeed, 6, 3);
        IFedMarket.ProjectConfig memory c = _config(address(tst), verifier, 2 * reward, reward, 6);
        uint256 pid = _create(c);
        _register(pid, 6);
        _accept(pid, address(tst), 0);
        _commit(pid, 6);
        _reveal(pid, 6, revealed);
        _eq(market.getCurrentRound(pid).submissions, _count(revealed), "revealed updates");

        uint256[] memory statuses = new uint256[](6);
        uint256[] memory scores = new uint256[](6);
        uint256 total;
        for (uint256 i; i < 6; ++i) {
            if ((revealed >> i) & 1 == 0) continue; // an unrevealed slot is empty in the proof
            statuses[i] = statusSeeds[i] % 4;
            // Mix of zero, small, random and maximal 64-bit scores.
            uint256 mode = (statusSeeds[i] >> 2) % 4;
            scores[i] = mode == 0 ? 0 : mode == 1 ? scoreSeeds[i] % 1000 : mode == 2 ? scoreSeeds[i] : type(uint64).max;
            if (statuses[i] == 1) total += scores[i];
        }
        _finalize(pid, _pack(statuses, scores, 6));

        uint256[] memory shares = _expectedShares(reward, statuses, scores, revealed);
        uint256 paid;
        for (uint256 i; i < 6; ++i) {
            if (reward < 1 << 190 && total != 0) {
                // Cross-check with plain arithmetic where it cannot overflow.
                _eq(shares[i], statuses[i] == 1 && scores[i] != 0 ? reward * scores[i] / total : 0, "mulDiv oracle");
            }
            _eq(market.creditOf(address(tst), trainers[i]), shares[i], "share");
            if ((revealed >> i) & 1 == 0) _eq(shares[i], 0, "an unrevealed slot is paid nothing");
            paid += shares[i];
        }
        require(paid <= reward, "shares exceed the reward");
        if (total == 0) _eq(paid, reward, "a zero-total round pays all of its reward");
        // Round 1 reserved `reward` again from reward + (reward - paid): the remainder is in the budget.
        IFedMarket.ProjectView memory p = market.getProject(pid);
        _eq(p.budget, reward - paid, "remainder back to budget");
        _eq(p.roundReward, reward, "next round reserve");
        _eq(market.totalLiabilities(address(tst)), tst.balanceOf(address(market)), "liabilities");
    }

    /// @notice When every inlier scores 0 (or nobody is an inlier) the whole reward is paid, in equal
    ///         parts (within one unit) to the revealed inliers, or without inliers to the valid
    ///         revealed slots, or to every revealed slot if none is valid; a slot left out while
    ///         another is counted, and committed but unrevealed slots, get nothing; nothing returns
    ///         to the budget.
    /// hardhat-config: fuzz.runs = 300
    function testFuzz_rewardSplit_zeroTotalSplitsEqually(uint256 reward, uint8[6] memory statusSeeds, uint8 revealSeed) public {
        reward = _bound(reward, 0, 1e30);
        uint256 revealed = _subset(revealSeed, 6, 3);
        uint256 pid = _create(_config(address(0), verifier, 2 * reward, reward, 6));
        _register(pid, 6);
        _accept(pid, address(0), 0);
        _commit(pid, 6);
        _reveal(pid, 6, revealed);
        uint256[] memory statuses = new uint256[](6);
        uint256[] memory scores = new uint256[](6);
        for (uint256 i; i < 6; ++i) {
            if ((revealed >> i) & 1 == 0) continue;
            statuses[i] = statusSeeds[i] % 4;
            // Non-inliers may carry a score: it must be ignored.
            scores[i] = statuses[i] == 1 ? 0 : uint256(statusSeeds[i]) * 1e9;
        }
        _finalize(pid, _pack(statuses, scores, 6));
        (uint256 inliers, uint256 valid) = ZeroTotalSplit.counts(statuses, revealed);
        uint256 eligible = ZeroTotalSplit.eligibleCount(inliers, valid, _count(revealed));
        uint256 paid;
        for (uint256 i; i < 6; ++i) {
            uint256 credit = market.creditOf(address(0), trainers[i]);
            bool isEligible = (revealed >> i) & 1 == 1 && ZeroTotalSplit.eligible(statuses[i], inliers, valid);
            require(isEligible ? credit >= reward / eligible && credit <= reward / eligible + 1 : credit == 0, "equal part");
            paid += credit;
        }
        _eq(paid, reward, "whole reward paid");
        _eq(market.getProject(pid).budget, 0, "nothing back to the budget");
    }

    // ---------------------------------------------------------------------------------------------
    // Fee-on-transfer deposits
    // ---------------------------------------------------------------------------------------------

    /// @notice createProject and fundProject with a 1% fee-on-transfer token escrow exactly what
    ///         arrived, and the liabilities track the balance.
    /// hardhat-config: fuzz.runs = 1000
    function testFuzz_feeOnTransferDepositsCreditWhatArrived(uint256 budget, uint256 amount1, uint256 amount2) public {
        budget = _bound(budget, 0, 1e36);
        amount1 = _bound(amount1, 0, 1e36);
        amount2 = _bound(amount2, 0, 1e36);
        IFedMarket.ProjectConfig memory c = _config(address(fot), verifier, budget, 1, 6);
        uint256 before = fot.balanceOf(address(market));
        uint256 pid = _create(c);
        uint256 arrived = fot.balanceOf(address(market)) - before;
        _eq(arrived, budget - budget / 100, "create: arrived");
        _eq(market.getProject(pid).budget, arrived, "create: budget");

        _give(address(fot), funder, amount1);
        before = fot.balanceOf(address(market));
        vm.expectEmit(address(market));
        emit IFedMarket.ProjectFunded(pid, funder, amount1 - amount1 / 100);
        vm.prank(funder);
        market.fundProject(pid, amount1);
        _eq(fot.balanceOf(address(market)) - before, amount1 - amount1 / 100, "fund: arrived");
        _eq(market.getProject(pid).budget, arrived + amount1 - amount1 / 100, "fund: budget");

        // After the project is active too.
        _accept(pid, address(fot), 0);
        _give(address(fot), funder, amount2);
        vm.prank(funder);
        market.fundProject(pid, amount2);
        IFedMarket.ProjectView memory p = market.getProject(pid);
        uint256 total = arrived + amount1 - amount1 / 100 + amount2 - amount2 / 100;
        _eq(p.budget + p.roundReward, total, "budget + reserve == everything that arrived");
        _eq(market.totalLiabilities(address(fot)), fot.balanceOf(address(market)), "liabilities == balance");
        _eq(market.totalLiabilities(address(fot)), total, "liabilities == arrived");
    }

    /// @notice A bond or stake must arrive in full: with the 1% fee that fails from 100 units on
    ///         (InsufficientDeposit(required, received)), and succeeds below.
    /// hardhat-config: fuzz.runs = 500
    function testFuzz_feeOnTransferBondAndStakeMustArriveInFull(uint256 bond, uint256 stake) public {
        bond = _bound(bond, 0, 1e30);
        stake = _bound(stake, 0, 1e30);
        IFedMarket.ProjectConfig memory c = _config(address(fot), verifier, 1000, 100, 6);
        c.aggregatorBond = bond;
        c.trainerStake = stake;
        uint256 pid = _create(c);

        _give(address(fot), aggregator, bond);
        if (bond / 100 > 0) {
            vm.expectRevert(abi.encodeWithSelector(IFedMarket.InsufficientDeposit.selector, bond, bond - bond / 100));
        }
        vm.prank(aggregator);
        market.acceptAggregator(pid, SealKeys.base8(), bond, 0);
        if (bond / 100 == 0) _eq(market.getProject(pid).bondPosted, bond, "bond posted");

        _give(address(fot), trainers[0], stake);
        if (stake / 100 > 0) {
            vm.expectRevert(abi.encodeWithSelector(IFedMarket.InsufficientDeposit.selector, stake, stake - stake / 100));
        }
        vm.prank(trainers[0]);
        market.registerTrainer(pid, new bytes32[](0));
        (bool registered,, uint256 stored) = market.getTrainer(pid, trainers[0]);
        require(registered == (stake / 100 == 0), "registered iff the stake arrived in full");
        _eq(stored, stake / 100 == 0 ? stake : 0, "stake");
        _eq(market.totalLiabilities(address(fot)), fot.balanceOf(address(market)), "liabilities == balance");
    }

    // ---------------------------------------------------------------------------------------------
    // No double payment
    // ---------------------------------------------------------------------------------------------

    /// @notice After a finalized round (ETH or ERC-20), each trainer withdraws its share once; a
    ///         second withdrawal reverts with NothingToWithdraw, as does the owner's second
    ///         withdrawal of the refunded budget and a second stake release.
    /// hardhat-config: fuzz.runs = 500
    function testFuzz_noDoublePayment(uint256 reward, uint64[4] memory scores, bool useEth, uint256 stake) public {
        address token = useEth ? address(0) : address(tst);
        reward = _bound(reward, 1, 1e30);
        stake = _bound(stake, 0, 1e24);
        IFedMarket.ProjectConfig memory c = _config(token, verifier, reward + 7, reward, 6);
        c.numRounds = 1;
        c.trainerStake = stake;
        uint256 pid = _create(c);
        for (uint256 i; i < 4; ++i) _give(token, trainers[i], stake);
        // Register with the stake (ETH sent as value), before round 0 opens.
        for (uint256 i; i < 4; ++i) {
            vm.prank(trainers[i]);
            market.registerTrainer{value: useEth ? stake : 0}(pid, new bytes32[](0));
        }
        _accept(pid, token, 0);
        _submit(pid, 4);
        uint256[] memory statuses = new uint256[](4);
        uint256[] memory sc = new uint256[](4);
        for (uint256 i; i < 4; ++i) {
            statuses[i] = 1;
            sc[i] = scores[i];
        }
        _finalize(pid, _pack(statuses, sc, 6));
        require(market.getProject(pid).status == IFedMarket.ProjectStatus.Completed, "completed");

        for (uint256 i; i < 4; ++i) {
            address t = trainers[i];
            if (stake > 0) {
                vm.prank(t);
                market.releaseStake(pid);
            }
            vm.expectRevert(abi.encodeWithSelector(IFedMarket.NoStakeToRelease.selector, pid, t));
            vm.prank(t);
            market.releaseStake(pid);

            uint256 credit = market.creditOf(token, t);
            if (credit > 0) {
                uint256 balBefore = _balanceOf(token, t);
                vm.prank(t);
                market.withdraw(token);
                _eq(_balanceOf(token, t) - balBefore, credit, "withdrawn once");
            }
            vm.expectRevert(abi.encodeWithSelector(IFedMarket.NothingToWithdraw.selector, token, t));
            vm.prank(t);
            market.withdraw(token);
        }
        // The owner's refund (7 + the unpaid remainder) is paid once as well.
        uint256 ownerCredit = market.creditOf(token, owner);
        require(ownerCredit >= 7, "owner refund");
        vm.prank(owner);
        market.withdraw(token);
        vm.expectRevert(abi.encodeWithSelector(IFedMarket.NothingToWithdraw.selector, token, owner));
        vm.prank(owner);
        market.withdraw(token);
        _eq(market.totalLiabilities(token), 0, "everything paid out");
        _eq(_balanceOf(token, address(market)), 0, "market empty");
    }

    // ---------------------------------------------------------------------------------------------
    // Failed round: slash split
    // ---------------------------------------------------------------------------------------------

    /// @notice A failed round slashes min(slashAmount, bondPosted): floor(slashed / 2 / n) to each
    ///         of the n revealed submitters (any 3 to 6 of the 6 committed slots) and the rest to the
    ///         owner; the round reward is split equally among the revealed submitters (the first
    ///         reward % n in slot order one unit more); a committed but unrevealed slot gets nothing;
    ///         the rest of the bond returns to the aggregator and the appointment is cleared.
    /// hardhat-config: fuzz.runs = 500
    /// @dev The reward schedule (the core reference, `roundRewardSchedule`): round `r` reserves the
    ///      first reward decayed `r` times, rounded down at each step, or what is left of the budget;
    ///      a skipped round returns its reward and the next one still follows the schedule.
    function testFuzz_rewardDecaySchedule(uint256 reward, uint32 decay, uint256 budget) public {
        reward = _bound(reward, 0, type(uint256).max / 8);
        decay = uint32(_bound(decay, 1, 1e6));
        budget = _bound(budget, 0, 4 * reward);
        IFedMarket.ProjectConfig memory c = _config(address(tst), verifier, budget, reward, 6);
        c.rewardDecayPpm = decay;
        c.numRounds = 4;
        uint256 pid = _create(c);
        _accept(pid, address(tst), 0);
        uint256 next = reward;
        for (uint256 r; r < 3; ++r) {
            IFedMarket.ProjectView memory p = market.getProject(pid);
            uint256 reserved = next < budget ? next : budget;
            _eq(p.currentRound, r, "round");
            _eq(p.roundReward, reserved, "round r reserves min(schedule_r, budget)");
            _eq(p.budget, budget - reserved, "taken from the budget");
            next = Math.mulDiv(next, decay, 1e6);
            _eq(p.rewardPerRound, next, "the next round's reward");
            _eq(p.rewardDecayPpm, decay, "the decay is fixed");
            // Nobody commits: the round is skipped and its reward goes back to the budget.
            vm.warp(uint256(p.roundOpenedAt) + p.submissionWindow + p.revealWindow);
            market.skipRound(pid);
        }
    }

    /// @dev `createProject` refuses a decay of 0 (every later round would pay nothing) or above one.
    function testFuzz_rewardDecayBounds(uint32 decay) public {
        vm.assume(decay == 0 || decay > 1e6);
        IFedMarket.ProjectConfig memory c = _config(address(tst), verifier, 100, 10, 6);
        c.rewardDecayPpm = decay;
        _give(c.token, owner, c.budget);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IFedMarket.InvalidConfig.selector, "rewardDecayPpm"));
        market.createProject(c);
    }

    function testFuzz_failRoundSlashSplit(uint256 bond, uint256 slash, uint8 revealSeed, uint256 reward) public {
        bond = _bound(bond, 0, 1e30);
        slash = _bound(slash, 0, bond);
        reward = _bound(reward, 0, 1e30);
        uint256 revealed = _subset(revealSeed, 6, 3);
        uint256 subs = _count(revealed);
        IFedMarket.ProjectConfig memory c = _config(address(tst), verifier, 3 * reward, reward, 6);
        c.aggregatorBond = bond;
        c.slashAmount = slash;
        uint256 pid = _create(c);
        _register(pid, 6);
        _accept(pid, address(tst), bond);
        _commit(pid, 6);
        _reveal(pid, 6, revealed);
        IFedMarket.ProjectView memory p = market.getProject(pid);
        vm.warp(uint256(p.roundOpenedAt) + p.submissionWindow + p.revealWindow + p.aggregationWindow);
        market.failRound(pid);

        uint256 perTrainer = slash / 2 / subs;
        uint256 toTrainers;
        uint256 k;
        for (uint256 i; i < 6; ++i) {
            if ((revealed >> i) & 1 == 0) {
                _eq(market.creditOf(address(tst), trainers[i]), 0, "an unrevealed slot gets nothing");
                continue;
            }
            uint256 rewardPart = reward / subs + (k < reward % subs ? 1 : 0);
            ++k;
            _eq(market.creditOf(address(tst), trainers[i]), perTrainer + rewardPart, "per trainer");
            toTrainers += perTrainer + rewardPart;
        }
        _eq(toTrainers, perTrainer * subs + reward, "the whole reward goes to the submitters");
        _eq(market.creditOf(address(tst), owner), slash - perTrainer * subs, "owner gets the rest of the slash");
        _eq(market.creditOf(address(tst), aggregator), bond - slash, "the rest of the bond returns");
        IFedMarket.ProjectView memory q = market.getProject(pid);
        _eq(q.bondPosted, 0, "no bond held");
        require(q.aggregator == address(0), "appointment cleared");
        _eq(q.budget, 2 * reward, "reward not back to budget");
        require(q.status == IFedMarket.ProjectStatus.AwaitingAggregator, "awaits an aggregator");
        _eq(market.totalLiabilities(address(tst)), tst.balanceOf(address(market)), "liabilities == balance");
    }

    // ---------------------------------------------------------------------------------------------
    // Cancellation below quorum and refunds
    // ---------------------------------------------------------------------------------------------

    /// @notice Cancelling with 1 to 6 commitments in the open round, fewer than the quorum of 3
    ///         revealed (in the commit window, or in the reveal window with any subset of at most 2
    ///         revealed), credits its whole reward to the trainers that committed (equal parts
    ///         within one unit, in slot order, revealed or not) and only the rest of the budget to
    ///         the owner; with no commitment the owner gets everything back.
    /// hardhat-config: fuzz.runs = 300
    function testFuzz_cancelBelowQuorumPaysTheSubmitters(uint256 reward, uint256 extra, uint8 n, uint8 revealSeed) public {
        reward = _bound(reward, 0, 1e30);
        extra = _bound(extra, 0, 1e30);
        IFedMarket.ProjectConfig memory c = _config(address(tst), verifier, reward + extra, reward, 6);
        c.params.byzantineTolerance = 1; // quorum 3 revealed (6 >= 2f + 3 slots)
        uint256 pid = _create(c);
        _register(pid, 6);
        _accept(pid, address(tst), 0);
        uint256 subs = _bound(n, 0, 6);
        if (subs > 0) _commit(pid, subs);
        // Reveal a subset of at most 2 (one time in four, none: cancel in the commit window).
        uint256 revealed = revealSeed % 4 == 0 ? 0 : (revealSeed >> 2) & ((1 << subs) - 1);
        while (_count(revealed) > 2) revealed &= revealed - 1; // drop the lowest slot
        if (revealSeed % 4 != 0) _reveal(pid, subs, revealed);
        _eq(market.getCurrentRound(pid).submissions, _count(revealed), "revealed");
        vm.prank(owner);
        market.cancelProject(pid);
        uint256 paid;
        for (uint256 i; i < 6; ++i) {
            uint256 credit = market.creditOf(address(tst), trainers[i]);
            _eq(credit, i < subs ? reward / subs + (i < reward % subs ? 1 : 0) : 0, "equal part");
            paid += credit;
        }
        _eq(market.creditOf(address(tst), owner), subs == 0 ? reward + extra : extra, "owner refund");
        _eq(paid, subs == 0 ? 0 : reward, "committers paid");
        _eq(market.totalLiabilities(address(tst)), tst.balanceOf(address(market)), "liabilities == balance");
    }

    /// @notice Up to four third-party funders with random deposits, a partly spent budget, then
    ///         cancellation: the owner's refund and the funders' claims (in a random order) add up
    ///         to the unspent budget exactly, and each funder gets at least its pro-rata share
    ///         rounded down, and at most one unit more per earlier claimant.
    /// hardhat-config: fuzz.runs = 300
    function testFuzz_refundsProRata(uint256 budget, uint256[4] memory deposits, uint8 order, bool spend) public {
        budget = _bound(budget, 0, 1e30);
        uint256 reward = budget / 3;
        IFedMarket.ProjectConfig memory c = _config(address(tst), verifier, budget, reward, 6);
        c.numRounds = 3;
        uint256 pid = _create(c);
        uint256 total = budget;
        address[4] memory funders;
        for (uint256 i; i < 4; ++i) {
            funders[i] = _actor(string.concat("funder", _str(i)));
            deposits[i] = _bound(deposits[i], 1, 1e30);
            _give(address(tst), funders[i], deposits[i]);
            vm.startPrank(funders[i]);
            tst.approve(address(market), deposits[i]);
            market.fundProject(pid, deposits[i]);
            vm.stopPrank();
            total += deposits[i];
        }
        _register(pid, 3);
        _accept(pid, address(tst), 0);
        uint256 spent;
        if (spend) {
            // Round 0 pays all of its reward (equal scores), then round 1 opens with nobody in it.
            _submit(pid, 3);
            uint256[] memory statuses = new uint256[](3);
            uint256[] memory scores = new uint256[](3);
            for (uint256 i; i < 3; ++i) (statuses[i], scores[i]) = (1, 1);
            _finalize(pid, _pack(statuses, scores, 6));
            spent = reward / 3 * 3; // a third each; the rounding remainder went back to the budget
        }
        vm.prank(owner);
        market.cancelProject(pid);
        uint256 refund = total - spent;
        uint256 deposited = total - budget;
        uint256 pool = Math.mulDiv(refund, deposited, total);
        _eq(market.creditOf(address(tst), owner), refund - pool, "owner refund");
        uint256 claimed;
        for (uint256 k; k < 4; ++k) {
            uint256 i = (k + order) % 4;
            vm.prank(funders[i]);
            market.claimRefund(pid);
            uint256 got = market.creditOf(address(tst), funders[i]);
            uint256 fair = Math.mulDiv(pool, deposits[i], deposited);
            require(got >= fair && got <= fair + k, "pro-rata share");
            claimed += got;
        }
        _eq(claimed, pool, "the funders get the whole pool");
        _eq(market.getProject(pid).refundPool, 0, "pool emptied");
        _eq(market.totalLiabilities(address(tst)), tst.balanceOf(address(market)), "liabilities == balance");
    }

    // ---------------------------------------------------------------------------------------------
    // Next-round hyper-parameters
    // ---------------------------------------------------------------------------------------------

    /// @notice Random next hyper-parameters: finalization accepts them exactly when every field is
    ///         within the project's bounds (then the next round carries them); otherwise it reverts
    ///         naming the first field out of bounds, and nothing changes.
    /// hardhat-config: fuzz.runs = 300
    function testFuzz_nextHyperParamsWithinBounds(uint32 lr, uint16 epochs, uint16 batch) public {
        // Mostly values near the bounds [1000, 100000] x [1, 5] x [16, 128].
        lr = lr % 2 == 0 ? uint32(_bound(lr, 0, 110_000)) : lr;
        epochs = uint16(_bound(epochs, 0, 7));
        batch = batch % 2 == 0 ? uint16(_bound(batch, 0, 140)) : batch;
        IFedMarket.ProjectConfig memory c = _config(address(0), verifier, 3, 1, 6);
        uint256 pid = _create(c);
        _register(pid, 3);
        _accept(pid, address(0), 0);
        _submit(pid, 3);
        IFedMarket.HyperParams memory next = IFedMarket.HyperParams({learningRateMicros: lr, localEpochs: epochs, batchSize: batch});
        IFedMarket.HyperParams memory lo = c.minHyperParams;
        IFedMarket.HyperParams memory hi = c.maxHyperParams;
        bytes memory expected;
        if (lr < lo.learningRateMicros || lr > hi.learningRateMicros) {
            expected = _outOfBounds("learningRateMicros", lr, lo.learningRateMicros, hi.learningRateMicros);
        } else if (epochs < lo.localEpochs || epochs > hi.localEpochs) {
            expected = _outOfBounds("localEpochs", epochs, lo.localEpochs, hi.localEpochs);
        } else if (batch < lo.batchSize || batch > hi.batchSize) {
            expected = _outOfBounds("batchSize", batch, lo.batchSize, hi.batchSize);
        }
        _finalizeWith(pid, _pack(new uint256[](3), new uint256[](3), 6), next, expected);
        IFedMarket.RoundView memory r = market.getCurrentRound(pid);
        bool inside = lr >= lo.learningRateMicros && lr <= hi.learningRateMicros && epochs >= lo.localEpochs
            && epochs <= hi.localEpochs && batch >= lo.batchSize && batch <= hi.batchSize;
        IFedMarket.HyperParams memory want = inside ? next : c.initialHyperParams;
        _eq(r.round, inside ? 1 : 0, "round");
        _eq(r.hyperParams.learningRateMicros, want.learningRateMicros, "learningRateMicros");
        _eq(r.hyperParams.localEpochs, want.localEpochs, "localEpochs");
        _eq(r.hyperParams.batchSize, want.batchSize, "batchSize");
    }

    // ---------------------------------------------------------------------------------------------
    // Seal key
    // ---------------------------------------------------------------------------------------------

    /// @notice Keys near valid ones and random ones: the acceptance goes through exactly when both
    ///         coordinates are below the field, the point is on BabyJubJub and it is not the
    ///         identity; then the key is stored and bound into the decision inputs at 4 and 5.
    ///         Otherwise it reverts with `InvalidSealKey` and nothing changes.
    /// hardhat-config: fuzz.runs = 300
    function testFuzz_sealKeyValidation(uint256 a, uint256 b, uint8 mode) public {
        uint256[2] memory key = SealKeys.at(a);
        uint256 i = (b >> 128) % 2; // the coordinate to change
        if (mode % 5 == 0) {
            key = [a, b]; // random: off the curve but for a negligible fraction
        } else if (mode % 5 == 1) {
            key[i] += FIELD * _bound(b, 1, 4); // the same point with a coordinate >= r (5r < 2^256)
        } else if (mode % 5 == 2) {
            key[i] = addmod(key[i], _bound(b, 1, FIELD - 1), FIELD); // on the curve only for -x, -y
        } else if (mode % 5 == 3) {
            // The identity (0, 1), refused, or (0, -1), the point of order 2: on the curve, accepted
            // (subgroup membership is the decision proof's to check).
            key = [uint256(0), b % 2 == 0 ? 1 : FIELD - 1];
        } // else: a valid key unchanged
        bool valid = key[0] < FIELD && key[1] < FIELD && !(key[0] == 0 && key[1] == 1) && _onBabyJubJub(key[0], key[1]);

        IFedMarket.ProjectConfig memory c = _config(address(0), verifier, 3, 1, 6);
        uint256 pid = _create(c);
        vm.prank(aggregator);
        if (!valid) vm.expectRevert(IFedMarket.InvalidSealKey.selector);
        market.acceptAggregator(pid, key, 0, 0);
        IFedMarket.ProjectView memory p = market.getProject(pid);
        _eq(uint256(p.status), uint256(valid ? IFedMarket.ProjectStatus.Active : IFedMarket.ProjectStatus.AwaitingAggregator), "status");
        _eq(p.aggregatorSealKey[0], valid ? key[0] : 0, "stored x");
        _eq(p.aggregatorSealKey[1], valid ? key[1] : 0, "stored y");
        if (valid) {
            uint256[] memory inputs = market.decisionPublicInputs(pid, 1, new uint256[](2));
            _eq(inputs.length, verifier.decisionInputCount(), "input count");
            _eq(inputs[4], key[0], "input 4 = x");
            _eq(inputs[5], key[1], "input 5 = y");
        }
    }

    /// @dev The curve equation rearranged (`x^2 (a - d y^2) = 1 - y^2`), an independent statement
    ///      of the contract's check. Inputs below the field.
    function _onBabyJubJub(uint256 x, uint256 y) internal pure returns (bool) {
        uint256 yy = mulmod(y, y, FIELD);
        uint256 factor = addmod(168700, FIELD - mulmod(168696, yy, FIELD), FIELD);
        return mulmod(mulmod(x, x, FIELD), factor, FIELD) == addmod(1, FIELD - yy, FIELD);
    }

    function _outOfBounds(string memory field, uint256 value, uint256 min, uint256 max) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IFedMarket.HyperParamOutOfBounds.selector, field, value, min, max);
    }

    function _balanceOf(address token, address who) internal view returns (uint256) {
        return token == address(0) ? who.balance : TestToken(token).balanceOf(who);
    }
}

/// @title FedMarketOutcomeDecodingFuzzTest
/// @notice Decoding of packed outcomes for every slot position: a 64-slot verifier (the contract's
///         maximum), 64 submissions, 22 random outcome words; the ContributionRecorded event of each
///         slot must carry `status = bits [66i, 66i+2)` and `score = bits [66i+2, 66i+66)` of word
///         `slot / 3` (i = slot % 3), and the credits must follow the decoded values. Bits above 198
///         in each word are ignored.
contract FedMarketOutcomeDecodingFuzzTest is FuzzBase {
    uint256 internal constant SLOTS = 64;
    uint256 internal constant WORDS = 22;
    uint256 internal constant REWARD = 1e30;

    MockRoundVerifier internal verifier;
    uint256 internal pid;

    function setUp() public {
        _deploy(SLOTS);
        verifier = new MockRoundVerifier(SLOTS, CHUNK);
        IFedMarket.ProjectConfig memory c = _config(address(tst), verifier, REWARD, REWARD, uint32(SLOTS));
        c.numRounds = 1;
        pid = _create(c);
        _register(pid, SLOTS);
        _accept(pid, address(tst), 0);
        _submit(pid, SLOTS);
    }

    /// hardhat-config: fuzz.runs = 300
    function testFuzz_outcomeDecodingAllSlots(uint256[WORDS] memory raw) public {
        uint256[] memory words = new uint256[](WORDS);
        for (uint256 w; w < WORDS; ++w) words[w] = raw[w];
        vm.recordLogs();
        _finalize(pid, words);
        Vm.Log[] memory logs = vm.getRecordedLogs();

        uint256[] memory statuses = new uint256[](SLOTS);
        uint256[] memory scores = new uint256[](SLOTS);
        for (uint256 slot; slot < SLOTS; ++slot) {
            // Independent decoding: shift the word by the slot's bit offset, then split.
            uint256 bits = words[slot / 3] >> (66 * (slot % 3));
            statuses[slot] = bits & 3;
            scores[slot] = (bits >> 2) & type(uint64).max;
        }
        uint256[] memory shares = _expectedShares(REWARD, statuses, scores, type(uint256).max);
        uint256 seen;
        for (uint256 k; k < logs.length; ++k) {
            if (logs[k].emitter != address(market) || logs[k].topics[0] != CONTRIBUTION_RECORDED) continue;
            (uint256 slot, uint8 status, uint256 score, uint256 reward) =
                abi.decode(logs[k].data, (uint256, uint8, uint256, uint256));
            _eq(slot, seen, "slot order");
            _eq(uint256(logs[k].topics[3]), uint256(uint160(trainers[slot])), "slot trainer");
            _eq(status, statuses[slot], string.concat("status of slot ", _str(slot)));
            _eq(score, scores[slot], string.concat("score of slot ", _str(slot)));
            uint256 expected = shares[slot];
            _eq(reward, expected, string.concat("reward of slot ", _str(slot)));
            _eq(market.creditOf(address(tst), trainers[slot]), expected, string.concat("credit of slot ", _str(slot)));
            ++seen;
        }
        _eq(seen, SLOTS, "one ContributionRecorded per slot");
    }
}
