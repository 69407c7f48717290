"""The dashboard's users: a JSON file of names, roles and argon2id password hashes.

Path: ``$MICROPATH_USERS``, else ``users.json`` in the platform data directory. The file is written whole
to a temporary file (mode 0600) and renamed over the old one, so a crash never leaves half a file; it
never holds a password, only ``argon2-cffi``'s encoded hash (``$argon2id$v=19$m=…,t=…,p=…$salt$hash``).
Managed with ``micropath users add|list|remove|set-role``.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from platformdirs import user_data_path

from access.roles import Role, check_role

USERS_ENV = "MICROPATH_USERS"
NAME_PATTERN = re.compile(r"[a-z][a-z0-9._-]{1,31}")
MIN_PASSWORD = 12
FORMAT_VERSION = 1
HASHER = PasswordHasher()  # argon2id, the library's defaults (RFC 9106 low-memory profile)


class UserStoreError(ValueError):
    """The users file or a change to it is invalid; the message says what to fix."""


def default_users_path() -> Path:
    env = os.environ.get(USERS_ENV, "").strip()
    return Path(env).expanduser() if env else user_data_path("micropathways") / "users.json"


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    password_hash: str
    created: str


def check_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name or ""):
        raise UserStoreError(f"user name {name!r} must be 2-32 characters: a lower-case letter, then lower-case "
                             "letters, digits, '.', '_' or '-'")
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise UserStoreError(f"the password must have at least {MIN_PASSWORD} characters (it has {len(password)})")
    return password


class UserStore:
    """Users in one JSON file; reads re-check the file's modification time, so a change made with the CLI
    (a removed user, a new role) applies to a running dashboard at its next request."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_users_path()
        self._cache: tuple[tuple[int, int, int], dict[str, User]] | None = None
        self._dummy_hash = HASHER.hash("micropathways: no such user")

    # ---- reading ----------------------------------------------------------------------------------
    def exists(self) -> bool:
        return self.path.exists()

    def users(self) -> dict[str, User]:
        if not self.path.exists():
            return {}
        stat = self.path.stat()
        key = (stat.st_mtime_ns, stat.st_ino, stat.st_size)  # a rewrite is a new inode (os.replace)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        users = self._read()
        self._cache = (key, users)
        return users

    def _read(self) -> dict[str, User]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UserStoreError(f"cannot read the users file {self.path}: {exc}") from exc
        if (not isinstance(data, dict) or data.get("version") != FORMAT_VERSION
                or not isinstance(data.get("users"), dict)):
            raise UserStoreError(f"{self.path} is not a Micropathways users file (version {FORMAT_VERSION}); "
                                 "recreate it with `micropath users add`")
        out = {}
        for name, raw in data["users"].items():
            try:
                out[name] = User(check_name(name), check_role(raw["role"]), str(raw["hash"]),
                                 str(raw.get("created", "")))
            except (KeyError, TypeError, ValueError) as exc:
                raise UserStoreError(f"{self.path}: user {name!r} is malformed ({exc}); fix it with "
                                     "`micropath users remove` and `add`") from exc
        return out

    def get(self, name: str) -> User | None:
        return self.users().get(name)

    # ---- checking a password ----------------------------------------------------------------------
    def authenticate(self, name: str, password: str) -> User | None:
        """The user if ``password`` is theirs, else None. An unknown name costs one hash too (no timing
        difference tells names apart). A hash made with older parameters is upgraded."""
        user = self.users().get(name)
        try:
            HASHER.verify(user.password_hash if user else self._dummy_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if user is None:
            return None
        if HASHER.check_needs_rehash(user.password_hash):
            self._write_user(user.name, user.role, HASHER.hash(password), user.created)
        return user

    # ---- changing the file ------------------------------------------------------------------------
    def add(self, name: str, role: str, password: str) -> User:
        check_name(name)
        check_role(role)
        if name in self.users():
            raise UserStoreError(f"user {name!r} exists; use `micropath users set-role` or remove it first")
        return self._write_user(name, role, HASHER.hash(check_password(password)),
                                datetime.now(UTC).isoformat(timespec="seconds"))

    def set_role(self, name: str, role: str) -> User:
        user = self._existing(name)
        return self._write_user(name, check_role(role), user.password_hash, user.created)

    def set_password(self, name: str, password: str) -> User:
        user = self._existing(name)
        return self._write_user(name, user.role, HASHER.hash(check_password(password)), user.created)

    def remove(self, name: str) -> None:
        self._existing(name)
        users = {n: u for n, u in self.users().items() if n != name}
        self._save(users)

    def _existing(self, name: str) -> User:
        user = self.users().get(name)
        if user is None:
            raise UserStoreError(f"no user {name!r} in {self.path}; `micropath users list` shows who exists")
        return user

    def _write_user(self, name: str, role: str, password_hash: str, created: str) -> User:
        user = User(name, check_role(role), password_hash, created)
        self._save({**self.users(), name: user})
        return user

    def _save(self, users: dict[str, User]) -> None:
        data: dict[str, Any] = {"version": FORMAT_VERSION, "users": {
            u.name: {"role": u.role, "hash": u.password_hash, "created": u.created} for u in users.values()}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=".users-", dir=self.path.parent)  # mkstemp: mode 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=2, sort_keys=True)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        self._cache = None
