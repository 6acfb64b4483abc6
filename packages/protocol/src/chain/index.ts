export * from "./retry.ts";
export * from "./errors.ts";
export * from "./events.ts";
export * from "./fedmarket.ts";
