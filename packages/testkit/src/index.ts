/**
 * @fedmarket/testkit: fedmarket's development kit. Private: no production package depends on it.
 *
 * - chain/: a local `hardhat node`, the Hardhat dev accounts, demo projects on the mock verifier
 * - data/: MNIST partitions (Dirichlet non-IID, stratified hold-out), synthetic data
 * - attacks/: attack modes as pure transformations and as wrappers around the honest update producer
 * - demo/: the one-command end-to-end demo (`npm run demo`)
 * - bench/: the trainer, training, robustness and round benchmarks
 */
export * from "./chain/local-chain.ts";
export * from "./chain/demo-project.ts";
export * from "./data/mnist-partitions.ts";
export * from "./data/synthetic-data.ts";
export * from "./attacks/attacks.ts";
export * from "./attacks/producers.ts";
export * from "./demo/demo-data.ts";
export * from "./demo/demo-report.ts";
export * from "./demo/run-demo.ts";
