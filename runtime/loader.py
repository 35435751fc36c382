"""Putting the bundle's directories on sys.path (docs/layout.md, "The loader").

On AWS's managed python3.X runtimes (started through the exec wrapper) the result is
the sys.path AWS's own /var/runtime/bootstrap.py makes, with the bundle's directories
right after the task root, so that a function sees the same search path whichever client
starts it: /var/task, /opt/python/lib/python3.X/site-packages, /opt/python, (3.11+)
/var/lang/lib/python3.X/site-packages (where the runtime keeps boto3), /var/runtime, then
the interpreter's own path; the two /opt directories are appended again when they do not
exist, as site.addsitedir does for AWS (python-layers.html shows that sys.path).
"""

import os
import sys

from .codec import loads

FUNCTION_PATHS = ".lambundle/paths.json"
LAYER_PATHS_DIR = "lambundle/paths"


def search_path(task_root, opt_root, defaults=True):
    """The directories to put in front of sys.path, in Lambda's order; without paths files
    Lambda's Python layer directories, unless `defaults` is False."""
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
    if not found and defaults:
        # Lambda's managed-runtime defaults for Python layers (packaging-layers.html).
        dirs += _opt_defaults(opt_root)
    unique = []
    for d in dirs:
        d = os.path.normpath(d)
        if d not in unique:
            unique.append(d)
    return unique


def _opt_defaults(opt_root):
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    return [os.path.join(opt_root, "python", "lib", version, "site-packages"),
            os.path.join(opt_root, "python")]


def _read_paths(path):
    with open(path, encoding="utf-8") as f:
        data = loads(f.read())
    return data.get("sys_path", [])


def install(task_root, opt_root, runtime_dir=None, pythonpath_set=False):
    """Prepend the bundle's directories to sys.path, honour their .pth files, chdir.

    `runtime_dir` (LAMBDA_RUNTIME_DIR) is given on AWS's managed runtimes: sys.path is
    then the one AWS's bootstrap.py makes (with `pythonpath_set`, PYTHONPATH set by the
    user, only the task root goes in front), with the bundle's directories added.
    """
    import site  # already imported at start-up unless python -S; addsitedir runs .pth files

    if runtime_dir is None:
        dirs = search_path(task_root, opt_root)
        sys.path[:] = dirs + [p for p in sys.path if p not in dirs]
        added = dirs
    else:
        added = _install_managed(task_root, opt_root, runtime_dir, pythonpath_set)
    for d in added:
        if os.path.isdir(d):
            # The directory is already on sys.path, so addsitedir only processes its .pth
            # files (appending what they name), exactly as Lambda's bootstrap.py does.
            site.addsitedir(d)
    if runtime_dir is not None and not pythonpath_set:
        for d in _opt_defaults(opt_root):
            site.addsitedir(d)  # appends a missing one again, as for AWS's bootstrap.py
        os.environ["PYTHONPATH"] = runtime_dir  # what bootstrap.py leaves to child processes
    os.chdir(task_root)
    return added


def _install_managed(task_root, opt_root, runtime_dir, pythonpath_set):
    """sys.path as AWS's python3.X bootstrap.py makes it, the bundle's dirs after the task
    root; the dirs whose .pth files count (the task root's and the bundle's)."""
    bundle = search_path(task_root, opt_root, defaults=False)
    front = list(bundle)
    if not pythonpath_set:
        version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
        aws = _opt_defaults(opt_root)
        if sys.version_info >= (3, 11):
            aws.append(os.path.join(sys.base_prefix, "lib", version, "site-packages"))
        front += [d for d in aws if d not in front]
    # bootstrap.py's own directory is sys.path[0] when AWS's client starts.
    front.append(runtime_dir)
    sys.path[:] = front + sys.path
    return bundle
