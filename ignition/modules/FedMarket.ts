import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

/**
 * Deploys the marketplace. Round verifiers are per circuit configuration and are deployed by
 * `ignition/modules/RoundVerifier.ts`; a project names its verifier when it is created.
 *
 *   npx hardhat ignition deploy ignition/modules/FedMarket.ts --network localhost
 *   FEDMARKET_RPC_URL=... FEDMARKET_PRIVATE_KEY=... npx hardhat ignition deploy ignition/modules/FedMarket.ts --network testnet
 */
export default buildModule("FedMarket", (m) => {
  const market = m.contract("FedMarket");
  return { market };
});
