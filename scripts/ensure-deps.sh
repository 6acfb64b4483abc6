#!/usr/bin/env bash
# Source this file after scripts/ensure-node.sh: installs the workspace's npm dependencies when
# node_modules is missing or older than package-lock.json (a fresh clone, or after a pull).
# `npm install` rather than `npm ci`: npm 11 leaves other platforms' optional packages (Hardhat's
# EDR builds for macOS, Windows, ARM) out of the lock file it writes here and `npm ci` then refuses
# the lock as out of sync; `npm install` installs the locked versions all the same.
_fm_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ ! -f "$_fm_root/node_modules/.package-lock.json" ] || [ "$_fm_root/package-lock.json" -nt "$_fm_root/node_modules/.package-lock.json" ]; then
  echo "fedmarket: installing npm dependencies (npm install)" >&2
  (cd "$_fm_root" && npm install --no-audit --no-fund) >&2 || { echo "fedmarket: npm install failed: check that the npm registry is reachable" >&2; return 1 2>/dev/null || exit 1; }
fi
unset _fm_root
