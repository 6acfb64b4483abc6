/**
 * The main job (for now): deploy the marketplace with Ignition to the in-process Hardhat network
 * and print the addresses. Later milestones grow this into the end-to-end demo.
 *
 *   npm run main
 */
import { network } from "hardhat";

import FedMarketModule from "../ignition/modules/FedMarket.js";

const connection = await network.create();
const { market } = await connection.ignition.deploy(FedMarketModule);
const { chainId } = await connection.ethers.provider.getNetwork();

console.log(`network   ${connection.networkName} (chain id ${chainId})`);
console.log(`FedMarket ${await market.getAddress()}`);
