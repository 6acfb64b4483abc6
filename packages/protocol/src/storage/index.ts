export * from "./blob-store.ts";
export * from "./helia-blob-store.ts";
export * from "./kubo-blob-store.ts";
export * from "./ipfs-rpc-server.ts";
