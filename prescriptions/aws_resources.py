"""AWS resources of the prescriptions area: the asymmetric KMS key that signs issued prescriptions.

The private half never leaves KMS; pharmacies verify with the public key alone
(``GET /api/prescriptions/signing-key/``).
"""

from __future__ import annotations

from django.conf import settings

from phb.aws.provisioning import KmsKey, Resource


def resources() -> list[Resource]:
    return [
        KmsKey(
            name=settings.PRESCRIPTION_SIGNING_KMS_ALIAS,
            description="PHB prescriptions: signs issued prescriptions (ECDSA P-256, SHA-256)",
            key_usage="SIGN_VERIFY",
            key_spec="ECC_NIST_P256",
            tags={**settings.AWS_RESOURCE_TAGS, "DataType": "PrescriptionSignatures"},
        ),
    ]
