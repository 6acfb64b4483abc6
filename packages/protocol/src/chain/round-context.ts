/**
 * The chain half of a round's context word: `uint256(keccak256(abi.encode(chainId, market,
 * projectId, round, paramsHash)))`, exactly as `FedMarket.roundContext` computes it before
 * reducing it into the field (@fedmarket/core `computeCtx`). It binds every proof to one round of
 * one project on one deployment; the aggregator, the audit and the tests all derive it here.
 */
import { AbiCoder, keccak256 } from "ethers";

/** `uint256(keccak256(abi.encode(chainId, market, projectId, round, paramsHash)))`. */
export function roundKeccak(chainId: bigint, market: string, projectId: bigint, round: number, paramsHash: string): bigint {
  return BigInt(
    keccak256(
      AbiCoder.defaultAbiCoder().encode(
        ["uint256", "address", "uint256", "uint256", "bytes32"],
        [chainId, market, projectId, round, paramsHash],
      ),
    ),
  );
}

/**
 * What a trainer seals in `commitUpdate` (`FedMarket.sealedCommitment`):
 * `keccak256(abi.encode(chainId, market, projectId, round, trainer, commitment, keccak256(bytes(cid))))`.
 * It hides the commitment and the CID until the reveal and opens only for `trainer`.
 */
export function sealedCommitment(
  chainId: bigint,
  market: string,
  projectId: bigint,
  round: number,
  trainer: string,
  commitment: bigint,
  cid: string,
): string {
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(
      ["uint256", "address", "uint256", "uint256", "address", "uint256", "bytes32"],
      [chainId, market, projectId, round, trainer, commitment, keccak256(Buffer.from(cid, "utf8"))],
    ),
  );
}
