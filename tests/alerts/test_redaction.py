"""What redaction replaces (the rules shared by log lines and alerts), and what it leaves."""

from __future__ import annotations

import pytest

from actors.redaction import redact


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("token gt-AbCdEfGh12.IjKlMnOp34QrSt used", "IjKlMnOp34QrSt"),
        ("Authorization: Bearer s3cr3t-v4lue-here", "s3cr3t-v4lue-here"),
        ("Authorization: Basic ZGVtbzpkZW1vLXBhc3N3b3Jk", "ZGVtbzpkZW1vLXBhc3N3b3Jk"),
        ("GET https://demo:hunter22@registry.example.org/v2/", "hunter22"),
        ("POST https://hooks.slack.com/services/T01/B02/abcdef failed", "T01/B02/abcdef"),
        ("GET /token?service=x&access_token=zzzzzzzz1 failed", "zzzzzzzz1"),
        ('{"password": "correct-horse"}', "correct-horse"),
        ("secret=0penSesame rejected", "0penSesame"),
    ],
)
def test_credentials_are_replaced(text: str, secret: str) -> None:
    redacted = redact(text)
    assert secret not in redacted
    assert "<redacted>" in redacted


@pytest.mark.parametrize(
    "text",
    [
        "Lab pod alice-nb went to phase Failed",
        "token request to https://registry.example.org/registry/token failed with HTTP 500",
        "ConfigMap alice-nb-env in nublado-alice: 403 Forbidden",
        "the token endpoint is disabled",
    ],
)
def test_ordinary_messages_are_left_alone(text: str) -> None:
    assert redact(text) == text


def test_registered_secrets_are_replaced_wherever_they_appear() -> None:
    assert redact("posting to https://h/x/y-z failed", ("https://h/x/y-z",)) == (
        "posting to <redacted> failed"
    )
