#!/usr/bin/env bash
# Vendor the Socket.IO browser client (npm package socket.io-client) into
# static/vendor/: the minified bundle, its source map and its licence.
# The vendored files are committed; run this only to change the version.
#   scripts/vendor-socketio.sh            # the version pinned below
#   scripts/vendor-socketio.sh 4.7.5      # another 4.x version
set -euo pipefail

version="${1:-4.8.4}"
here="$(cd "$(dirname "$0")/.." && pwd)"
dest="$here/static/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
tarball="$(npm pack --silent "socket.io-client@${version}")"
tar -xzf "$tarball"
mkdir -p "$dest"
cp package/dist/socket.io.min.js "$dest/socket.io.min.js"
cp package/dist/socket.io.min.js.map "$dest/socket.io.min.js.map"
cp package/LICENSE "$dest/socket.io-client.LICENSE"
printf 'socket.io-client %s (npm), dist/socket.io.min.js; licence: socket.io-client.LICENSE\n' \
  "$(node -p "require('./package/package.json').version")" > "$dest/README.txt"
echo "vendored socket.io-client ${version} into ${dest#"$here"/}"
