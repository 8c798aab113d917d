#!/usr/bin/env bash
# Assembles Lifeboat.app from a macOS build of the binary:
#
#     installer/macos/make-app.sh target/release/lifeboat OUT_DIR
#
# gives OUT_DIR/Lifeboat.app with the bundle layout macOS expects:
#     Contents/Info.plist             installer/macos/Info.plist (LSUIElement: menu bar only)
#     Contents/PkgInfo
#     Contents/MacOS/lifeboat         the binary (CFBundleExecutable)
#     Contents/Resources/lifeboat.icns  icons/lifeboat-blue.icns (CFBundleIconFile)
# Signing and notarising are left to whoever holds the Developer ID.
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 BINARY OUT_DIR" >&2
  exit 2
fi
binary=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
app="$out/Lifeboat.app"
rm -rf "$app"
mkdir -p "$app/Contents/MacOS" "$app/Contents/Resources"
cp "$here/Info.plist" "$app/Contents/Info.plist"
printf 'APPL????' > "$app/Contents/PkgInfo"
cp "$binary" "$app/Contents/MacOS/lifeboat"
chmod 755 "$app/Contents/MacOS/lifeboat"
cp "$root/icons/lifeboat-blue.icns" "$app/Contents/Resources/lifeboat.icns"
echo "$app"
