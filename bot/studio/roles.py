"""Workspace roles and what each may do: viewers read, marketers edit and publish, admins manage users."""

from __future__ import annotations

from typing import Literal, get_args

Role = Literal["viewer", "marketer", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)

# Each role can do everything the roles before it can.
_RANK: dict[Role, int] = {"viewer": 0, "marketer": 1, "admin": 2}


def parse_role(value: str) -> Role:
    for role in ROLES:
        if value == role:
            return role
    raise ValueError(f"unknown role {value!r}; use one of {', '.join(ROLES)}")


def allows(role: Role, needed: Role) -> bool:
    """True when someone with `role` may do what needs `needed`."""
    return _RANK[role] >= _RANK[needed]


def sees_contact_details(role: Role) -> bool:
    """Viewers read the funnel and the leads, never a prospect's name, email or phone."""
    return allows(role, "marketer")
