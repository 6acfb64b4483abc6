#!/usr/bin/env bash
# Runs every test on a fresh machine: makes Node >= 22 available, installs dependencies, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-node.sh
source scripts/ensure-deps.sh
npm test
