// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IFedMarket} from "../../interfaces/IFedMarket.sol";

/// @title ReentrantTrainer
/// @notice A malicious trainer contract for the attack tests. When it receives ETH from
///         `withdraw`, its `receive()` re-enters the market:
///         - `Mode.Bubble`: calls `withdraw(ETH)` again and lets a failure bubble up (so the outer
///           withdrawal reverts: the market must keep the credit);
///         - `Mode.TryAll`: tries `withdraw` and every other state-changing market function,
///           swallowing failures and counting successes (so the outer withdrawal completes: the
///           market must have paid exactly once and rejected every re-entrant call);
///         - `Mode.Revert`: simply refuses ETH.
contract ReentrantTrainer {
    enum Mode {
        None,
        Bubble,
        TryAll,
        Revert
    }

    IFedMarket public immutable market;
    Mode public mode;
    uint256 public projectId;
    uint256 public received;
    uint256 public reentryAttempts;
    uint256 public reentrySuccesses;
    /// @notice The revert data of every failed re-entrant call, in order.
    bytes[] public reentryErrors;

    string public constant CID = "bafkreiattackerupdate";

    error Refused();

    constructor(IFedMarket market_) {
        market = market_;
    }

    function setMode(Mode mode_, uint256 projectId_) external {
        mode = mode_;
        projectId = projectId_;
    }

    function register(uint256 projectId_) external payable {
        market.registerTrainer{value: msg.value}(projectId_, new bytes32[](0));
    }

    /// @notice Commits to `commitment` (with `CID`) in the open round; `reveal` opens it later.
    function commit(uint256 projectId_, uint256 round, uint256 commitment) external {
        market.commitUpdate(projectId_, round, market.sealedCommitment(projectId_, round, address(this), commitment, CID));
    }

    function reveal(uint256 projectId_, uint256 round, uint256 commitment) external {
        market.revealUpdate(projectId_, round, commitment, CID);
    }

    function withdraw(address token) external {
        market.withdraw(token);
    }

    function releaseStake(uint256 projectId_) external {
        market.releaseStake(projectId_);
    }

    function reentryErrorCount() external view returns (uint256) {
        return reentryErrors.length;
    }

    receive() external payable {
        received += msg.value;
        Mode m = mode;
        if (m == Mode.Bubble) {
            ++reentryAttempts;
            market.withdraw(address(0));
            ++reentrySuccesses;
        } else if (m == Mode.TryAll) {
            uint256 pid = projectId;
            uint256 round = market.getCurrentRound(pid).round;
            _try(abi.encodeCall(IFedMarket.withdraw, (address(0))));
            _try(abi.encodeCall(IFedMarket.releaseStake, (pid)));
            _try(abi.encodeCall(IFedMarket.drawSeed, (pid)));
            _try(abi.encodeCall(IFedMarket.commitUpdate, (pid, round, bytes32(uint256(1)))));
            _try(abi.encodeCall(IFedMarket.revealUpdate, (pid, round, 1, "bafkreireentrant")));
            _try(abi.encodeCall(IFedMarket.registerTrainer, (pid, new bytes32[](0))));
            _try(abi.encodeCall(IFedMarket.fundProject, (pid, 0)));
            _try(abi.encodeCall(IFedMarket.skipRound, (pid)));
            _try(abi.encodeCall(IFedMarket.failRound, (pid)));
            _try(abi.encodeCall(IFedMarket.cancelProject, (pid)));
            _try(abi.encodeCall(IFedMarket.acceptAggregator, (pid, [uint256(0), uint256(0)], 0, 0)));
            _try(abi.encodeCall(IFedMarket.expireProject, (pid)));
            _try(abi.encodeCall(IFedMarket.claimRefund, (pid)));
        } else if (m == Mode.Revert) {
            revert Refused();
        }
    }

    function _try(bytes memory data) internal {
        ++reentryAttempts;
        (bool ok, bytes memory ret) = address(market).call(data);
        if (ok) ++reentrySuccesses;
        else reentryErrors.push(ret);
    }
}
