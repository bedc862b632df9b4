"""Shared adapter helpers."""

from __future__ import annotations

import re
import threading

import pytest

from providers.adapter.locks import KeyedLocks
from providers.adapter.options import positive_option
from tests.util import wait_for


def test_keyed_locks_serialise_one_key_not_others_and_forget_released_keys():
    locks = KeyedLocks()
    inside = threading.Event()
    release = threading.Event()
    order: list[str] = []

    def first() -> None:
        with locks.hold("default/web"):
            inside.set()
            release.wait(10)
            order.append("first")

    def second() -> None:
        with locks.hold("default/web"):
            order.append("second")

    t1 = threading.Thread(target=first)
    t1.start()
    assert inside.wait(10)
    t2 = threading.Thread(target=second)
    t2.start()
    wait_for(lambda: locks._locks["default/web"][1][0] == 2, message="the second caller waiting")
    with locks.hold("default/other"):  # another Service is never blocked by this one
        order.append("other")
    release.set()
    t1.join(10)
    t2.join(10)
    assert order == ["other", "first", "second"]
    assert len(locks) == 0


@pytest.mark.parametrize(("raw", "kind", "error"), [
    ("", float, None), ("2.5", float, None), ("3", int, None),
    ("0.5", int, "not an integer"), ("abc", float, "not a number"), ("0", int, "must be > 0"), ("-1", float, "> 0"),
])
def test_positive_option_names_the_option_in_every_error(raw, kind, error):
    if error is None:
        assert positive_option({"k": raw}, "k", 7, kind, provider="x") == (kind(raw) if raw else 7)
    else:
        with pytest.raises(ValueError, match=f"x provider option k='{re.escape(raw)}': .*{error}"):
            positive_option({"k": raw}, "k", 7, kind, provider="x")
