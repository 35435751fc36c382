"""An HTTP API order endpoint in the style Powertools for AWS Lambda documents: structured
JSON logs with the Lambda context, the API Gateway v2 event read through its data class, and a
CloudWatch metric written in the embedded metric format (EMF) on standard output."""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2, event_source

logger = Logger(service="orders")
metrics = Metrics(namespace="RealFunctions", service="orders")


@metrics.log_metrics
@logger.inject_lambda_context
@event_source(data_class=APIGatewayProxyEventV2)
def handler(event: APIGatewayProxyEventV2, context: object) -> dict[str, object]:
    order = event.json_body
    logger.append_keys(order_id=order["id"])
    logger.info("order received")
    metrics.add_metric(name="OrderValue", unit=MetricUnit.Count, value=order["quantity"])
    http = event.request_context.http
    return {
        "method": http.method,
        "path": event.raw_path,
        "user_agent": http.user_agent,
        "stage": event.request_context.stage,
        "order": order,
        "header": event.get_header_value("x-tenant"),
    }
