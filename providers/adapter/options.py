"""Provider options (``ProviderContext.options``): parsed once at start-up, errors name the option."""

from __future__ import annotations

from collections.abc import Mapping


def positive_option(options: Mapping[str, str], key: str, default: float, kind: type[float] | type[int] = float,
                    *, provider: str) -> float:
    """``options[key]`` as a number > 0 of ``kind``, else a start-up error naming the option.

    An int option rejects "0.5" rather than truncating it to 0; unset or empty means ``default``.
    """
    raw = options.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise ValueError(f"{provider} provider option {key}={raw!r}: not {what}") from None
    if value <= 0:
        raise ValueError(f"{provider} provider option {key}={raw!r}: must be > 0")
    return value
