/**
 * The node's proving resources, made on first use and kept for its lifetime: the circuit keys
 * (resolved once: a ceremony's `--circuits` folder or the repository's dev setup, with a warning)
 * and the pool of proving workers (started by the first proof, since starting one per core is not
 * free and a node that only skips or waits never needs it). The prove step and the verifier check
 * share them.
 */
import type { CircuitConfig } from "@fedmarket/core";
import type { NodeLogger } from "@fedmarket/protocol";
import { resolveCircuits, type RoundCircuits } from "./artifacts.ts";
import { ProverPool } from "./prover-pool.ts";

export interface ProversOptions {
  /** `--circuits` folder; default: the repository's cached dev setup. */
  readonly circuitsDir?: string;
  /** Proving workers (default: one per core). */
  readonly workers?: number;
  readonly log: NodeLogger;
}

export class Provers {
  readonly #o: ProversOptions;
  #circuits: RoundCircuits | undefined;
  #pool: ProverPool | undefined;

  constructor(options: ProversOptions) {
    this.#o = options;
  }

  /** The circuit files for `config` (the first configuration asked for; a node proves one project's circuits). */
  async circuits(config: CircuitConfig): Promise<RoundCircuits> {
    if (this.#circuits === undefined) {
      const log = this.#o.log;
      this.#circuits = await resolveCircuits(config, {
        ...(this.#o.circuitsDir === undefined ? {} : { dir: this.#o.circuitsDir }),
        log: (m) => log.log("info", "circuits", m),
      });
      if (this.#circuits.dev) {
        log.log(
          "warn",
          "circuits.dev",
          "using the DEV setup of the circuits (public toxic waste: NOT FOR PRODUCTION); pass --circuits <dir> for a ceremony's keys",
        );
      }
    }
    return this.#circuits;
  }

  /** The worker pool, started on first use. */
  async pool(config: CircuitConfig): Promise<ProverPool> {
    if (this.#pool === undefined) {
      const circuits = await this.circuits(config);
      this.#pool = new ProverPool(circuits, this.#o.workers);
      this.#o.log.log("debug", "prover.pool", `${this.#pool.size} proving worker(s)`, { workers: this.#pool.size });
    }
    return this.#pool;
  }

  /** Stops the workers (a later proof starts a new pool). */
  async close(): Promise<void> {
    await this.#pool?.close();
    this.#pool = undefined;
  }
}
