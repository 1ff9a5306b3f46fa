#!/usr/bin/env bash
# Clones this repository into a temp dir and runs the two set-up commands at the top of the
# README exactly as written (the first ```sh block), with a throwaway HOME so the quickstart's
# data stays in the temp dir. Exits non-zero if either fails. Not part of scripts/test.sh (the
# second command is scripts/test.sh itself).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
git clone --quiet "$ROOT" "$W/convoy"
cd "$W/convoy"
mapfile -t COMMANDS < <(awk '/^```sh$/ {inside=1; next} inside && /^```$/ {exit} inside {print}' README.md)
[ "${#COMMANDS[@]}" -eq 2 ] || { echo "expected two commands in the README's first block, found ${#COMMANDS[@]}" >&2; exit 1; }
# The toolchain and crate cache stay where they are; only Convoy's files move.
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
export HOME="$W/home" XDG_DATA_HOME="$W/home/.local/share" XDG_CONFIG_HOME="$W/home/.config"
mkdir -p "$HOME"
for command in "${COMMANDS[@]}"; do
  echo "==> $command" >&2
  bash -c "$command"
done
echo "README commands passed" >&2
