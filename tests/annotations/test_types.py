"""The value parsers: accepted spellings, typed results and the error messages users see."""

from __future__ import annotations

import ipaddress
from types import MappingProxyType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccm.annotations.types import (
    GO_FALSE,
    GO_TRUE,
    LABELS,
    UUID,
    AnnotationValueError,
    Cidr,
    Enum,
    GoBool,
    Int,
    IPAddress,
    JsonObject,
    KeyValues,
    List,
    NotFalse,
    PortList,
    PortOrKeyword,
    PortRef,
    Str,
    TrueFalse,
)


def error_of(parser, raw: str) -> str:
    with pytest.raises(AnnotationValueError) as info:
        parser(raw)
    return info.value.message


# --- booleans -------------------------------------------------------------------------------


@given(st.sampled_from(GO_TRUE + GO_FALSE))
def test_go_bool_accepts_exactly_the_go_spellings(raw):
    assert GoBool()(raw) is (raw in GO_TRUE)


@given(st.text(max_size=8))
def test_go_bool_rejects_everything_else(raw):
    if raw in GO_TRUE + GO_FALSE:
        return
    assert "must be a boolean: one of 1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False" in error_of(GoBool(), raw)


@pytest.mark.parametrize("raw", ["", "yes", "on", "tRUE", " true", "true ", "2"])
def test_go_bool_rejects_near_misses(raw):
    with pytest.raises(AnnotationValueError):
        GoBool()(raw)


def test_true_false_is_case_sensitive_unless_declared_otherwise():
    assert TrueFalse()("true") is True
    assert TrueFalse()("false") is False
    assert error_of(TrueFalse(), "True") == 'must be "true" or "false"'
    assert TrueFalse(case_insensitive=True)("TRUE") is True
    assert TrueFalse(case_insensitive=True)("False") is False
    assert "any case" in error_of(TrueFalse(case_insensitive=True), "1")


@pytest.mark.parametrize(("raw", "expected"), [
    ("false", False), ("", False), ("true", True), ("0.0.0.0/0", True), ("False", True), ("no", True),
])
def test_not_false_follows_aws_internal(raw, expected):
    assert NotFalse()(raw) is expected


# --- ints -----------------------------------------------------------------------------------


@given(st.integers(-1000, 1000))
def test_int_range_is_inclusive(n):
    parser = Int(5, 300)
    if 5 <= n <= 300:
        assert parser(str(n)) == n
    else:
        assert error_of(parser, str(n)) == "must be an integer between 5 and 300"


@pytest.mark.parametrize("raw", ["", "10s", "1.5", " 10", "10 ", "1_0", "0x10", "ten", "\u0661\u0660"])
def test_int_is_go_atoi_strict(raw):
    assert error_of(Int(), raw) == "must be an integer"


def test_int_accepts_a_sign_like_atoi():
    assert Int()("+7") == 7
    assert Int(min=-1)("-1") == -1


def test_int_choices_and_open_ranges():
    assert Int(choices=(5, 60))("60") == 60
    assert error_of(Int(choices=(5, 60)), "10") == "must be 5 or 60"
    assert error_of(Int(min=2), "1") == "must be an integer >= 2"
    assert error_of(Int(max=9), "10") == "must be an integer <= 9"


@pytest.mark.parametrize(("parser", "bounds"), [
    (Int(choices=(60, 5, 30)), (5, 60)), (Int(5, 300), (5, 300)), (Int(min=2), (2, None)), (Int(), (None, None))])
def test_int_bounds_hold_every_accepted_value(parser, bounds):
    assert parser.bounds == bounds


# --- enums and strings ----------------------------------------------------------------------


def test_enum_case_rules():
    proto = Enum(("http", "https", "ssl", "tcp"))
    assert proto("ssl") == "ssl"
    assert error_of(proto, "SSL") == "must be one of http, https, ssl or tcp"
    hc = Enum(("TCP", "HTTP"), case_insensitive=True)
    assert hc("http") == "HTTP"  # the declared spelling is handed to adapters
    assert error_of(Enum(("*",)), "all") == 'must be "*"'


def test_enum_deprecated_spelling_maps_to_canonical():
    lb_type = Enum(("Internal",), deprecated=(("internal", "Internal"),))
    assert lb_type("internal") == "Internal"
    with pytest.raises(AnnotationValueError):
        lb_type("INTERNAL")


