#!/usr/bin/env bash
# Create per-Python-version venvs with each project's docs-example dependencies.
# Usage: make_venvs.sh [ROOT]   (default ROOT=/work/realdocs; venvs go to ROOT/venvs)
# Log per venv: ROOT/venvs/<project>-<ver>.log ; summary: ROOT/venvs/summary.tsv
set -u
ROOT=${1:-/work/realdocs}
OUT=$ROOT/venvs
mkdir -p "$OUT"
declare -A PY=(
  [3.9]=/root/.pyenv/versions/3.9.18/bin/python3.9
  [3.10]=/root/.pyenv/versions/3.10.13/bin/python3.10
  [3.11]=/root/.pyenv/versions/3.11.7/bin/python3.11
  [3.12]=/root/.pyenv/versions/3.12.1/bin/python3.12
)
# what the docs_src examples import (beyond the stdlib), per project
declare -A PKGS=(
  [fastapi]="fastapi[standard] pydantic-settings pyjwt pwdlib[argon2] sqlmodel strawberry-graphql orjson ujson pyyaml flask a2wsgi anyio[trio] pytest httpx"
  [sqlmodel]="sqlmodel fastapi[standard] pytest httpx"
  [typer]="typer rich pytest"
)
# the project's own version at the fetched docs commit (its __version__);
# pinned where the interpreter allows it, else the newest release pip accepts
declare -A PIN=(
  [fastapi]="fastapi[standard]==${FASTAPI_VERSION:-0.141.1}"
  [sqlmodel]="sqlmodel==${SQLMODEL_VERSION:-0.0.39}"
  [typer]="typer==${TYPER_VERSION:-0.27.1}"
)
printf 'project\tpython\tstatus\tversions\n' > "$OUT/summary.tsv"
for proj in fastapi sqlmodel typer; do
  for ver in 3.9 3.10 3.11 3.12; do
    v=$OUT/$proj-$ver; log=$OUT/$proj-$ver.log
    rm -rf "$v"
    { "${PY[$ver]}" -m venv "$v" && "$v/bin/pip" install -q --upgrade pip \
      && "$v/bin/pip" install --prefer-binary ${PKGS[$proj]}; } >"$log" 2>&1
    rc=$?
    if [ $rc -ne 0 ]; then
      # retry package by package to see which ones fail
      for p in ${PKGS[$proj]}; do
        "$v/bin/pip" install --prefer-binary "$p" >>"$log" 2>&1 || echo "FAILED: $p" >>"$log"
      done
    fi
    if "$v/bin/pip" install --prefer-binary "${PIN[$proj]}" >>"$log" 2>&1; then
      pin="pinned ${PIN[$proj]}"
    else
      pin="pin ${PIN[$proj]} not installable, kept newest"
    fi
    vers=$("$v/bin/pip" list --format=freeze 2>/dev/null | grep -iE '^(fastapi|sqlmodel|typer|pydantic|starlette|sqlalchemy|rich|httpx|click)==' | tr '\n' ' ')
    fails=$(grep '^FAILED' "$log" | tr '\n' ' ')
    printf '%s\t%s\t%s\t%s\n' "$proj" "$ver" "$([ $rc -eq 0 ] && echo ok || echo "partial: $fails"); $pin" "$vers" >> "$OUT/summary.tsv"
  done
done
cat "$OUT/summary.tsv"
