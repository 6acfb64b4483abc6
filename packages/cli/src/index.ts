/**
 * @fedmarket/cli: the `fedmarket` command (deploy, owner project commands, audit, demo) and the
 * libraries behind it.
 */
export {};
