"""S3 errors as MinIO and SeaweedFS answer them: the code, the HTTP status and the exact message.

The wire shape (``<Error><Code>..</Code><Message>..</Message><Resource>..</Resource>
<RequestId>..</RequestId></Error>``) is written by :mod:`emulator.objectstore.responses`.
"""

from __future__ import annotations


class S3Error(Exception):
    """One S3 error answer."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def access_denied() -> S3Error:
    return S3Error("AccessDenied", "Access Denied.", 403)


def no_such_bucket() -> S3Error:
    return S3Error("NoSuchBucket", "The specified bucket does not exist", 404)


def no_such_key() -> S3Error:
    return S3Error("NoSuchKey", "The specified key does not exist.", 404)


def bucket_already_owned_by_you() -> S3Error:
    return S3Error("BucketAlreadyOwnedByYou",
                   "Your previous request to create the named bucket succeeded and you already "
                   "own it.", 409)


def bucket_not_empty() -> S3Error:
    return S3Error("BucketNotEmpty", "The bucket you tried to delete is not empty", 409)


def invalid_bucket_name() -> S3Error:
    return S3Error("InvalidBucketName", "The specified bucket is not valid.", 400)


def key_too_long() -> S3Error:
    return S3Error("KeyTooLongError", "Your key is too long", 400)


def invalid_max_keys() -> S3Error:
    return S3Error("InvalidArgument",
                   "Argument maxKeys must be an integer between 0 and 2147483647", 400)


def invalid_range() -> S3Error:
    return S3Error("InvalidRange", "The requested range is not satisfiable", 416)


def malformed_xml() -> S3Error:
    return S3Error("MalformedXML", "The XML you provided was not well-formed or did not "
                   "validate against our published schema.", 400)


def method_not_allowed() -> S3Error:
    return S3Error("MethodNotAllowed",
                   "The specified method is not allowed against this resource.", 405)


def not_implemented() -> S3Error:
    return S3Error("NotImplemented",
                   "A header you provided implies functionality that is not implemented", 501)


def internal_error() -> S3Error:
    return S3Error("InternalError", "We encountered an internal error, please try again.", 500)


# -- authentication ----------------------------------------------------------------------------


def invalid_access_key_id(seaweedfs: bool) -> S3Error:
    """MinIO and SeaweedFS word this one differently."""
    if seaweedfs:
        return S3Error("InvalidAccessKeyId",
                       "The access key ID you provided does not exist in our records.", 403)
    return S3Error("InvalidAccessKeyId",
                   "The Access Key Id you provided does not exist in our records.", 403)


def signature_does_not_match() -> S3Error:
    return S3Error("SignatureDoesNotMatch",
                   "The request signature we calculated does not match the signature you "
                   "provided. Check your key and signing method.", 403)


def content_sha256_mismatch() -> S3Error:
    return S3Error("XAmzContentSHA256Mismatch",
                   "The provided 'x-amz-content-sha256' header does not match what was "
                   "computed.", 400)


def signature_version_not_supported() -> S3Error:
    return S3Error("InvalidRequest", "The authorization mechanism you have provided is not "
                   "supported. Please use AWS4-HMAC-SHA256.", 400)


def credential_malformed() -> S3Error:
    return S3Error("AuthorizationQueryParametersError",
                   "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; "
                   "expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".", 400)


def missing_signed_headers() -> S3Error:
    return S3Error("InvalidArgument", "Signature header missing SignedHeaders field.", 400)


def invalid_query_params() -> S3Error:
    return S3Error("AuthorizationQueryParametersError",
                   "Query-string authentication version 4 requires the X-Amz-Algorithm, "
                   "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
                   "X-Amz-Expires parameters.", 400)


def malformed_date() -> S3Error:
    return S3Error("AccessDenied",
                   "AWS authentication requires a valid Date or x-amz-date header", 400)


def malformed_expires() -> S3Error:
    return S3Error("AuthorizationQueryParametersError", "X-Amz-Expires should be a number", 400)


def maximum_expires() -> S3Error:
    return S3Error("AuthorizationQueryParametersError",
                   "X-Amz-Expires must be less than a week (in seconds); that is, the given "
                   "X-Amz-Expires must be less than 604800 seconds", 400)


def expired_presigned_request() -> S3Error:
    return S3Error("AccessDenied", "Request has expired", 403)


def request_not_ready() -> S3Error:
    return S3Error("AccessDenied", "Request is not valid yet", 403)


def request_time_too_skewed() -> S3Error:
    return S3Error("RequestTimeTooSkewed", "The difference between the request time and the "
                   "server's time is too large.", 403)


def incomplete_body() -> S3Error:
    return S3Error("IncompleteBody",
                   "You did not provide the number of bytes specified by the Content-Length "
                   "HTTP header.", 400)
