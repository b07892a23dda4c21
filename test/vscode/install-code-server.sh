#!/usr/bin/env bash
# Installs code-server 4.100.3 (VS Code 1.100.3, the last line whose engines accept Node 20) from the npm
# registry into .cache/code-server, offline apart from the registry: see shared/notes/vscode-e2e.md.
# Needs the Debian packages ripgrep and libkrb5-dev (.ci/run installs them). Idempotent: a finished
# install is kept and reused.
set -euo pipefail
cd "$(dirname "$0")/../.."

VERSION=4.100.3
DEST=${LINSOCK_CODE_SERVER_DIR:-$PWD/.cache/code-server}
BIN="$DEST/node_modules/code-server/out/node/entry.js"
STAMP="$DEST/installed-$VERSION"

if [ -f "$STAMP" ] && [ -f "$BIN" ]; then
  echo "code-server $VERSION: already in $DEST"
  exit 0
fi

rg_path=$(command -v rg || true)
if [ -z "$rg_path" ]; then
  echo "install-code-server: ripgrep is missing (apt-get install ripgrep); @vscode/ripgrep would download it" >&2
  exit 1
fi

t0=$(date +%s)
# @vscode/ripgrep downloads rg from GitHub unless its cache holds the archive it wants; the key below is the
# one code-server 4.100.3 asks for. Serve it Debian's rg.
cache="${TMPDIR:-/tmp}/vscode-ripgrep-cache-1.15.11"
mkdir -p "$cache"
tar -czf "$cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$(dirname "$rg_path")" rg

rm -rf "$DEST"
mkdir -p "$DEST"
cat > "$DEST/package.json" <<JSON
{ "name": "linsock-code-server", "private": true, "dependencies": { "code-server": "$VERSION" } }
JSON

# node-pty's postinstall runs `npx node-gyp`: answer yes. Native modules build against Node's own headers.
# npm 11 blocks dependency install scripts unless allowed. code-server is a tool installed apart from the
# project (its own folder, its own package.json), and its postinstall runs nested `npm install`s for VS Code's
# own folders whose native builds (node-pty, kerberos, ...) must run too; the policy is lifted for that
# folder only, through the environment, which the nested installs inherit.
(
  cd "$DEST"
  # code-server's postinstall refuses to run as root unless npm says unsafe-perm (npm 11 no longer knows
  # the option but still passes it on to scripts, which is all postinstall.sh reads).
  npm_config_yes=true npm_config_nodedir=/usr npm_config_dangerously_allow_all_scripts=true npm_config_unsafe_perm=true \
    npm install --no-audit --no-fund --no-package-lock --loglevel=error
)

if ! node "$BIN" --version >/dev/null 2>&1; then
  echo "install-code-server: code-server did not install (no working $BIN)" >&2
  exit 1
fi
touch "$STAMP"
echo "code-server $VERSION: installed in $DEST in $(( $(date +%s) - t0 ))s"
