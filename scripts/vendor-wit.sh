#!/usr/bin/env bash
# Vendors the WASI WIT packages the plugin uses into wit/deps/, at pinned
# commits, byte for byte: never edit wit/deps/ by hand, change a pin here
# and run this script.
#
#   scripts/vendor-wit.sh              download from GitHub
#   WIT_MIRROR=DIR scripts/vendor-wit.sh   copy from local clones DIR/<owner>+<repo>/repo
set -euo pipefail
cd "$(dirname "$0")/.."

# name  owner/repo  commit  files (under the repo's wit/)
PINS=(
  "logging WebAssembly/wasi-logging d31c41d0d9eed81aabe02333d0025d42acf3fb75 logging.wit world.wit"
)
# Every WIT tree that needs each package: ours and the example extension's.
TREES=(wit examples/extension/wit)

for pin in "${PINS[@]}"; do
  read -r name repo commit files <<<"$pin"
  for tree in "${TREES[@]}"; do
    dest="$tree/deps/$name"
    rm -rf "$dest"
    mkdir -p "$dest"
    for f in $files; do
      if [ -n "${WIT_MIRROR:-}" ]; then
        git -C "$WIT_MIRROR/${repo/\//+}/repo" show "$commit:wit/$f" >"$dest/$f"
      else
        curl -fsSL "https://raw.githubusercontent.com/$repo/$commit/wit/$f" -o "$dest/$f"
      fi
    done
    echo "$repo@$commit" >"$dest/PIN"
    echo "vendored $repo@${commit:0:12} into $dest"
  done
done
