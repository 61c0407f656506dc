#!/usr/bin/env bash
# Installs docmatrix for the GitHub Action (action.yml) into PREFIX, so that PREFIX/bin/docmatrix
# is the binary of the same version as the action's checkout.
#
#   scripts/install-docmatrix.sh wheel PREFIX   # the wheel of that version (seconds)
#   scripts/install-docmatrix.sh cargo PREFIX   # build from the checkout with cargo (minutes)
#
# `wheel` makes a virtual environment at PREFIX and installs `docmatrix==VERSION` into it with
# uv when it is on PATH, else with pip; the package index is pip's/uv's own (PIP_INDEX_URL,
# PIP_FIND_LINKS, UV_INDEX_URL, UV_FIND_LINKS... are honoured). It never falls back to cargo
# by itself: a failed install fails, and says how to build instead.
set -euo pipefail

mode="${1:?usage: install-docmatrix.sh wheel|cargo PREFIX}"
prefix="${2:?usage: install-docmatrix.sh wheel|cargo PREFIX}"
checkout="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$checkout/Cargo.toml" | head -n 1)"
[ -n "$version" ] || { echo "install-docmatrix: no version in $checkout/Cargo.toml" >&2; exit 2; }

case "$mode" in
wheel)
    python="$(command -v python3 || command -v python || true)"
    if command -v uv >/dev/null; then
        uv venv --quiet ${python:+--python "$python"} "$prefix"
        install=(uv pip install --quiet --python "$prefix/bin/python")
    else
        [ -n "$python" ] || { echo "install-docmatrix: no python3 on PATH to install the wheel with" >&2; exit 2; }
        "$python" -m venv "$prefix"
        install=("$prefix/bin/python" -m pip install --quiet --disable-pip-version-check)
    fi
    if ! "${install[@]}" "docmatrix==$version"; then
        echo "install-docmatrix: could not install the docmatrix $version wheel; set the action's input install: cargo to build it from source" >&2
        exit 1
    fi
    ;;
cargo)
    cargo install --locked --quiet --path "$checkout" --root "$prefix"
    ;;
*)
    echo "install-docmatrix: unknown mode '$mode' (wheel or cargo)" >&2
    exit 2
    ;;
esac

# The binary must be the one of this checkout's version.
got="$("$prefix/bin/docmatrix" --version)"
case "$got" in
"docmatrix $version "* | "docmatrix $version") echo "$got" ;;
*)
    echo "install-docmatrix: installed '$got', expected docmatrix $version" >&2
    exit 1
    ;;
esac
