import { createRequire } from "node:module";
import hardhatToolboxMochaEthers from "@nomicfoundation/hardhat-toolbox-mocha-ethers";
import { configVariable, defineConfig } from "hardhat/config";

const require = createRequire(import.meta.url);

/**
 * Hardhat's compiler download host is unreachable on our machines, so we compile
 * with the `solc` npm package's WASM build. Keep SOLC_VERSION equal to the
 * version pinned in package.json.
 */
const SOLC_VERSION = "0.8.30";
const solcJsPath: string = require.resolve("solc/soljson.js");

/**
 * FedMarket must stay under EIP-170's 24,576 bytes of deployed code: optimizer runs 100 (not 200) is
 * part of what keeps it there (see scripts/gas.ts for what the hot path costs).
 */
const compiler = {
  version: SOLC_VERSION,
  path: solcJsPath,
  settings: { optimizer: { enabled: true, runs: 100 }, evmVersion: "cancun", viaIR: true },
};

/**
 * poseidon-solidity's Poseidon libraries, deployed once and called by Groth16RoundVerifier to check
 * published sealed updates (artifacts in artifacts/poseidon-solidity/). They are hand-written
 * assembly that reads its inputs at memory 0x80, where only the legacy pipeline puts them: they are
 * compiled without viaIR.
 */
const POSEIDON_FILES = [2, 3, 4, 5, 6].map((n) => `poseidon-solidity/PoseidonT${n}.sol`);
const poseidonCompiler = {
  version: SOLC_VERSION,
  path: solcJsPath,
  settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: "cancun" },
};
const poseidonOverrides = Object.fromEntries(POSEIDON_FILES.map((file) => [file, poseidonCompiler]));

/** A testnet is reached through env vars only: FEDMARKET_RPC_URL and FEDMARKET_PRIVATE_KEY. */
const testnetUrl = process.env.FEDMARKET_RPC_URL;

export default defineConfig({
  plugins: [hardhatToolboxMochaEthers],
  solidity: {
    profiles: {
      default: { compilers: [compiler], overrides: poseidonOverrides },
      production: { compilers: [compiler], overrides: poseidonOverrides },
    },
    npmFilesToBuild: POSEIDON_FILES,
  },
  test: {
    solidity: {
      // `deep` runs the invariant campaign at full length (npm run test:invariants:deep); npm test runs `default`.
      profiles: { default: {}, deep: {} },
    },
  },
  paths: {
    sources: "./contracts",
    tests: { mocha: "./test", solidity: "./contracts/test" },
  },
  networks: {
    hardhatMainnet: { type: "edr-simulated", chainType: "l1" },
    localhost: { type: "http", chainType: "l1", url: "http://127.0.0.1:8545" },
    ...(testnetUrl === undefined
      ? {}
      : {
          testnet: {
            type: "http" as const,
            chainType: "l1" as const,
            url: testnetUrl,
            accounts: [configVariable("FEDMARKET_PRIVATE_KEY")],
          },
        }),
  },
});
