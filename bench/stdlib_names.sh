#!/bin/sh
# Prints the standard library's top-level module names of the matrix's interpreters, for
# src/lang/python/stdlib.txt (3.9 has no sys.stdlib_module_names: its few extras are added).
set -eu
for v in 3.10 3.11 3.12 3.13; do
    py=$(ls -d "$HOME"/.pyenv/versions/"$v".*/bin/python"$v" | tail -n 1)
    "$py" -c 'import sys; print("\n".join(sys.stdlib_module_names))'
done | { cat; printf 'parser\nsymbol\nformatter\n_bootlocale\n'; } | sort -u
