#!/usr/bin/env bash
# Runs the main job on a fresh machine: makes Node >= 22 available, installs dependencies, runs.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-node.sh
source scripts/ensure-deps.sh
npm run main -- "$@"
