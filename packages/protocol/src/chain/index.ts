/**
 * The chain layer: bounded event queries and retries (events.ts, retry.ts), revert messages
 * (errors.ts), the typed FedMarket client (fedmarket.ts), one decoded record type per event
 * (records.ts), the project history rebuilt from them (history.ts) and the commitments of an
 * optimistic round (optimistic.ts).
 */
export * from "./retry.ts";
export * from "./errors.ts";
export * from "./events.ts";
export * from "./fedmarket.ts";
export * from "./records.ts";
export * from "./history.ts";
export * from "./round-context.ts";
export * from "./optimistic.ts";
