#!/usr/bin/env bash
# Runs the main job on a fresh machine: makes Node >= 22 available, installs dependencies, then runs
# the end-to-end demo (`npm run main` = `npm run demo`: builds the contracts, makes the demo circuits'
# dev setup on the first run, then deploys, trains, proves and audits on a local chain).
# Arguments go to the demo, e.g. `bash scripts/run-main.sh --json` also writes bench/demo.json.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-node.sh
source scripts/ensure-deps.sh
npm run main -- "$@"
