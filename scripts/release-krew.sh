#!/usr/bin/env bash
# Builds the kubectl plugin's release archives and writes their download address and
# sha256 into the Krew manifest (plugins/iredmail-ports.yaml): its `version` and its
# `platforms` list, which must stay the last key of the file. Upload the archives from the
# output directory to the release that --base-url names.
#
#   scripts/release-krew.sh [--target TRIPLE]... [--binary OS/ARCH=FILE]...
#                           [--base-url URL] [--out DIR] [--manifest FILE]
#
# --target builds `kubectl-iredmail_ports` in release mode for a Rust target triple (the
# toolchain for it must be installed); --binary packs a binary built elsewhere. With
# neither, it builds for this machine. Every archive of this version found in the output
# directory becomes a platform of the manifest.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin=kubectl-iredmail_ports
version="v$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n 1)"
base_url="https://github.com/iredmail-ports/iredmail-ports/releases/download/$version"
out="$root/dist"
manifest="$root/plugins/iredmail-ports.yaml"
targets=()
binaries=()

die() { echo "release-krew: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --target) targets+=("${2:?--target needs a triple}"); shift 2 ;;
    --binary) binaries+=("${2:?--binary needs OS/ARCH=FILE}"); shift 2 ;;
    --base-url) base_url="${2:?--base-url needs a URL}"; shift 2 ;;
    --out) out="${2:?--out needs a directory}"; shift 2 ;;
    --manifest) manifest="${2:?--manifest needs a file}"; shift 2 ;;
    *) die "unknown argument: $1" ;;
  esac
done
[ -f "$manifest" ] || die "no manifest at $manifest"
grep -q '^  platforms:' "$manifest" || die "$manifest has no '  platforms:' line"

# Krew's os/arch for a Rust target triple.
platform_of() {
  local os arch
  case "$1" in
    *-linux-*) os=linux ;;
    *-apple-darwin) os=darwin ;;
    *-windows-*) os=windows ;;
    *) die "no Krew os for target $1" ;;
  esac
  case "$1" in
    x86_64-*) arch=amd64 ;;
    aarch64-*) arch=arm64 ;;
    *) die "no Krew arch for target $1" ;;
  esac
  echo "$os/$arch"
}

# Packs one binary as <out>/<bin>-<version>-<os>-<arch>.tar.gz, stripped of debug symbols.
pack() {
  local platform="$1" file="$2" os="${1%/*}" arch="${1#*/}" stage name
  [ -x "$file" ] || die "$file is not an executable"
  case "$platform" in linux/*|darwin/*|windows/*) ;; *) die "bad platform '$platform' (want OS/ARCH)" ;; esac
  name="$bin"
  [ "$os" = windows ] && name="$bin.exe"
  stage="$(mktemp -d)"
  cp "$file" "$stage/$name"
  strip "$stage/$name" 2>/dev/null || true
  cp "$root/README.md" "$stage/README.md"
  mkdir -p "$out"
  # Fixed owner, order and times, so the same binary always gives the same archive.
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='1970-01-01 00:00Z' \
    -C "$stage" -cf - "$name" README.md | gzip -n > "$out/$bin-$version-$os-$arch.tar.gz"
  rm -rf "$stage"
  echo "packed $out/$bin-$version-$os-$arch.tar.gz" >&2
}

host="$(rustc -vV | sed -n 's/^host: //p')"
if [ ${#targets[@]} -eq 0 ] && [ ${#binaries[@]} -eq 0 ]; then
  targets+=("$host")
fi
for target in "${targets[@]}"; do
  # The host's build goes to target/release, where `cargo build --release` puts it anyway.
  if [ "$target" = "$host" ]; then
    cargo build --release --locked --manifest-path "$root/Cargo.toml" --bin "$bin" >&2
    exe="$root/target/release/$bin"
  else
    cargo build --release --locked --manifest-path "$root/Cargo.toml" --target "$target" --bin "$bin" >&2
    exe="$root/target/$target/release/$bin"
  fi
  [ -f "$exe.exe" ] && exe="$exe.exe"
  pack "$(platform_of "$target")" "$exe"
done
for binary in "${binaries[@]}"; do
  pack "${binary%%=*}" "${binary#*=}"
done

platforms=""
for archive in "$out/$bin-$version-"*.tar.gz; do
  [ -f "$archive" ] || continue
  file="$(basename "$archive")"
  os_arch="${file#"$bin-$version-"}"
  os_arch="${os_arch%.tar.gz}"
  os="${os_arch%-*}"
  arch="${os_arch#*-}"
  name="$bin"
  [ "$os" = windows ] && name="$bin.exe"
  sha="$(sha256sum "$archive" | cut -d ' ' -f 1)"
  platforms+="  - selector:
      matchLabels:
        os: $os
        arch: $arch
    uri: $base_url/$file
    sha256: $sha
    files:
      - from: $name
        to: .
      - from: README.md
        to: .
    bin: $name
"
done
[ -n "$platforms" ] || die "no archives of $version in $out"

# Everything up to `platforms:` is kept, with the version updated; the list is rewritten.
updated="$(mktemp)"
sed -e '/^  platforms:/q' -e "s/^  version: .*/  version: $version/" "$manifest" > "$updated"
printf '%s' "$platforms" >> "$updated"
mv "$updated" "$manifest"
echo "wrote $manifest" >&2
