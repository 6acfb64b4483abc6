// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title ZeroTotalSplit
/// @notice The test suites' one statement of who shares a round whose inliers all score 0 (an
///         independent restatement of `FedMarket._payEqually`, written once for the fuzz tests and
///         the invariant handler): the revealed inliers if any, else the revealed valid slots (not
///         aggregated: the rule judged nobody), else every revealed slot. Statuses are the outcome
///         codes: 0 empty, 1 inlier, 2 not aggregated, 3 excluded.
library ZeroTotalSplit {
    /// @dev Inliers and valid (inlier or not aggregated) slots among the revealed ones (bit `i` of
    ///      `revealed` = slot `i`).
    function counts(uint256[] memory statuses, uint256 revealed) internal pure returns (uint256 inliers, uint256 valid) {
        for (uint256 i; i < statuses.length; ++i) {
            if ((revealed >> i) & 1 == 0) continue;
            if (statuses[i] == 1) ++inliers;
            if (statuses[i] == 1 || statuses[i] == 2) ++valid;
        }
    }

    /// @dev How many slots share the reward: `submissions` is the number of revealed slots.
    function eligibleCount(uint256 inliers, uint256 valid, uint256 submissions) internal pure returns (uint256) {
        return inliers != 0 ? inliers : valid != 0 ? valid : submissions;
    }

    /// @dev Whether a revealed slot of `status` takes part in the split.
    function eligible(uint256 status, uint256 inliers, uint256 valid) internal pure returns (bool) {
        if (inliers != 0) return status == 1;
        if (valid != 0) return status == 2;
        return true;
    }
}
