"""``python -m docmatrix``: runs the docmatrix binary with the same arguments."""

from __future__ import annotations

import os
import sys

from docmatrix import find_docmatrix_bin


def main() -> None:
    binary = os.fsdecode(find_docmatrix_bin())
    if sys.platform == "win32":
        import subprocess

        sys.exit(subprocess.run([binary, *sys.argv[1:]]).returncode)
    os.execvp(binary, [binary, *sys.argv[1:]])


if __name__ == "__main__":
    main()
