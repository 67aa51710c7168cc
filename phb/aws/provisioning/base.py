"""What every provisioning resource shares: the ``Change`` it reports and the ``Resource`` base."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from botocore.exceptions import ClientError

Action = Literal["created", "changed", "unchanged", "drift", "missing"]


@dataclass
class Change:
    kind: str
    name: str
    action: Action
    detail: str = ""

    def __str__(self) -> str:
        suffix = f" ({self.detail})" if self.detail else ""
        return f"{self.action:9} {self.kind} {self.name}{suffix}"


def _error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


class Resource:
    kind: ClassVar[str] = "resource"
    order: ClassVar[int] = 50
    name: str

    def ensure(self, *, check: bool) -> list[Change]:  # pragma: no cover - interface
        raise NotImplementedError

    # Helpers for subclasses ---------------------------------------------------------------
    def _converge(self, *, check: bool, what: str, differs: bool, apply) -> Change | None:
        """Report drift in check mode, else apply the desired setting."""
        if not differs:
            return None
        if check:
            return Change(self.kind, self.name, "drift", what)
        apply()
        return Change(self.kind, self.name, "changed", what)

    @staticmethod
    def _summarise(kind: str, name: str, changes: list[Change], created: bool) -> list[Change]:
        if created:
            return [Change(kind, name, "created")]
        return changes or [Change(kind, name, "unchanged")]
