"""Errors the runtime reports to Lambda, with awslambdaric's error types.

The type strings and the messages built from them are part of the contract with Lambda
users (they show up as `errorType`/`errorMessage` in every failed invoke), so they match
awslambdaric 4.2.2 exactly.
"""

MARSHAL_ERROR = "Runtime.MarshalError"
UNMARSHAL_ERROR = "Runtime.UnmarshalError"
USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"
MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
LAMBDA_CONTEXT_UNMARSHAL_ERROR = "Runtime.LambdaContextUnmarshalError"
LAMBDA_RUNTIME_CLIENT_ERROR = "Runtime.LambdaRuntimeClientError"
STREAM_ERROR = "Runtime.StreamError"


class Fault(Exception):
    """A failure the runtime itself classifies (bad handler, bad input, bad output)."""

    def __init__(self, error_type, message, trace=None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace


class RuntimeAPIError(Exception):
    """The Runtime API cannot be used any more: the runtime must exit (with this message)."""


def error_body(message, error_type, trace, request_id=None):
    """The JSON error document Lambda returns to the caller; key order is awslambdaric's."""
    return {
        "errorMessage": message if message else "",
        "errorType": error_type if error_type else "",
        "requestId": request_id if request_id is not None else "",
        "stackTrace": trace if trace else [],
    }
