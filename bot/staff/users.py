"""Staff accounts for the admin page: .state/staff_users.json, passwords hashed with Argon2id.

    python -m bot.staff add-user NAME        # asks for the password twice
    python -m bot.staff remove-user NAME
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from bot.staff.project import StaffError

NAME = re.compile(r"^[A-Za-z0-9._-]{2,40}$")
MIN_PASSWORD = 10
_HASHER = PasswordHasher()   # Argon2id with argon2-cffi's defaults (RFC 9106 low-memory profile)
_DUMMY = _HASHER.hash("not a real password: equalises timing for unknown users")


class Users:
    """The staff users file (created with mode 0600)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _load(self) -> Dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"users": {}}
        except ValueError as exc:
            raise StaffError(f"{self.path} is damaged: {exc}") from None
        data.setdefault("users", {})
        return data

    def _save(self, data: Dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".staff_users.", dir=self.path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def names(self) -> List[str]:
        return sorted(self._load()["users"])

    def add(self, name: str, password: str, replace: bool = False) -> None:
        if not NAME.match(name or ""):
            raise StaffError("a user name is 2-40 letters, digits, '.', '_' or '-'")
        if len(password or "") < MIN_PASSWORD:
            raise StaffError(f"the password must have at least {MIN_PASSWORD} characters")
        data = self._load()
        if name in data["users"] and not replace:
            raise StaffError(f"user {name} already exists (use --replace to set a new password)")
        data["users"][name] = {"hash": _HASHER.hash(password),
                               "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        self._save(data)

    def remove(self, name: str) -> None:
        data = self._load()
        if name not in data["users"]:
            raise StaffError(f"no user {name}")
        del data["users"][name]
        self._save(data)

    def verify(self, name: str, password: str) -> bool:
        """True when the password is right. Takes as long for an unknown user as for a known one."""
        data = self._load()
        entry: Optional[Dict[str, Any]] = data["users"].get(name or "")
        stored = entry["hash"] if entry else _DUMMY
        try:
            _HASHER.verify(stored, password or "")
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        if entry is None:
            return False
        if _HASHER.check_needs_rehash(stored):
            entry["hash"] = _HASHER.hash(password)
            self._save(data)
        return True
