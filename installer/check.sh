#!/usr/bin/env bash
# Builds and checks Lifeboat's three installers as far as a Linux machine can (CI runs it from
# .ci/run after the tests):
#
#     installer/check.sh [deb] [msi] [app]      (all three when none is named)
#
# deb  the Debian package from the debug binary the tests already built (cargo-deb --no-build
#      --profile dev: CI stays fast, and a release build would take 12 minutes more); lintian with
#      no errors; unpacked into a temporary root, whose desktop entries must validate and whose
#      binary must run. Needs cargo-deb (installed here when missing), lintian, dpkg-dev and
#      desktop-file-utils.
# msi  installer/windows/lifeboat.wxs compiled by wixl around a stand-in for lifeboat.exe (no
#      Windows build here); the MSI's Registry and Shortcut tables must hold the Run value and the
#      Start-menu shortcut. Needs wixl and msitools.
# app  Lifeboat.app assembled by installer/macos/make-app.sh around a stand-in binary; Info.plist
#      and the LaunchAgent must parse (python3 plistlib) and name the binary and bundle id.
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() {
  echo "installer check failed: $*" >&2
  exit 1
}

check_deb() {
  if ! command -v cargo-deb >/dev/null; then
    # Major version 3 (3.8.0 seen here) still packages the dev profile, with a warning that a later
    # version may refuse it; see the README.
    cargo install cargo-deb --locked --version '^3'
  fi
  cargo build --locked
  cargo deb --no-build --profile dev --locked --strip --fast --output "$work/" >"$work/deb.log" 2>&1 \
    || { cat "$work/deb.log" >&2; fail "cargo deb"; }
  local deb
  deb=$(ls "$work"/lifeboat_*.deb) || fail "no .deb in $work"
  echo "deb: built $(basename "$deb")"

  # Errors fail the check; warnings are shown (today: no manual page, and a first changelog entry
  # that closes no Debian bug, neither of which applies to a package built outside Debian).
  # No overrides: an override would need its reason written beside it.
  lintian --fail-on error --tag-display-limit 0 "$deb" || fail "lintian reported errors"
  echo "deb: lintian found no errors"

  # What the package holds, and that nothing runs at install or removal (no maintainer scripts,
  # so nothing can reach a user's config or backups under \$HOME).
  local listing
  listing=$(dpkg-deb --contents "$deb")
  for path in ./usr/bin/lifeboat ./usr/share/applications/lifeboat.desktop \
    ./etc/xdg/autostart/lifeboat.desktop; do
    grep -q " $path\$" <<<"$listing" || fail "$path is not in the package"
  done
  for size in 16 24 32 48 64 128 256; do
    grep -q " ./usr/share/icons/hicolor/${size}x${size}/apps/lifeboat.png\$" <<<"$listing" \
      || fail "no ${size}px icon in the package"
  done
  local scripts
  scripts=$(dpkg-deb --ctrl-tarfile "$deb" | tar -t | grep -E 'preinst|postinst|prerm|postrm' || true)
  [ -z "$scripts" ] || fail "the package has maintainer scripts: $scripts"
  echo "deb: binary, menu entry, autostart entry and icons 16..256 px in place; no maintainer scripts"

  dpkg-deb -x "$deb" "$work/root"
  desktop-file-validate "$work/root/usr/share/applications/lifeboat.desktop" \
    "$work/root/etc/xdg/autostart/lifeboat.desktop" || fail "desktop-file-validate"
  local lifeboat="$work/root/usr/bin/lifeboat"
  "$lifeboat" --version | grep -q "^lifeboat $version\$" || fail "lifeboat --version"
  # health is a report: its exit code says healthy or not, so only the JSON is checked here.
  "$lifeboat" --home "$work/home" health --json >"$work/health.json" || true
  python3 -c 'import json, sys; report = json.load(open(sys.argv[1])); assert report["status"] in ("healthy", "warning", "error"), report' \
    "$work/health.json" || fail "lifeboat health --json from the unpacked package"
  echo "deb: the desktop entries validate; the unpacked binary runs (--version, health --json)"
}

