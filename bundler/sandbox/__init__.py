"""The local Lambda: lays a bundle directory out, runs it under bubblewrap, serves the Runtime
API and the invoke endpoint, emulates the managed runtime.

What the rest of lambundle uses is imported from here. Where each concept lives:

- `sandbox`: `Sandbox`, the one class callers use; it picks the lifecycle.
- `layout`: the bundle laid out (/opt, /var/task, the work dir, the interpreter).
- `bubblewrap`, `identity`, `process`, `procfs`, `environment`, `logs`: starting the
  function's process tree as Lambda's user with its own /etc, watching it (memory by
  proportional set size), its variables, its log.
- `lifecycle` (the shared core), `ondemand`, `snapstart`, `managed_instances`: how an
  execution environment lives.
- `rapi_protocol`, `rapi_http`, `rapi_routes`, `rapi_server` (the shared core),
  `rapi_single`, `rapi_concurrent`: the Runtime API server.
- `results`: timings, results, Lambda's START/END/REPORT lines.
- `invoke_endpoint`: serve's RIE-compatible invoke endpoint.
- `managed_runtime`: AWS's managed Python runtime, emulated.
"""

from bundler.sandbox.bubblewrap import bwrap_problem
from bundler.sandbox.environment import parse_env
from bundler.sandbox.invoke_endpoint import InvokeEndpoint
from bundler.sandbox.layout import LANG_DIR, layout_root
from bundler.sandbox.logs import split_concurrent_logs
from bundler.sandbox.managed_instances import LMI_INIT_TIMEOUT_S
from bundler.sandbox.ondemand import INIT_TIMEOUT_S
from bundler.sandbox.results import InvokeResult, Timings
from bundler.sandbox.sandbox import Sandbox
from bundler.sandbox.snapstart import SNAPSTART_INIT_TIMEOUT_S

__all__ = [
    "INIT_TIMEOUT_S",
    "LANG_DIR",
    "LMI_INIT_TIMEOUT_S",
    "SNAPSTART_INIT_TIMEOUT_S",
    "InvokeEndpoint",
    "InvokeResult",
    "Sandbox",
    "Timings",
    "bwrap_problem",
    "layout_root",
    "parse_env",
    "split_concurrent_logs",
]
