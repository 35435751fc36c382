"""JSON in and out, as awslambdaric does it with simplejson, on the stdlib's C codec.

`import json` costs ~9 ms (it pulls in `re`); the C module `_json` behind it costs almost
nothing, so the hot path uses `_json` directly and only the error paths import more.
Differences from the stdlib that awslambdaric's simplejson encoder has and we reproduce:
Decimal as a raw number (NaN Decimals as bare NaN), namedtuples and objects with
`_asdict()` as JSON objects, bytes as UTF-8 text (values and keys), and on decoding:
strict UTF-8, no NaN/Infinity literals, simplejson's error messages.
"""

import _json
import os
import sys

from . import faults


class Codec:
    """Encoder/decoder pair; `ensure_ascii` follows AWS_EXECUTION_ENV like awslambdaric."""

    def __init__(self, ensure_ascii=True):
        self.ensure_ascii = ensure_ascii
        self._quote = _json.encode_basestring_ascii if ensure_ascii else _json.encode_basestring
        # Decimals are spliced in after encoding: the C encoder has no raw-number hook.
        self._token = "lambundle-decimal-" + os.urandom(8).hex() + "-"
        self._raw = []
        self._scanner = _json.make_scanner(_ScanContext())  # type: ignore[arg-type]

    # -- encoding ---------------------------------------------------------------------

    def _default(self, obj):
        decimal = sys.modules.get("decimal")
        if decimal is not None and isinstance(obj, decimal.Decimal):
            if obj.is_nan():
                return float("nan")
            self._raw.append(str(obj))
            return self._token + str(len(self._raw) - 1)
        if isinstance(obj, bytes):
            return obj.decode("utf-8")
        asdict = getattr(obj, "_asdict", None)
        if asdict is not None and callable(asdict):
            result = asdict()
            if not isinstance(result, dict):
                raise TypeError(f"_asdict() must return a dict, not {type(result).__name__}")
            return result
        raise TypeError(f"Object of type {obj.__class__.__name__} is not JSON serializable")

    def encode(self, obj):
        """`obj` as JSON text; raises TypeError/ValueError like simplejson would."""
        obj = _prepare(obj)
        self._raw = []
        encoder = _json.make_encoder(
            {}, self._default, self._quote, None, ": ", ", ", False, False, True
        )
        text = "".join(encoder(obj, 0))
        if self._raw:
            for i, raw in enumerate(self._raw):
                text = text.replace(f'"{self._token}{i}"', raw, 1)
            self._raw = []
        return text

    def marshal_response(self, response):
        """(body bytes, content type) of a handler's result, awslambdaric's rules."""
        if isinstance(response, bytes):
            return response, "application/unknown"
        try:
            return self.encode(response).encode("utf-8"), "application/json"
        except Exception as exc:  # anything the encoder raises is the user's MarshalError
            raise faults.Fault(
                faults.MARSHAL_ERROR, f"Unable to marshal response: {_simplejson_words(exc)}"
            ) from None

    # -- decoding ---------------------------------------------------------------------

    def decode(self, body):
        """Parse JSON bytes/str like simplejson.loads; errors carry simplejson's messages."""
        text = body if isinstance(body, str) else str(body, "utf-8")
        try:
            idx = 1 if text[:1] == "\ufeff" else 0
            idx = _skip_ws(text, idx)
            obj, end = self._scanner(text, idx)
            end = _skip_ws(text, end)
            if end == len(text):
                return obj
        except Exception:  # fall through: the slow parser finds and words the error
            pass
        from . import jsonerrors  # error path only: a pure-Python parser for messages

        return jsonerrors.loads(text)

    def unmarshal_request(self, body, content_type):
        if content_type != "application/json":
            return body
        try:
            return self.decode(body)
        except Exception as exc:  # any decode failure is the caller's UnmarshalError
            raise faults.Fault(
                faults.UNMARSHAL_ERROR, f"Unable to unmarshal input: {exc}"
            ) from None


_DEFAULT: list[Codec] = []


def loads(text):
    """Parse JSON text (simplejson rules) with a shared Codec."""
    if not _DEFAULT:
        _DEFAULT.append(Codec())
    return _DEFAULT[0].decode(text)


def _simplejson_words(exc):
    """The stdlib names C key types with their module (`decimal.Decimal`), simplejson not."""
    text = str(exc)
    prefix = "keys must be str, int, float, bool or None, not "
    if isinstance(exc, TypeError) and text.startswith(prefix):
        return prefix + text[len(prefix) :].rpartition(".")[2]
    return text


def _skip_ws(text, idx):
    n = len(text)
    while idx < n and text[idx] in " \t\n\r":
        idx += 1
    return idx


def _reject_constant(name):
    raise ValueError(name)


class _ScanContext:
    """The attributes `_json.make_scanner` reads from a JSONDecoder."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    # simplejson 3.19+ rejects NaN/Infinity on input (allow_nan=False).
    parse_constant = staticmethod(_reject_constant)
    memo = None


def _prepare(obj, path=None):
    """Rewrite what the C encoder would get wrong: namedtuples and bytes keys.

    Returns `obj` itself when nothing needs rewriting (the common case), so only the walk
    is paid for. `path` holds the ids of the containers being walked, to report cycles
    with the encoder's words instead of recursing forever.
    """
    t = type(obj)
    if t in _SCALARS:
        return obj
    if isinstance(obj, tuple) and t is not tuple:
        asdict = getattr(obj, "_asdict", None)
        if asdict is not None and callable(asdict):
            return _prepare(asdict(), path)
    if not isinstance(obj, (dict, list, tuple)):
        return obj
    if path is None:
        path = set()
    if id(obj) in path:
        raise ValueError("Circular reference detected")
    path.add(id(obj))
    try:
        if isinstance(obj, dict):
            new = None
            for i, (key, value) in enumerate(obj.items()):
                pkey = key.decode("utf-8") if type(key) is bytes else key
                pvalue = _prepare(value, path) if type(value) not in _SCALARS else value
                if new is None and (pkey is not key or pvalue is not value):
                    new = dict(list(obj.items())[:i])
                if new is not None:
                    new[pkey] = pvalue
            return obj if new is None else new
        items = None
        for i, value in enumerate(obj):
            pvalue = _prepare(value, path) if type(value) not in _SCALARS else value
            if items is None and pvalue is not value:
                items = list(obj[:i])
            if items is not None:
                items.append(pvalue)
        return obj if items is None else items
    finally:
        path.discard(id(obj))


_SCALARS = frozenset({str, int, float, bool, type(None)})
