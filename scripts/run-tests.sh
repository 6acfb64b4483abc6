#!/usr/bin/env bash
# Runs every test on a fresh machine: makes Node >= 22 available, installs dependencies, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-node.sh
source scripts/ensure-deps.sh
# Node's on-disk compile cache for every node process of the run: the tests start many short-lived
# processes (CLIs, nodes, hardhat) that compile the same modules; with the cache they start faster.
export NODE_COMPILE_CACHE="${NODE_COMPILE_CACHE:-$PWD/node_modules/.cache/node-compile-cache}"
npm test
