"""cdk-nag acknowledgements for the whole stack: each finding we accept, with the reason it is right."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import IConstruct

ACKNOWLEDGEMENTS: dict[str, str] = {
    "AwsSolutions::AwsSolutions-SMG4": (
        "Link-signing keys rotate by adding a key id to the keyring (docs/operations.md); automatic "
        "rotation would replace the key and break every link already in inboxes. The id key (invite ids, "
        "suppression keys) must not rotate automatically either: a new key orphans every stored "
        "suppression key, so a suppressed person could be mailed (docs/operations.md, 'The id key')."
    ),
}


def acknowledge_findings(scope: IConstruct) -> None:
    validations = cdk.Validations.of(scope)
    for finding, reason in ACKNOWLEDGEMENTS.items():
        validations.acknowledge(cdk.Acknowledgment(id=finding, reason=reason))
