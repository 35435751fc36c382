"""Turn an SQS batch into compact, sorted JSON lines with orjson (compiled Rust): message
bodies parsed, enriched with dataclasses, UUIDs and timezone-aware datetimes that the standard
json module cannot serialise, then read back."""

import dataclasses
import uuid
from datetime import datetime, timezone

import orjson


@dataclasses.dataclass
class Envelope:
    message_id: uuid.UUID
    received: datetime
    body: dict


def handler(event, context):
    lines = []
    for record in event["Records"]:
        sent = int(record["attributes"]["SentTimestamp"]) / 1000
        envelope = Envelope(uuid.UUID(record["messageId"]),
                            datetime.fromtimestamp(sent, tz=timezone.utc),
                            orjson.loads(record["body"]))
        lines.append(orjson.dumps(envelope, option=orjson.OPT_SORT_KEYS).decode())
    return {"lines": lines, "read_back": [orjson.loads(line)["body"] for line in lines],
            "orjson": orjson.__version__}
