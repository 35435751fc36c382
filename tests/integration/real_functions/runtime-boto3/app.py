"""A function that relies on the AWS SDK that Lambda's python3.X runtimes carry, without
bundling it (requirements.txt names no boto3): a presigned S3 download link, signed with the
function's credentials, and an item in DynamoDB's attribute-value form. No request is sent."""

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

s3 = boto3.client("s3")


def handler(event, context):
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": event["bucket"], "Key": event["key"]}, ExpiresIn=300
    )
    item = {k: TypeSerializer().serialize(v) for k, v in event["item"].items()}
    back = {k: TypeDeserializer().deserialize(v) for k, v in item.items()}
    return {
        "boto3": boto3.__version__,
        "boto3_file": boto3.__file__,
        "region": s3.meta.region_name,
        "url": url,
        "item": item,
        "round_trip": {k: str(v) for k, v in sorted(back.items())},
    }
