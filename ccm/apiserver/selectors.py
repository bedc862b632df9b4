"""Label and field selectors (apimachinery ``labels.Parse`` and ``fields.ParseSelector``)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Mapping

from ccm.apiserver.errors import bad_request
from ccm.apiserver.validation import is_label_value, is_qualified_name

_TOKEN = re.compile(r"\s*(!=|==|=|\(|\)|,|!|[^\s!=(),<>]+|<|>)")


@dataclasses.dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!", "gt", "lt"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op in ("=", "in"):
            return present and value in self.values
        if self.op in ("!=", "notin"):
            return not present or value not in self.values
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if not present:
            return False
        try:
            have, want = int(value or ""), int(self.values[0])
        except ValueError:
            return False
        return have > want if self.op == "gt" else have < want


class LabelSelector:
    """A parsed label selector; the empty selector matches everything."""

    def __init__(self, requirements: tuple[Requirement, ...]) -> None:
        self.requirements = requirements

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise bad_request(f"unable to parse requirement: found '{text[pos:]}', expected: identifier")
        out.append(m.group(1))
        pos = m.end()
    return out


def _check_key(key: str) -> None:
    errs = is_qualified_name(key)
    if errs:
        raise bad_request(f'unable to parse requirement: values[0][{key}]: Invalid value: "{key}": '
                          + "; ".join(errs))


def _check_value(key: str, value: str) -> None:
    errs = is_label_value(value)
    if errs:
        raise bad_request(f'unable to parse requirement: values[0][{key}]: Invalid value: "{value}": '
                          + "; ".join(errs))


def parse_label_selector(text: str | None) -> LabelSelector:
    """Parse ``a=b,c!=d,e in (x,y),!f,g``; errors are 400s as kube-apiserver sends them."""
    if not text or not text.strip():
        return LabelSelector(())
    toks = _tokens(text)
    reqs: list[Requirement] = []
    i = 0

    def expect_ident(what: str) -> str:
        nonlocal i
        if i >= len(toks) or toks[i] in ("!=", "==", "=", "(", ")", ",", "!", "<", ">"):
            found = toks[i] if i < len(toks) else "EOS"
            raise bad_request(f"unable to parse requirement: found '{found}', expected: {what}")
        i += 1
        return toks[i - 1]

    while i < len(toks):
        if toks[i] == "!":
            i += 1
            key = expect_ident("identifier after '!'")
            _check_key(key)
            reqs.append(Requirement(key, "!"))
        else:
            key = expect_ident("identifier")
            _check_key(key)
            op = toks[i] if i < len(toks) else ","
            if op == ",":
                reqs.append(Requirement(key, "exists"))
            elif op in ("=", "==", "!="):
                i += 1
                value = ""
                if i < len(toks) and toks[i] != ",":
                    value = expect_ident("identifier")
                _check_value(key, value)
                reqs.append(Requirement(key, "!=" if op == "!=" else "=", (value,)))
            elif op in ("<", ">"):
                i += 1
                value = expect_ident("integer")
                if not value.isdigit():
                    raise bad_request("unable to parse requirement: for 'Gt', 'Lt' operators, the value "
                                      "must be an integer")
                reqs.append(Requirement(key, "gt" if op == ">" else "lt", (value,)))
            elif op in ("in", "notin"):
                i += 1
                if i >= len(toks) or toks[i] != "(":
                    raise bad_request("unable to parse requirement: found '"
                                      + (toks[i] if i < len(toks) else "EOS") + "', expected: '('")
                i += 1
                values: list[str] = []
                while i < len(toks) and toks[i] != ")":
                    if toks[i] == ",":
                        i += 1
                        continue
                    _check_value(key, toks[i])
                    values.append(toks[i])
                    i += 1
                if i >= len(toks):
                    raise bad_request("unable to parse requirement: found 'EOS', expected: ')'")
                i += 1
                reqs.append(Requirement(key, op, tuple(values)))
            else:
                raise bad_request(f"unable to parse requirement: found '{op}', expected: in, notin, =, "
                                  f"==, !=, gt, lt")
        if i < len(toks):
            if toks[i] != ",":
                raise bad_request(f"found '{toks[i]}', expected: ',' or 'end of string'")
            i += 1
    return LabelSelector(tuple(reqs))


@dataclasses.dataclass(frozen=True, slots=True)
class FieldRequirement:
    field: str
    value: str
    negate: bool


class FieldSelector:
    def __init__(self, requirements: tuple[FieldRequirement, ...]) -> None:
        self.requirements = requirements

    def matches(self, fields: Mapping[str, str]) -> bool:
        for r in self.requirements:
            have = fields.get(r.field, "")
            if (have == r.value) == r.negate:
                return False
        return True

    @property
    def empty(self) -> bool:
        return not self.requirements

    def exact(self, field: str) -> str | None:
        """The value this selector pins ``field`` to (used to narrow a list to one name)."""
        for r in self.requirements:
            if r.field == field and not r.negate:
                return r.value
        return None


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts, cur, esc = [], [], False
    for ch in text:
        if esc:
            cur.append(ch)
            esc = False
        elif ch == "\\":
            cur.append(ch)
            esc = True
        elif ch == sep:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def parse_field_selector(text: str | None, supported: Collection[str],
                         aliases: Mapping[str, str] | None = None) -> FieldSelector:
    """Parse ``a=b,c!=d``; a field the resource does not index is a 400 like kube-apiserver's."""
    if not text or not text.strip():
        return FieldSelector(())
    reqs: list[FieldRequirement] = []
    for part in _split_unescaped(text, ","):
        if not part:
            continue
        for op, negate in (("!=", True), ("==", False), ("=", False)):
            if op in part:
                field, _, value = part.partition(op)
                reqs_negate = negate
                break
        else:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        field = field.strip()
        field = (aliases or {}).get(field, field)
        if field not in supported:
            raise bad_request(f"field label not supported: {field}")
        reqs.append(FieldRequirement(field, _unescape(value), reqs_negate))
    return FieldSelector(tuple(reqs))
