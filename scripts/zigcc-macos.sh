#!/usr/bin/env bash
# A C compiler for x86_64-apple-darwin on Linux (zig, from the ziglang wheel), for
# `cargo check --target x86_64-apple-darwin` in .ci/run: blake3's build script compiles its
# assembly with it. cc-rs passes clang's target flags, which zig spells its own way.
args=()
for a in "$@"; do
    case "$a" in
    --target=* | -mmacosx-version-min=*) ;;
    *) args+=("$a") ;;
    esac
done
exec "${ZIG_PYTHON:-python3}" -m ziglang cc -target x86_64-macos "${args[@]}"
