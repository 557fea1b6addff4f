#!/bin/sh
# Vendor the page's JavaScript dependencies from npm into static/vendor/ (no CDN, no build step).
#
#   scripts/vendor.sh [SOCKET_IO_CLIENT_VERSION] [PERFECT_FREEHAND_VERSION]
#
# Defaults are the pinned versions below; pass others to upgrade, then run the
# browser tests (python -m pytest tests/e2e -q) and commit static/vendor/.
# Needs npm (only to download the two packages; nothing is installed).
set -eu

SIO_VERSION="${1:-4.8.4}"
PF_VERSION="${2:-1.2.3}"

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/static/vendor"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

cd "$TMP"
npm pack --silent "socket.io-client@$SIO_VERSION" "perfect-freehand@$PF_VERSION" >/dev/null
mkdir sio pf
tar xzf "socket.io-client-$SIO_VERSION.tgz" -C sio
tar xzf "perfect-freehand-$PF_VERSION.tgz" -C pf

mkdir -p "$DEST"
cp sio/package/dist/socket.io.min.js "$DEST/socket.io.min.js"
cp sio/package/dist/socket.io.min.js.map "$DEST/socket.io.min.js.map"
cp sio/package/LICENSE "$DEST/socket.io-client.LICENSE"
cp pf/package/dist/esm/index.mjs "$DEST/perfect-freehand.mjs"
cp pf/package/LICENSE "$DEST/perfect-freehand.LICENSE"
# The ESM build ends with a sourceMappingURL to a file we do not ship: drop it.
sed -i '/^\/\/# sourceMappingURL=/d' "$DEST/perfect-freehand.mjs"

{
  echo "# Vendored by scripts/vendor.sh from the npm registry; do not edit these files by hand."
  echo "socket.io-client $SIO_VERSION dist/socket.io.min.js sha256=$(sha256sum "$DEST/socket.io.min.js" | cut -d' ' -f1)"
  echo "perfect-freehand $PF_VERSION dist/esm/index.mjs sha256=$(sha256sum "$DEST/perfect-freehand.mjs" | cut -d' ' -f1)"
} > "$DEST/VERSIONS.txt"
cat "$DEST/VERSIONS.txt"
