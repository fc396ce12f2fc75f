#!/usr/bin/env bash
# Prints the path of a Python 3.10 interpreter (Rasa 3.6 needs 3.8-3.10), or explains how to get one.
set -euo pipefail
candidates=(python3.10)
if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root)
  for d in "$root"/versions/3.10.*; do [ -x "$d/bin/python3.10" ] && candidates+=("$d/bin/python3.10"); done
fi
for d in "$HOME"/.pyenv/versions/3.10.*; do [ -x "$d/bin/python3.10" ] && candidates+=("$d/bin/python3.10"); done
for c in "${candidates[@]}"; do
  if path=$(command -v "$c" 2>/dev/null) && "$path" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
    echo "$path"; exit 0
  fi
done
cat >&2 <<'MSG'
Python 3.10 is required (Rasa 3.6 runs on 3.8 to 3.10) and none was found.
Install it, for example:
  pyenv install 3.10.13        (https://github.com/pyenv/pyenv)
  or: apt-get install python3.10 python3.10-venv
then run the command again.
MSG
exit 1
