"""What a request check finds: one broken constraint, and where in the request it is.

Shared by the model-driven checks (model_checks.py) and the table of documented limits the
models lack (limits.py), so that neither imports the other's module for its types.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# One violation per part of a path: a member (model name, name on the wire), a list index, a map key.
PathPart = tuple[str, str, str]


@dataclass
class Violation:
    """One broken constraint: where, which value, and what the constraint says."""

    path: tuple[PathPart, ...]
    value: Any
    constraint: str  # as AWS's validation words it: "Member must not be null", …
    missing: bool = False
    # A limit with a message of its own (DynamoDB's "Invalid UpdateExpression: …"): used as is.
    message: str | None = None
    code: str | None = None
