#!/usr/bin/env bash
# Source this file after scripts/ensure-node.sh: installs the workspace's npm dependencies when
# node_modules is missing or older than package-lock.json (a fresh clone, or after a pull).
_fm_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ ! -f "$_fm_root/node_modules/.package-lock.json" ] || [ "$_fm_root/package-lock.json" -nt "$_fm_root/node_modules/.package-lock.json" ]; then
  echo "fedmarket: installing npm dependencies (npm ci)" >&2
  (cd "$_fm_root" && npm ci --no-audit --no-fund) >&2 || { echo "fedmarket: npm ci failed" >&2; return 1 2>/dev/null || exit 1; }
fi
unset _fm_root
