"""The shared controller-test helpers themselves: a wait must not pass on a check that says "no"."""

from __future__ import annotations

import kubernetes.client
import pytest

from tests.providers.servicecluster import ServiceCluster


def test_wait_polls_through_falsy_answers_and_assertions() -> None:
    cluster = ServiceCluster(kubernetes.client.ApiClient())
    answers = iter([False, [], 0, AssertionError("not yet"), True])

    def check() -> object:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert cluster.wait(check, "a check that turns true", timeout=5)
    assert next(answers, "drained") == "drained"
    assert cluster.wait(lambda: None, "a check that returns nothing once it stops raising", timeout=1)
    with pytest.raises(AssertionError, match=r"timed out .* a check that stays false"):
        cluster.wait(lambda: False, "a check that stays false", timeout=0.1)
