"""A slow JSON parser used only to word decode errors exactly as simplejson does.

awslambdaric decodes events with simplejson, whose error messages differ from the
stdlib's ("Expecting ',' delimiter or '}'", "Illegal trailing comma ...", "Extra data"
with an end position). Users see them in `Runtime.UnmarshalError`, so this module
reproduces simplejson's grammar checks and messages; it runs only after the fast C
parser has already failed.
"""

import re

_NUMBER = re.compile(r"(-?(?:0|[1-9]\d*))(\.\d+)?([eE][-+]?\d+)?")
_STRING_CHUNK = re.compile(r'([^"\\\x00-\x1f]*)(["\\\x00-\x1f])')
_HEX4 = re.compile(r"^[0-9a-fA-F]{4}$")
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_WS = " \t\n\r"


class DecodeError(ValueError):
    """Worded like simplejson.JSONDecodeError."""

    def __init__(self, msg, doc, pos, end=None):
        line, col = _linecol(doc, pos)
        msg = msg.replace("%r", repr(doc[pos : pos + 1]))
        if end is None:
            text = f"{msg}: line {line} column {col} (char {pos})"
        else:
            eline, ecol = _linecol(doc, end)
            text = (
                f"{msg}: line {line} column {col} - line {eline} column {ecol} (char {pos} - {end})"
            )
        super().__init__(text)


def _linecol(doc, pos):
    line = doc.count("\n", 0, pos) + 1
    col = pos + 1 if line == 1 else pos - doc.rindex("\n", 0, pos)
    return line, col


def _ws(s, i):
    while i < len(s) and s[i] in _WS:
        i += 1
    return i


def _hex4(s, end):
    esc = s[end : end + 4]
    if not _HEX4.match(esc):
        raise DecodeError("Invalid \\uXXXX escape sequence", s, end - 2)
    return int(esc, 16), end + 4


def _string(s, end):
    chunks = []
    begin = end - 1
    while True:
        m = _STRING_CHUNK.match(s, end)
        if m is None:
            raise DecodeError("Unterminated string starting at", s, begin)
        end = m.end()
        content, term = m.groups()
        chunks.append(content)
        if term == '"':
            return "".join(chunks), end
        if term != "\\":
            raise DecodeError("Invalid control character %r at", s, end - 1)
        if end >= len(s):
            raise DecodeError("Unterminated string starting at", s, begin)
        esc = s[end]
        if esc != "u":
            if esc not in _ESCAPES:
                raise DecodeError("Invalid \\X escape sequence %r", s, end)
            chunks.append(_ESCAPES[esc])
            end += 1
            continue
        uni, end = _hex4(s, end + 1)
        if uni & 0xFC00 == 0xD800 and s[end : end + 2] == "\\u":
            uni2, end2 = _hex4(s, end + 2)
            if uni2 & 0xFC00 == 0xDC00:
                uni = 0x10000 + (((uni - 0xD800) << 10) | (uni2 - 0xDC00))
                end = end2
        chunks.append(chr(uni))


def _object(s, end):
    pairs: dict[str, object] = {}
    nextchar = s[end : end + 1]
    if nextchar != '"':
        end = _ws(s, end)
        nextchar = s[end : end + 1]
        if nextchar == "}":
            return pairs, end + 1
        if nextchar != '"':
            raise DecodeError("Expecting property name enclosed in double quotes or '}'", s, end)
    end += 1
    while True:
        key, end = _string(s, end)
        end = _ws(s, end)
        if s[end : end + 1] != ":":
            raise DecodeError("Expecting ':' delimiter", s, end)
        end = _ws(s, end + 1)
        value, end = _value(s, end)
        pairs[key] = value
        end = _ws(s, end)
        nextchar = s[end : end + 1]
        end += 1
        if nextchar == "}":
            return pairs, end
        if nextchar != ",":
            raise DecodeError("Expecting ',' delimiter or '}'", s, end - 1)
        comma = end - 1
        end = _ws(s, end)
        nextchar = s[end : end + 1]
        end += 1
        if nextchar != '"':
            if nextchar == "}":
                raise DecodeError("Illegal trailing comma before end of object", s, comma)
            raise DecodeError("Expecting property name enclosed in double quotes", s, end - 1)


def _array(s, end):
    values: list[object] = []
    end = _ws(s, end)
    nextchar = s[end : end + 1]
    if nextchar == "]":
        return values, end + 1
    if nextchar == "":
        raise DecodeError("Expecting value or ']'", s, end)
    while True:
        value, end = _value(s, end)
        values.append(value)
        end = _ws(s, end)
        nextchar = s[end : end + 1]
        end += 1
        if nextchar == "]":
            return values, end
        if nextchar != ",":
            raise DecodeError("Expecting ',' delimiter or ']'", s, end - 1)
        comma = end - 1
        end = _ws(s, end)
        if s[end : end + 1] == "]":
            raise DecodeError("Illegal trailing comma before end of array", s, comma)


def _value(s, idx):
    if idx >= len(s):
        raise DecodeError("Expecting value", s, idx)
    c = s[idx]
    if c == '"':
        return _string(s, idx + 1)
    if c == "{":
        return _object(s, idx + 1)
    if c == "[":
        return _array(s, idx + 1)
    for word, value in (("null", None), ("true", True), ("false", False)):
        if s.startswith(word, idx):
            return value, idx + len(word)
    m = _NUMBER.match(s, idx)
    if m is None:
        raise DecodeError("Expecting value", s, idx)
    integer, frac, exp = m.groups()
    if frac or exp:
        return float(integer + (frac or "") + (exp or "")), m.end()
    return int(integer), m.end()


def loads(s):
    """Parse `s` (str) or raise DecodeError worded like simplejson."""
    idx = 0
    if s[:1] == "\ufeff":
        idx = 1
    obj, end = _value(s, _ws(s, idx))
    end = _ws(s, end)
    if end != len(s):
        raise DecodeError("Extra data", s, end, len(s))
    return obj
