// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title SealKeys
/// @notice Valid aggregator seal keys for the Solidity tests: small multiples `k * Base8` of
///         BabyJubJub's subgroup generator (EIP-2494), as `[x, y]`. Computed off chain
///         (`publicKeyOf(k)` in packages/core `cipher.ts`); the market only checks that a key is on
///         the curve and not the identity.
library SealKeys {
    /// @dev Number of distinct keys `at` cycles through.
    uint256 internal constant COUNT = 4;

    /// @dev `Base8`, the key of the secret scalar 1.
    function base8() internal pure returns (uint256[2] memory) {
        return [
            5299619240641551281634865583518297030282874472190772894086521144482721001553,
            16950150798460657717958625567821834550301663161624707787222815936182638968203
        ];
    }

    /// @dev Key `i % COUNT` of `[1, 2, 3, 5] * Base8`.
    function at(uint256 i) internal pure returns (uint256[2] memory) {
        uint256 j = i % COUNT;
        if (j == 0) return base8();
        if (j == 1) {
            return [
                10031262171927540148667355526369034398030886437092045105752248699557385197826,
                633281375905621697187330766174974863687049529291089048651929454608812697683
            ];
        }
        if (j == 2) {
            return [
                2763488322167937039616325905516046217694264098671987087929565332380420898366,
                15305195750036305661220525648961313310481046260814497672243197092298550508693
            ];
        }
        return [
            11480966271046430430613841218147196773252373073876138147006741179837832100836,
            15148236048131954717802795400425086368006776860859772698778589175317365693546
        ];
    }
}
