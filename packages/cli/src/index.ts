/**
 * @fedmarket/cli: the `fedmarket` command (deploy, owner project commands, audit, demo) and the
 * libraries behind it.
 */
export {};
export * from "./owner/connect.ts";
export * from "./owner/deploy.ts";
export * from "./owner/project.ts";
export * from "./owner/status.ts";
export * from "./owner/key-file.ts";
export * from "./owner/store.ts";
export * from "./owner/amount.ts";
export * from "./owner/reference.ts";
export type { ProjectFile } from "./commands/project.ts";
