/**
 * @fedmarket/core: the one reference implementation of every proven computation, of the fixed-point
 * rules (quantize.ts), the slot statuses (slot-status.ts) and the contract's money rules (rewards.ts).
 * See docs/PROOF-INTERFACE.md for the specification this code implements.
 */
export * from "./field.ts";
export * from "./config.ts";
export * from "./quantize.ts";
export * from "./pack.ts";
export * from "./malformed.ts";
export * from "./poseidon.ts";
export * from "./commit.ts";
export * from "./reference.ts";
export * from "./gram.ts";
export * from "./slot-status.ts";
export * from "./screen.ts";
export * from "./consensus.ts";
export * from "./aggregate.ts";
export * from "./accumulator.ts";
export * from "./ctx.ts";
export * from "./outcome.ts";
export * from "./witness.ts";
export * from "./round.ts";
export * from "./replay.ts";
export * from "./rewards.ts";
export * from "./slots.ts";
export * from "./cipher.ts";
