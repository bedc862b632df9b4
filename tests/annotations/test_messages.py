"""Every declared annotation, given a value it does not accept, gets a message that names the key as
written, the value, and what is accepted (issue 8: some named only the key or only the value)."""

from __future__ import annotations

import pytest

from ccm.annotations import registry
from ccm.annotations import types as t
from ccm.annotations.registry import Annotation, parse

#: words with which a message says what is accepted
ACCEPTED = ("must", "one of", "supported", "use ")


def invalid_value(parser: t.Parser) -> str | None:
    """A value ``parser`` refuses (None for parsers that accept every string)."""
    if isinstance(parser, t.GoBool | t.TrueFalse):
        return "maybe"
    if isinstance(parser, t.Int):
        return "12abc"
    if isinstance(parser, t.Enum):
        return "no-such-choice"
    if isinstance(parser, t.Str):
        return "bad value\x01" if parser.pattern else None
    if isinstance(parser, t.IPAddress | t.Cidr):
        return "300.1.2.3/77"
    if isinstance(parser, t.PortOrKeyword | t.PortRef):
        return "70000"
    if isinstance(parser, t.JsonObject):
        return "[1"
    if isinstance(parser, t.List):
        inner = invalid_value(parser.item)
        return f"ok,{inner}" if inner is not None else ",,"
    if isinstance(parser, t.PortList):
        return "80,0"
    if isinstance(parser, t.KeyValues):
        return "a=b=c"
    return None


def _cases() -> list[tuple[Annotation, str, str]]:
    out = []
    for ann in registry.all_annotations():
        value = invalid_value(ann.parser)
        if value is None:
            continue
        key = ann.key_for(port=8080, protocol="TCP") if ann.pattern is not None else ann.key
        out.append((ann, key, value))
    return out


@pytest.mark.parametrize(("ann", "key", "value"), _cases(), ids=lambda v: v.key if isinstance(v, Annotation) else "")
def test_an_invalid_value_names_key_value_and_what_is_accepted(ann, key, value):
    provider = "aws" if "*" in ann.providers else sorted(ann.providers)[0]
    outcome = parse(provider, {key: value})
    messages = [str(f) for f in (*outcome.errors, *outcome.warnings)]
    assert messages, f"{key}={value!r} was accepted"
    [message] = messages
    assert message.startswith(f'annotation {key}="{value}" is invalid: ')
    assert any(word in message for word in ACCEPTED), message


def test_cross_checks_name_every_annotation_involved_with_its_value():
    from ccm.annotations import aws, azure

    [error] = parse("aws", {aws.HEALTHCHECK_TIMEOUT.key: "30", aws.HEALTHCHECK_INTERVAL.key: "20"}).errors
    assert str(error).startswith(f'annotation {aws.HEALTHCHECK_TIMEOUT.key}="30" is invalid: ')
    assert aws.HEALTHCHECK_INTERVAL.key in str(error) and "20" in str(error)
    interval, count = azure.LOAD_BALANCER_HEALTH_PROBE_INTERVAL.key, azure.LOAD_BALANCER_HEALTH_PROBE_NUM_OF_PROBE.key
    [error] = parse("azure", {interval: "30", count: "10"}).errors
    assert str(error).startswith(f'annotation {interval}="30" is invalid: ') and f'{count}="10"' in str(error)
