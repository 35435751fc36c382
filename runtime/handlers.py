"""Turning a handler string into something to call.

Conventions, tried in this order:
- `=EXPR` (or a string starting with `lambda`): an inline Python expression that evaluates
  to a callable, e.g. `=lambda event, context: event`.
- `path/to/script.py`, when that file exists under the task root: a script; its `main()` is
  called with no arguments, standard input is the request body, standard output the
  response.
- `module:function` (entry-point syntax; the function may be a dotted attribute path).
- `module.function` (AWS's syntax, `pkg/sub/mod.fn` or `pkg.sub.mod.fn`), with
  awslambdaric's exact errors (reference §3.3).
"""

import os
import sys

from . import faults


class Target:
    """A resolved handler: the callable and how to call it (json, raw or stdio)."""

    __slots__ = ("calling", "function")

    def __init__(self, function, calling):
        self.function = function
        self.calling = calling


def resolve(handler, task_root, calling="json"):
    """Import the handler's module and return a Target; raises faults.Fault like awslambdaric."""
    if handler.startswith("="):
        return Target(_evaluate(handler[1:]), calling)
    if handler.startswith("lambda ") or handler.startswith("lambda:"):
        return Target(_evaluate(handler), calling)
    if handler.endswith(".py") and os.path.isfile(os.path.join(task_root, handler)):
        module_name = handler[:-3]
        module = _import(module_name)
        return Target(_attribute(module, "main", module_name), "stdio")
    if ":" in handler:
        module_name, _, attr = handler.partition(":")
        return Target(_attribute(_import(module_name), attr, module_name), calling)
    try:
        module_name, function_name = handler.rsplit(".", 1)
    except ValueError as exc:
        raise faults.Fault(
            faults.MALFORMED_HANDLER_NAME, f"Bad handler '{handler}': {exc}"
        ) from None
    module = _import(module_name)
    return Target(_attribute(module, function_name, module_name), calling)


def _import(module_name):
    import importlib  # cheap (~1 ms) and needed for every handler

    if module_name.split(".")[0] in sys.builtin_module_names:
        raise faults.Fault(
            faults.BUILT_IN_MODULE_CONFLICT,
            f"Cannot use built-in module {module_name} as a handler module",
        )
    try:
        return importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise faults.Fault(
            faults.IMPORT_MODULE_ERROR, f"Unable to import module '{module_name}': {exc}"
        ) from None
    except SyntaxError as exc:
        trace = ['  File "%s" Line %s\n    %s' % (exc.filename, exc.lineno, exc.text)]
        raise faults.Fault(
            faults.USER_CODE_SYNTAX_ERROR,
            f"Syntax error in module '{module_name}': {exc}",
            trace,
        ) from None


def _attribute(module, path, module_name):
    obj = module
    try:
        for part in path.split("."):
            obj = getattr(obj, part)
    except AttributeError:
        raise faults.Fault(
            faults.HANDLER_NOT_FOUND, f"Handler '{path}' missing on module '{module_name}'"
        ) from None
    return obj


def _evaluate(expression):
    namespace = {"__name__": "__lambundle_inline__"}
    try:
        code = compile(expression, "<handler>", "eval")
    except SyntaxError as exc:
        raise faults.Fault(
            faults.USER_CODE_SYNTAX_ERROR,
            f"Syntax error in handler expression: {exc}",
            ['  File "<handler>" Line %s\n    %s' % (exc.lineno, exc.text)],
        ) from None
    function = eval(code, namespace)
    if not callable(function):
        raise faults.Fault(
            faults.HANDLER_NOT_FOUND,
            f"Handler expression '{expression}' is a {type(function).__name__}, not a callable",
        )
    return function
