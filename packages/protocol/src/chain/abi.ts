/** The exported ABIs (src/abi/*.json, written by scripts/export-abi.ts) and the market's Interface. */
import { createRequire } from "node:module";
import { Interface, type InterfaceAbi } from "ethers";

const require = createRequire(import.meta.url);
/** The FedMarket ABI (from the Hardhat artifact). */
export const FEDMARKET_ABI = require("../abi/FedMarket.json") as InterfaceAbi;
/** The IRoundVerifier ABI. */
export const ROUND_VERIFIER_ABI = require("../abi/IRoundVerifier.json") as InterfaceAbi;
export const fedMarketInterface = new Interface(FEDMARKET_ABI);
