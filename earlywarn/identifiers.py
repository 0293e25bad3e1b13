"""Identifiers: unified social credit codes and hierarchical area codes.

Enterprises are keyed by the 18-character unified social credit code
(统一社会信用代码, GB 32100-2015); its last character is a check character
over the first 17, so a mistyped code is refused at the door rather than
creating a phantom enterprise.

Areas are keyed by a hierarchical numeric code: the 6-digit county division
code, then 3 digits of street (township), 3 of community (village) and 3 of
grid. A code may stop at any level, so an alert can be rolled up and routed
level by level: grid → community → street → district.

>>> is_valid_uscc("91350100M000100Y43")
True
>>> is_valid_uscc("91350100M000100Y44")
False
>>> make_uscc("91330110MA2AXXXX0")
'91330110MA2AXXXX0N'
>>> area_parent("330110001002003")
'330110001002'
>>> area_level("330110001")
'street'
"""
from __future__ import annotations

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(USCC_CHARSET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

AREA_LEVELS: dict[int, str] = {6: "district", 9: "street", 12: "community", 15: "grid"}
"""Length of an area code → the level it names."""


class IdentifierError(ValueError):
    """An identifier that fails its format or check."""


def uscc_check_char(first17: str) -> str:
    """The GB 32100-2015 check character for the first 17 characters."""
    if len(first17) != 17:
        raise IdentifierError(f"need 17 characters before the check character, got {len(first17)}")
    try:
        total = sum(_USCC_VALUE[c] * w for c, w in zip(first17, _USCC_WEIGHTS))
    except KeyError as exc:
        raise IdentifierError(f"character {exc.args[0]!r} is not allowed in a credit code") from None
    return USCC_CHARSET[(31 - total % 31) % 31]


def make_uscc(first17: str) -> str:
    """Complete 17 characters into a valid credit code (for simulators and tests)."""
    return first17 + uscc_check_char(first17)


def uscc_problem(code: str) -> str | None:
    """Why ``code`` is not a valid credit code, or None if it is."""
    if not isinstance(code, str) or len(code) != 18:
        return f"credit code must have 18 characters, got {len(code) if isinstance(code, str) else type(code).__name__}"
    bad = [c for c in code if c not in _USCC_VALUE]
    if bad:
        return f"character {bad[0]!r} is not allowed in a credit code"
    if not code[2:8].isdigit():
        return f"characters 3-8 must be the administrative division code (digits), got {code[2:8]!r}"
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        return f"check character is {code[17]!r}, expected {expected!r}"
    return None


def is_valid_uscc(code: str) -> bool:
    return uscc_problem(code) is None


def area_problem(code: str) -> str | None:
    """Why ``code`` is not a valid hierarchical area code, or None."""
    if not isinstance(code, str) or not code.isdigit() or not code.isascii():
        return f"area code must be digits, got {code!r}"
    if len(code) not in AREA_LEVELS:
        return f"area code must have 6, 9, 12 or 15 digits (district/street/community/grid), got {len(code)}"
    return None


def area_level(code: str) -> str:
    """``district``, ``street``, ``community`` or ``grid``."""
    problem = area_problem(code)
    if problem:
        raise IdentifierError(problem)
    return AREA_LEVELS[len(code)]


def area_parent(code: str) -> str | None:
    """The area one level up, or None for a district."""
    area_level(code)
    return None if len(code) == 6 else code[:-3]


def area_ancestors(code: str) -> list[str]:
    """The code and every level above it, most specific first."""
    out = [code]
    while (parent := area_parent(out[-1])) is not None:
        out.append(parent)
    return out
