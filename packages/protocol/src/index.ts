/**
 * @fedmarket/protocol: what fedmarket's nodes (trainer, aggregator) and auditors exchange.
 *
 * - model-spec.ts: the `fedmarket-model-spec/1` format (architecture, training, quantization, circuit)
 * - weights-format.ts: the checksummed `.fmw` weights file (global models, deltas)
 * - frozen-weights.ts: fetching a spec's frozen backbone weights (`frozenWeights`)
 * - global-model.ts: global model <-> on-chain commitment; spec <-> chain parameters
 * - hyper-params.ts: per-round hyper-parameters (spec bounds -> chain, decay, training overrides)
 * - sealed-update.ts: the `FMSU` sealed update a trainer pins (ciphertext, ephemeral key, owner wrap)
 * - reference.ts: the `fedmarket-reference/1` blob opening an owner's reference commitment
 * - groth16.ts: Groth16 proofs <-> the eight uint256 calldata words; releasing snarkjs's curve threads
 * - envelope.ts: multi-recipient X25519 + XChaCha20-Poly1305 encryption (`FMEV`)
 * - update-codec.ts: sealing an update, opening it with the aggregator's or the owner's key (or the
 *   typed reason it cannot be used)
 * - storage/: BlobStore on embedded Helia (offline, on disk) or a Kubo node
 * - node/: what the nodes share at run time (runtime.ts: providers, pending-tx wait, abortable sleep,
 *   blob-fetch defaults, the `NodeError` base; log.ts; atomic-file.ts; cli.ts: the CLIs' shared
 *   conventions: `--version`, short usage on argument errors, exit codes; outage.ts: how the `run`
 *   loops ride out RPC and IPFS outages, capped backoff and the drop/restore log lines; deadline-watch.ts:
 *   the heartbeat of a wait for a deadline and the warning when chain time stands still)
 * - chain/: typed FedMarket client (ethers v6), bounded event queries, retries, error messages
 * - abi/: the FedMarket and IRoundVerifier ABIs (exported by scripts/export-abi.ts)
 */
export * from "./model-spec.ts";
export * from "./weights-format.ts";
export * from "./frozen-weights.ts";
export * from "./global-model.ts";
export * from "./hyper-params.ts";
export * from "./sealed-update.ts";
export * from "./envelope.ts";
export * from "./update-codec.ts";
export * from "./groth16.ts";
export * from "./reference.ts";
export * from "./storage/index.ts";
export * from "./chain/index.ts";
export * from "./node/log.ts";
export * from "./node/cli.ts";
export * from "./node/atomic-file.ts";
export * from "./node/runtime.ts";
export * from "./node/outage.ts";
export * from "./node/deadline-watch.ts";
export * from "./node/repo-root.ts";