check_msi() {
  mkdir "$work/msi"
  # wixl takes source files relative to the folder it runs in (absolute paths are refused).
  printf 'stand-in for lifeboat.exe\n' >"$work/msi/lifeboat.exe"
  cp icons/lifeboat-blue.ico "$work/msi/lifeboat.ico"
  (cd "$work/msi" && wixl -D Version="$version" -D Binary=lifeboat.exe -D Icon=lifeboat.ico \
    -o lifeboat.msi "$OLDPWD/installer/windows/lifeboat.wxs") || fail "wixl"
  # msiinfo exports tables as .idt text: tab-separated, CRLF line ends.
  for table in Registry Shortcut Property; do
    msiinfo export "$work/msi/lifeboat.msi" "$table" | tr -d '\r' >"$work/msi/$table.txt"
  done
  # Registry: Registry Root Key Name Value Component_; root 1 is HKEY_CURRENT_USER.
  awk -F'\t' '$2 == "1" && $3 == "Software\\Microsoft\\Windows\\CurrentVersion\\Run" &&
      $4 == "lifeboat" && $5 == "\"[INSTALLDIR]lifeboat.exe\" agent" { found = 1 }
      END { exit !found }' "$work/msi/Registry.txt" \
    || { cat "$work/msi/Registry.txt" >&2; fail "no HKCU Run value lifeboat in the MSI"; }
  # Shortcut: Shortcut Directory_ Name Component_ Target Arguments ...
  awk -F'\t' '$2 == "ProgramMenuFolder" && $3 == "Lifeboat" &&
      $5 == "[INSTALLDIR]lifeboat.exe" && $6 == "agent" { found = 1 } END { exit !found }' \
    "$work/msi/Shortcut.txt" \
    || { cat "$work/msi/Shortcut.txt" >&2; fail "no Start-menu shortcut in the MSI"; }
  grep -q "^UpgradeCode	{" "$work/msi/Property.txt" || fail "no UpgradeCode in the MSI"
  grep -q "^ProductVersion	$version\$" "$work/msi/Property.txt" || fail "ProductVersion"
  echo "msi: compiles; HKCU Run value, Start-menu shortcut and UpgradeCode in its tables"
}

check_app() {
  printf '#!/bin/sh\n# stand-in for the macOS binary\n' >"$work/lifeboat"
  installer/macos/make-app.sh "$work/lifeboat" "$work/app" >/dev/null
  python3 - "$work/app/Lifeboat.app" "$version" src/agent/autostart.rs <<'PY' || fail "macOS bundle"
import os, plistlib, re, sys

app, version, source = sys.argv[1], sys.argv[2], open(sys.argv[3]).read()
def const(name):
    return re.search(r'pub const %s: &str = "([^"]+)";' % name, source).group(1)
bundle_id, label = const("BUNDLE_ID"), const("LAUNCH_AGENT_LABEL")

with open(os.path.join(app, "Contents/Info.plist"), "rb") as f:
    info = plistlib.load(f)
assert info["CFBundleIdentifier"] == bundle_id, info
assert info["LSUIElement"] is True, "no Dock icon"
assert info["CFBundlePackageType"] == "APPL"
assert info["CFBundleShortVersionString"] == version, (info, version)
binary = os.path.join(app, "Contents/MacOS", info["CFBundleExecutable"])
assert os.access(binary, os.X_OK), binary
icon = os.path.join(app, "Contents/Resources", info["CFBundleIconFile"] + ".icns")
with open(icon, "rb") as f:
    assert f.read(4) == b"icns", icon

agent_file = os.path.join("installer/macos", label + ".plist")
with open(agent_file, "rb") as f:
    agent = plistlib.load(f)
assert agent["Label"] == label, agent
assert agent["AssociatedBundleIdentifiers"] == [bundle_id], agent
executable = "/Applications/Lifeboat.app/Contents/MacOS/" + info["CFBundleExecutable"]
assert agent["ProgramArguments"] == [executable, "agent"], agent
assert agent["RunAtLoad"] is True
PY
  echo "app: Info.plist and the LaunchAgent parse and name the binary and $(sed -n 's/^pub const BUNDLE_ID: &str = "\(.*\)";/\1/p' src/agent/autostart.rs)"
}

parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(deb msi app)
for part in "${parts[@]}"; do
  case "$part" in
    deb) check_deb ;;
    msi) check_msi ;;
    app) check_app ;;
    *) fail "unknown part $part (deb, msi or app)" ;;
  esac
done
