#!/usr/bin/env node
// Launcher: Node >= 22.18 / 24 runs the TypeScript sources directly (type stripping).
import "../src/demo/cli.ts";