def test_str_syntax_length_and_emptiness():
    arn = Str(pattern=r"arn:[^\x00-\x20]+", what="an ARN")
    assert arn("arn:aws:acm:us-east-1:123456789012:certificate/x") .startswith("arn:")
    assert error_of(arn, "not-an-arn") == "must be an ARN"
    assert error_of(arn, " ") == "must be an ARN, not empty"
    assert error_of(Str(max_len=3), "abcd") == "must be a string of at most 3 characters"
    assert Str(allow_empty=True)("") == ""
    # Go's white space, not Python's: U+001C is not blank (CEL trim() keeps it), U+3000 is
    assert Str()("\x1c") == "\x1c"
    assert error_of(Str(), "\u3000\x85") == "must be a string, not empty"


def test_str_patterns_must_read_the_same_in_re2():
    with pytest.raises(ValueError, match="explicit classes"):
        Str(pattern=r"\w+")
    with pytest.raises(ValueError, match="explicit classes"):
        Str(pattern=r"(?P<x>a)")


def test_uuid():
    assert UUID("6f1b5b3c-2d1e-4a7b-9c3d-0123456789ab")
    with pytest.raises(AnnotationValueError):
        UUID("6f1b5b3c")


def test_ip_address_family():
    assert IPAddress(4)("10.0.0.1") == "10.0.0.1"
    assert error_of(IPAddress(4), "::1") == "must be an IPv4 address"
    assert IPAddress(6)("2001:DB8::1") == "2001:db8::1"
    assert error_of(IPAddress(), "10.0.0") == "must be an IP address"


@pytest.mark.parametrize(("raw", "expected"), [
    ("10.0.0.1/8", "10.0.0.0/8"), ("192.168.1.0/24", "192.168.1.0/24"), ("2001:db8::1/32", "2001:db8::/32"),
])
def test_cidr_masks_host_bits_like_go_parsecidr(raw, expected):
    assert Cidr()(raw) == expected


@pytest.mark.parametrize("raw", ["10.0.0.1", "10.0.0.0/33", "foo/8", "10.0.0.0/"])
def test_cidr_rejects(raw):
    assert error_of(Cidr(), raw).startswith("must be a CIDR")


def test_port_or_keyword():
    parser = PortOrKeyword("traffic-port")
    assert parser("traffic-port") == "traffic-port"
    assert parser("8080") == 8080
    for bad in ("0", "65536", "http", ""):
        assert error_of(parser, bad) == 'must be "traffic-port" or a port number between 1 and 65535'


def test_json_object():
    assert JsonObject()('{"VipIsp": "CTCC"}') == {"VipIsp": "CTCC"}
    assert error_of(JsonObject(), "[1]") == "must be a JSON object ({...})"
    assert error_of(JsonObject(), "{").startswith("must be a JSON object (")


# --- lists ----------------------------------------------------------------------------------

_item = st.text(st.sampled_from("abcXYZ019-_."), min_size=1, max_size=6)
_space = st.sampled_from(["", " ", "  ", "\t"])


@given(st.lists(st.tuples(_space, _item, _space), min_size=1, max_size=6))
def test_list_trims_items_and_drops_duplicates_in_order(items):
    raw = ",".join(f"{a}{x}{b}" for a, x, b in items)
    expected = tuple(dict.fromkeys(x for _, x, _ in items))
    assert List()(raw) == expected


@given(st.lists(_item, min_size=1, max_size=5), st.integers(0, 5), _space)
def test_list_rejects_an_empty_item_anywhere(items, at, blank):
    items.insert(min(at, len(items)), blank)
    message = error_of(List(), ",".join(items))
    assert message.startswith("must be a comma-separated list without empty items")


def test_list_blank_value():
    assert error_of(List(), "") == "must be a comma-separated list, each a string; not empty"
    assert List(Cidr(), blank_is_empty=True)("  ") == ()


@given(st.lists(st.tuples(st.ip_addresses(v=4), st.integers(0, 32)), min_size=1, max_size=5))
def test_cidr_list_normalises_every_entry(nets):
    raw = " , ".join(f"{ip}/{p}" for ip, p in nets)
    expected = tuple(dict.fromkeys(str(ipaddress.ip_network(f"{ip}/{p}", strict=False)) for ip, p in nets))
    assert List(Cidr())(raw) == expected


def test_cidr_list_names_the_bad_item():
    message = error_of(List(Cidr()), "10.0.0.0/8, 1.2.3.4, 192.168.0.0/16")
    assert message == 'item "1.2.3.4" must be a CIDR such as 10.0.0.0/8 (the prefix length is required)'


def test_list_max_items():
    assert error_of(List(max_items=2), "a,b,c") == "must list at most 2 items (got 3)"


