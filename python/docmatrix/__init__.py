"""docmatrix: the binary, installed beside this package by its wheel.

The package exists so that ``python -m docmatrix`` works; everything else is the binary.
"""

from __future__ import annotations

import os
import sys
import sysconfig

__all__ = ["find_docmatrix_bin"]


def find_docmatrix_bin() -> str:
    """The path of the docmatrix binary that this package's wheel installed.

    Looked for in the scripts folder of this environment (pip, pipx, uv tool, uvx), then of
    the user scheme (``pip install --user``), then beside the running interpreter.
    """
    exe = "docmatrix" + (sysconfig.get_config_var("EXE") or "")
    folders = [sysconfig.get_path("scripts")]
    if sys.version_info >= (3, 10):
        user_scheme = sysconfig.get_preferred_scheme("user")
    elif os.name == "nt":
        user_scheme = "nt_user"
    elif sys.platform == "darwin" and getattr(sys, "_framework", None):
        user_scheme = "osx_framework_user"
    else:
        user_scheme = "posix_user"
    folders.append(sysconfig.get_path("scripts", scheme=user_scheme))
    folders.append(os.path.dirname(sys.executable))
    for folder in folders:
        path = os.path.join(folder, exe)
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(
        f"the docmatrix binary is not in {', '.join(folders)}: reinstall the docmatrix wheel"
    )
