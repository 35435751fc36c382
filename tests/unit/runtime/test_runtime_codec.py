"""lambundle's JSON codec against awslambdaric's own marshaller (simplejson)."""

from __future__ import annotations

import math
from collections import namedtuple
from decimal import Decimal

import pytest

from runtime import faults
from runtime.codec import Codec

Point = namedtuple("Point", "x y")


class AsDict:
    def _asdict(self):
        return {"k": "v"}


RESULTS = [
    {"a": 1, "b": [1, 2.5, None, True, False]},
    {1: 2, 1.5: 3, True: 4, None: 5},  # noqa: F601 - True and 1 collide, as in JSON keys
    {Decimal("1.5"): 1},
    {(1, 2): 3},
    {b"key": 1},
    {"a": b"bytes value"},
    Point(1, 2),
    [Point(1, [Point(2, 3)])],
    {"p": (Point(1, 2), (3, 4))},
    AsDict(),
    {1, 2},
    float("nan"),
    [float("inf"), float("-inf")],
    Decimal("NaN"),
    Decimal("-NaN"),
    Decimal("sNaN"),
    Decimal("1E+2"),
    Decimal("-0"),
    Decimal("Infinity"),
    Decimal("3.14159265358979323846264338327950288"),
    {"a": [Decimal("1.10"), {"b": Decimal("3")}], "c": Decimal("NaN")},
    2**70,
    "plain",
    'é中文😀\u2028 \x00\x1f"\\',
    {"ключ": "значение"},
    object(),
    (1, 2),
    range(3),
    1e300,
    -0.0,
    True,
    None,
    "",
    [],
    {},
]


def _awslambdaric_marshaller(monkeypatch, execution_env):
    if execution_env is None:
        monkeypatch.delenv("AWS_EXECUTION_ENV", raising=False)
    else:
        monkeypatch.setenv("AWS_EXECUTION_ENV", execution_env)
    from awslambdaric.lambda_runtime_marshaller import LambdaMarshaller

    return LambdaMarshaller()  # reads AWS_EXECUTION_ENV when constructed


def _outcome(marshal, value):
    try:
        body, content_type = marshal(value)
    except Exception as exc:
        return ("error", getattr(exc, "msg", None) or getattr(exc, "message", None))
    if isinstance(body, str):
        body = body.encode("utf-8")
    return (body, content_type)


@pytest.mark.parametrize(
    "execution_env",
    [
        None,
        "AWS_Lambda_python3.11",
        "AWS_Lambda_python3.12",
        "AWS_Lambda_python3.13",
        "AWS_Lambda_Image",
    ],
)
@pytest.mark.parametrize("value", RESULTS, ids=lambda v: type(v).__name__)
def test_marshal_matches_awslambdaric(monkeypatch, execution_env, value):
    theirs = _awslambdaric_marshaller(monkeypatch, execution_env)
    ours = Codec(
        ensure_ascii=execution_env not in {"AWS_Lambda_python3.12", "AWS_Lambda_python3.13"}
    )
    assert _outcome(ours.marshal_response, value) == _outcome(theirs.marshal_response, value)


def test_bytes_result_is_passed_through_as_application_unknown():
    assert Codec().marshal_response(b"\x89PNG") == (b"\x89PNG", "application/unknown")


def test_marshal_error_message():
    with pytest.raises(faults.Fault) as info:
        Codec().marshal_response({"when": object})
    assert info.value.error_type == "Runtime.MarshalError"
    assert (
        info.value.message
        == "Unable to marshal response: Object of type type is not JSON serializable"
    )


def test_decimal_token_cannot_be_forged_by_user_strings():
    codec = Codec()
    text = codec.encode({"s": "lambundle-decimal-0", "d": Decimal("2.50")})
    assert text == '{"s": "lambundle-decimal-0", "d": 2.50}'


EVENTS = [
    b"",
    b"{",
    b'{"a":1',
    b'{"a" 1}',
    b"[1,]",
    b'{"a":1}x',
    b"\x89PNG\r\n",
    b"nan",
    b"NaN",
    b"Infinity",
    b"-Infinity",
    b"{'a':1}",
    b'"\xff"',
    b"\xef\xbb\xbf{}",
    '{"a":"\ud800"}'.encode("utf-8", "surrogatepass"),
    b'{"a":1,}',
    b"1 2",
    b"  ",
    b'"abc',
    b'"\\x"',
    b"[1e400]",
    b'"\x01"',
    b"[",
    b"[1",
    b"[1 2]",
    b'{"a":}',
    b'{"a":1 "b"}',
    b'"\\u12"',
    b'"\\ud800\\udc00"',
    b"-",
    b"01",
    b"1.",
    b'{"a":[1,{"b":2,}]}',
    b'\n\n  {"a":\n 1,\n}',
    b'{"a":1}\n',
    b"tru",
    b"[true, false, null]",
    b"1e5",
    b"-0.5e-3",
    b'"a\\/b\\n\\u00e9"',
    b'{"nested": {"deep": [1, {"x": "y"}]}, "n": 12345678901234567890}',
    b'{"a": 1, "a": 2}',
    '{"é": "中"}'.encode(),
]


@pytest.mark.parametrize("body", EVENTS)
@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", None, "image/png"]
)
def test_unmarshal_matches_awslambdaric(monkeypatch, body, content_type):
    theirs = _awslambdaric_marshaller(monkeypatch, None)
    ours = Codec()

    def outcome(unmarshal):
        try:
            value = unmarshal(body, content_type)
        except Exception as exc:
            return ("error", getattr(exc, "msg", None) or getattr(exc, "message", None))
        return ("ok", repr(value))

    assert outcome(ours.unmarshal_request) == outcome(theirs.unmarshal_request)


def test_unmarshal_error_type():
    with pytest.raises(faults.Fault) as info:
        Codec().unmarshal_request(b"{", "application/json")
    assert info.value.error_type == "Runtime.UnmarshalError"


def test_decoded_floats_are_floats():
    value = Codec().decode(b'{"f": 1.5, "i": 2}')
    assert value == {"f": 1.5, "i": 2}
    assert isinstance(value["f"], float) and not math.isnan(value["f"])
