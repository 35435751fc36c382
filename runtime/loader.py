"""Putting the bundle's directories on sys.path (docs/layout.md, "The loader")."""

import os
import sys

from .codec import loads

FUNCTION_PATHS = ".lambundle/paths.json"
LAYER_PATHS_DIR = "lambundle/paths"


def search_path(task_root, opt_root):
    """The directories to put in front of sys.path, in Lambda's order."""
    dirs = [task_root]
    found = False
    function_paths = os.path.join(task_root, FUNCTION_PATHS)
    if os.path.isfile(function_paths):
        found = True
        dirs += [os.path.join(task_root, d) for d in _read_paths(function_paths)]
    layer_dir = os.path.join(opt_root, LAYER_PATHS_DIR)
    if os.path.isdir(layer_dir):
        for name in sorted(os.listdir(layer_dir)):
            if name.endswith(".json"):
                found = True
                dirs += [
                    os.path.join(opt_root, d) for d in _read_paths(os.path.join(layer_dir, name))
                ]
    if not found:
        # Lambda's managed-runtime defaults for Python layers (packaging-layers.html).
        version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
        dirs += [
            os.path.join(opt_root, "python", "lib", version, "site-packages"),
            os.path.join(opt_root, "python"),
        ]
    unique = []
    for d in dirs:
        d = os.path.normpath(d)
        if d not in unique:
            unique.append(d)
    return unique


def _read_paths(path):
    with open(path, encoding="utf-8") as f:
        data = loads(f.read())
    return data.get("sys_path", [])


def install(task_root, opt_root):
    """Prepend the bundle's directories to sys.path, honour their .pth files, chdir."""
    dirs = search_path(task_root, opt_root)
    sys.path[:] = dirs + [p for p in sys.path if p not in dirs]
    import site  # already imported at start-up unless python -S; addsitedir runs .pth files

    for d in dirs:
        if os.path.isdir(d):
            # The directory is already on sys.path, so addsitedir only processes its .pth
            # files (appending what they name), exactly as Lambda's bootstrap.py does.
            site.addsitedir(d)
    os.chdir(task_root)
    return dirs
