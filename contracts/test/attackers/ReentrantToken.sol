// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title ReentrantToken
/// @notice A malicious ERC-20 for the attack tests: once armed, its `transferFrom` first calls the
///         market with an arbitrary payload (as the token contract itself), then transfers. The
///         classic use is to re-enter `fundProject` while `createProject` measures its balance
///         delta, so that one deposit would be counted twice. With `bubble` set, a failed
///         re-entrant call makes the whole `transferFrom` revert with the same error.
contract ReentrantToken is ERC20 {
    address public immutable market;
    bytes public payload;
    bool public armed;
    bool public bubble;
    uint256 public reentryAttempts;
    uint256 public reentrySuccesses;
    bytes public lastReentryError;

    constructor(address market_) ERC20("Reentrant Token", "REE") {
        market = market_;
        // The token funds its own re-entrant deposits.
        _approve(address(this), market_, type(uint256).max);
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function arm(bytes calldata payload_, bool bubble_) external {
        payload = payload_;
        bubble = bubble_;
        armed = true;
    }

    function transferFrom(address from, address to, uint256 value) public override returns (bool) {
        if (armed) {
            armed = false; // one shot: the re-entrant call may itself pull tokens
            ++reentryAttempts;
            (bool ok, bytes memory ret) = market.call(payload);
            if (ok) {
                ++reentrySuccesses;
            } else {
                lastReentryError = ret;
                if (bubble) {
                    assembly ("memory-safe") {
                        revert(add(ret, 32), mload(ret))
                    }
                }
            }
        }
        return super.transferFrom(from, to, value);
    }
}
