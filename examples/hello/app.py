"""The smallest Lambda function: `app.handler`, called with (event, context)."""


def handler(event, context):
    name = event.get("name", "world") if isinstance(event, dict) else "world"
    return {"message": f"hello, {name}", "request_id": context.aws_request_id}
