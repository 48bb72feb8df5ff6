"""SES sender identities: a store's sender domain must be verified before Aftercare can send for it."""

from __future__ import annotations

from typing import Any

from functions.shared import aws
from functions.shared.errors import DependencyFailed, Throttled


def ensure_sender_domain(sender_email: str) -> dict[str, Any]:
    """Start (or look up) verification of the sender's domain; return what the store owner must do.

    The answer lists the DKIM CNAME records to publish while the domain is not yet verified.
    """
    from botocore.exceptions import ClientError

    domain = sender_email.rsplit("@", 1)[-1].lower()
    client = aws.sesv2()
    try:
        try:
            identity: Any = client.get_email_identity(EmailIdentity=domain)
        except ClientError as error:
            if aws.error_code(error) != "NotFoundException":
                raise
            identity = client.create_email_identity(EmailIdentity=domain)
    except ClientError as error:
        if aws.error_code(error) in aws.THROTTLING_CODES:
            raise Throttled("SES throttled while checking the sender domain") from error
        raise DependencyFailed(
            f"SES failed while checking the sender domain: {aws.error_code(error)}"
        ) from error
    verified = bool(identity.get("VerifiedForSendingStatus"))
    tokens = identity.get("DkimAttributes", {}).get("Tokens", []) or []
    return {
        "domain": domain,
        "verified": verified,
        "dkim_records": []
        if verified
        else [
            {"type": "CNAME", "name": f"{t}._domainkey.{domain}", "value": f"{t}.dkim.amazonses.com"}
            for t in tokens
        ],
    }
