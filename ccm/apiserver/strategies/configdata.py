"""core/v1 ConfigMaps, Secrets and ServiceAccounts: what ``kubectl create configmap|secret|token`` need.

Validation follows pkg/apis/core/validation: keys are config keys, data is at most 1 MiB, an
``immutable`` object keeps its data (and stays immutable), a Secret's ``stringData`` is folded
into ``data`` on write and never stored, and its ``type`` cannot change.
"""

from __future__ import annotations

import base64
import binascii
import re

from ccm.apiserver import fielderrors as fe
from ccm.apiserver.fielderrors import FieldError
from ccm.apiserver.strategies.base import Obj, Strategy

MAX_DATA_BYTES = 1024 * 1024
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_CONFIG_KEY_MSG = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  " \
    "or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"


def _key_errors(key: str, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if len(key) > 253:
        errs.append(fe.invalid(path, key, "must be no more than 253 characters"))
    if not _CONFIG_KEY.match(key):
        errs.append(fe.invalid(path, key, _CONFIG_KEY_MSG))
    if key in (".", ".."):
        errs.append(fe.invalid(path, key, f"must not be '{key}'"))
    elif key.startswith(".."):
        errs.append(fe.invalid(path, key, "must not start with '..'"))
    return errs


def _immutable_errors(new: Obj, old: Obj, fields: tuple[str, ...]) -> list[FieldError]:
    if not old.get("immutable"):
        return []
    errs = [fe.forbidden("", "field is immutable when `immutable` is set")
            for f in fields if (new.get(f) or {}) != (old.get(f) or {})][:1]
    if not new.get("immutable"):
        errs.append(fe.forbidden("immutable", "field is immutable when `immutable` is set"))
    return errs


class ConfigMapStrategy(Strategy):
    plural = "configmaps"
    singular = "configmap"
    kind = "ConfigMap"
    model = "V1ConfigMap"
    short_names = ("cm",)

    def validate(self, obj: Obj) -> list[FieldError]:
        errs: list[FieldError] = []
        total = 0
        data, binary = obj.get("data") or {}, obj.get("binaryData") or {}
        for key, value in data.items():
            errs += _key_errors(key, f"data[{key}]")
            total += len(key) + len(str(value))
        for key, value in binary.items():
            errs += _key_errors(key, f"binaryData[{key}]")
            if key in data:
                errs.append(fe.invalid(f"binaryData[{key}]", key, "duplicate of key present in data"))
            total += len(key) + len(str(value)) * 3 // 4
        if total > MAX_DATA_BYTES:
            errs.append(fe.too_long("", MAX_DATA_BYTES))
        return errs

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return self.validate(new) + _immutable_errors(new, old, ("data", "binaryData"))


class SecretStrategy(Strategy):
    plural = "secrets"
    singular = "secret"
    kind = "Secret"
    model = "V1Secret"

    def default(self, obj: Obj) -> None:
        if not obj.get("type"):
            obj["type"] = "Opaque"
        string_data = obj.pop("stringData", None)
        if isinstance(string_data, dict) and string_data:
            data = obj["data"] = dict(obj.get("data") or {})
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()

    def validate(self, obj: Obj) -> list[FieldError]:
        errs: list[FieldError] = []
        total = 0
        for key, value in (obj.get("data") or {}).items():
            errs += _key_errors(key, f"data[{key}]")
            try:
                total += len(base64.b64decode(value, validate=True))
            except (binascii.Error, ValueError, TypeError):
                errs.append(fe.invalid(f"data[{key}]", "<secret contents redacted>", "must be base64-encoded"))
        if total > MAX_DATA_BYTES:
            errs.append(fe.too_long("data", MAX_DATA_BYTES))
        return errs

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = self.validate(new) + _immutable_errors(new, old, ("data",))
        if new.get("type") != old.get("type"):
            errs.append(fe.invalid("type", new.get("type"), "field is immutable"))
        return errs


class ServiceAccountStrategy(Strategy):
    plural = "serviceaccounts"
    singular = "serviceaccount"
    kind = "ServiceAccount"
    model = "V1ServiceAccount"
    short_names = ("sa",)
    #: POST .../serviceaccounts/NAME/token (authentication.k8s.io/v1 TokenRequest), see tokens.py
    extra_subresources = ("token",)
