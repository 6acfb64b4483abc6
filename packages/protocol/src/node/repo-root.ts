/**
 * The root of the fedmarket installation (the npm workspace): where the contract artifacts
 * (`artifacts/`), the circuits (`circuits/`) and the local dev setup (`.cache/`) live. One
 * definition, so that every package that reads them agrees on where they are.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";

/** `packages/protocol/src/node` -> the workspace root. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..");