def test_port_ref():
    assert PortRef()("8080") == 8080
    assert PortRef()("https") == "https"
    assert error_of(PortRef(), "0") == "must be a port number between 1 and 65535"
    assert error_of(PortRef(), "-http").startswith("must be a port number or a Service port name")


def test_port_list():
    assert PortList()("443, https ,8443,443") == ("443", "https", "8443")
    assert PortList()("80,*") == ("*",)
    assert error_of(PortList(), "70000") == 'item "70000" must be a port number between 1 and 65535'
    assert "Service port name" in error_of(PortList(), "HTTPS")
    assert error_of(PortList(), "443,").startswith("must be a comma-separated list without empty items")


_key = st.text(st.sampled_from("abcKEY01_.:/-@"), min_size=1, max_size=8)
_value = st.text(st.sampled_from("abcVAL01_.:/-@ "), max_size=8).map(str.strip)


@given(st.dictionaries(_key, _value, min_size=1, max_size=6))
def test_key_values_round_trip(tags):
    raw = ",".join(f" {k} = {v} " if v else (f"{k}=" if len(k) % 2 else k) for k, v in tags.items())
    parsed = KeyValues()(raw)
    assert isinstance(parsed, MappingProxyType)
    assert dict(parsed) == tags


@pytest.mark.parametrize(("raw", "message"), [
    ("a=1,a=2", 'key "a" is given twice'),
    ("a=b=c", 'item "a=b=c" must be key=value with a single "="'),
    ("=v", 'item "=v": the key must be a string, not empty'),
    ("a=1,,b=2", "must be a comma-separated list without empty items (item 2 is empty)"),
])
def test_key_values_rejects(raw, message):
    assert error_of(KeyValues(), raw) == message


def test_key_values_restrictions():
    tga = KeyValues(key_only=False, keys=("preserve_client_ip.enabled",), value=Enum(("true", "false")))
    assert tga("preserve_client_ip.enabled=true") == {"preserve_client_ip.enabled": "true"}
    assert error_of(tga, "preserve_client_ip.enabled") == 'item "preserve_client_ip.enabled" must be key=value'
    assert error_of(tga, "deregistration_delay=5").startswith('key "deregistration_delay" is not supported')
    assert error_of(tga, "preserve_client_ip.enabled=yes") == (
        'the value of "preserve_client_ip.enabled" must be one of true or false')
    assert error_of(KeyValues(reserved_prefix="aws:"), "AWS:x=1") == 'key "AWS:x" uses the reserved prefix "aws:"'


def test_label_filters():
    assert LABELS("node-role.kubernetes.io/lb=,zone=a, gpu") == {
        "node-role.kubernetes.io/lb": "", "zone": "a", "gpu": ""}
    assert "a Kubernetes label key" in error_of(LABELS, "bad key=1")
    assert "a Kubernetes label value" in error_of(LABELS, "k=not ok!")


@pytest.mark.parametrize(("raw", "ok"), [
    ("10.0.0.0/8", True), ("10.1.2.3/8", True), ("2001:db8::/32", True), ("0.0.0.0/0", True),
    ("10.0.0.0/08", False),  # Go netip: no leading zero in the length (Python alone accepts it)
    ("10.0.0.0/255.0.0.0", False),  # no netmask form (Python alone accepts it)
    ("::ffff:10.0.0.0/104", False),  # Kubernetes isCIDR: no IPv4-mapped IPv6
    ("fe80::%eth0/64", False),  # no zone
    ("010.0.0.0/8", False), ("10.0.0.0/33", False), ("10.0.0.0/+8", False), ("10.0.0.0/ 8", False),
])
def test_cidr_follows_kubernetes_is_cidr(raw, ok):
    if ok:
        assert Cidr()(raw)
    else:
        assert error_of(Cidr(), raw)


def test_ip_address_has_no_zone_or_mapped_form():
    assert IPAddress()("2001:DB8::1") == "2001:db8::1"
    for raw in ("fe80::1%eth0", "::ffff:1.2.3.4", "1.2.3.04"):
        assert error_of(IPAddress(), raw) == "must be an IP address"


def test_int_is_go_atoi_on_int64():
    assert Int()("+0009223372036854775807") == 2**63 - 1
    assert Int()("-9223372036854775808") == -(2**63)
    assert error_of(Int(), "9223372036854775808") == "must be an integer"


def test_case_insensitive_means_ascii_case():
    kelvin = "\u212a"  # str.lower() folds it to "k"; CEL lowerAscii() does not
    assert Enum(("k",), case_insensitive=True)("K") == "k"
    assert error_of(Enum(("k",), case_insensitive=True), kelvin)
