"""Reading settings from the environment: typed values with clear errors, shared by every settings module."""
from __future__ import annotations

from collections.abc import Mapping

from .errors import InvalidInput

TRUE = ("1", "true", "yes", "on")


def env_int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    """A whole number at least `minimum`; unset or blank gives `default`."""
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"setting {name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise InvalidInput(f"setting {name} must be at least {minimum}")
    return value


def env_float(env: Mapping[str, str], name: str, default: float, minimum: float | None = None) -> float:
    """A number (at least `minimum` when given); unset or blank gives `default`."""
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput(f"setting {name}={raw!r} is not a number") from None
    if minimum is not None and value < minimum:
        raise InvalidInput(f"setting {name} must be at least {minimum:g}")
    return value


def env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    return raw.strip().lower() in TRUE


def env_first(env: Mapping[str, str], *names: str) -> str | None:
    """The first of `names` that is set and not blank."""
    return next((env[n] for n in names if env.get(n)), None)
