/**
 * The main job (for now): deploy the marketplace with Ignition to the in-process Hardhat network
 * and print the addresses. Later milestones grow this into the end-to-end demo.
 *
 *   npm run main
 */
import { network } from "hardhat";

import FedMarketModule from "../ignition/modules/FedMarket.js";
import RoundVerifierModule from "../ignition/modules/RoundVerifier.js";

const connection = await network.create();
const { market } = await connection.ignition.deploy(FedMarketModule);
const { roundVerifier } = await connection.ignition.deploy(RoundVerifierModule);
const { chainId } = await connection.ethers.provider.getNetwork();

const rows: Array<[string, string]> = [
  ["network", `${connection.networkName} (chain id ${chainId})`],
  ["FedMarket", await market.getAddress()],
  ["Groth16RoundVerifier (K=4, CHUNK=16)", await roundVerifier.getAddress()],
];
for (const [name, value] of rows) console.log(`${name.padEnd(38)}${value}`);
