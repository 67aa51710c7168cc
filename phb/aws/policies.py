"""Bucket policies shared by every private bucket."""

from __future__ import annotations

from typing import Any


def deny_insecure_and_unencrypted(bucket: str, *, encryption: str) -> dict[str, Any]:
    """Refuse plain HTTP and uploads that do not ask for the bucket's encryption.

    Conditional: attached on real AWS only (``AWS_ATTACH_BUCKET_POLICIES``), since the emulator
    mis-applies conditions and would deny everything.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {
                "Sid": "DenyUnencryptedObjectUploads",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
                "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": encryption}},
            },
        ],
    }
