/**
 * Node options for the step tests that run against a stand-in chain client: no signer, no blob
 * store (the steps under test never reach them), the account `ME` on chain 31337.
 */
import type { Signer } from "ethers";
import type { BlobStore, FedMarketClient, NodeLogger } from "@fedmarket/protocol";
import type { StateStore } from "../../src/node/state.ts";
import type { TrainerNodeOptions } from "../../src/node/types.ts";

/** The trainer account of these tests. */
export const ME = `0x${"aa".repeat(20)}`;

/** `TrainerNodeOptions` around a stand-in `client`, with `extra` on top. */
export function standInOptions(
  client: FedMarketClient,
  state: StateStore,
  logger: NodeLogger,
  extra: Partial<TrainerNodeOptions> = {},
): TrainerNodeOptions {
  return {
    client,
    signer: {} as Signer,
    address: ME,
    chainId: 31337n,
    store: {} as BlobStore,
    storeName: "none",
    state,
    logger,
    ...extra,
  };
}
