/**
 * @fedmarket/cli: the `fedmarket` command (deploy, owner project commands, audit, demo) and the
 * libraries behind it.
 */
export {};
export * from "./demo/run-demo.ts";
export * from "./demo/demo-report.ts";
export * from "./owner/connect.ts";
export * from "./owner/deploy.ts";
export * from "./owner/project.ts";
export * from "./owner/history.ts";
export * from "./owner/status.ts";
export * from "./owner/key-file.ts";
export * from "./owner/store.ts";
export * from "./audit/audit.ts";
export * from "./audit/proofs.ts";
export * from "./audit/report.ts";
export * from "./audit/svg.ts";
