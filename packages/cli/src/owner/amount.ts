/**
 * How the `fedmarket` commands print an amount: in whole units with the base units in parentheses,
 * `1.5 ETH (1500000000000000000 wei)`, so that an operator reads the size and can still copy the
 * exact value the contract holds.
 */
import { formatUnits, ZeroAddress } from "ethers";

/** The unit an amount is printed in: ETH (18 decimals, wei) or an ERC-20 token. */
export interface AmountUnit {
  readonly decimals: number;
  readonly symbol: string;
  readonly base: string;
}

export const ETH_UNIT: AmountUnit = { decimals: 18, symbol: "ETH", base: "wei" };

/** ETH for the zero address, else `token 0x1234…abcd` in base units with `decimals`. */
export function unitOf(token: string, decimals: number): AmountUnit {
  if (token === ZeroAddress) return ETH_UNIT;
  return { decimals, symbol: `token ${token.slice(0, 6)}…${token.slice(-4)}`, base: "base units" };
}

/** `1.5 ETH (1500000000000000000 wei)`; `0 ETH (0 wei)`; `2 token 0xA0b8…eB48 (2000000 base units)`. */
export function formatAmount(value: bigint, unit: AmountUnit = ETH_UNIT): string {
  const whole = formatUnits(value, unit.decimals).replace(/\.0$/, "");
  return `${whole} ${unit.symbol} (${value.toString()} ${unit.base})`;
}
