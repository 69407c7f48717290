"""`micropath users …`: the dashboard's users and their roles (access/users.py, docs/security.md).

Passwords are read from a prompt (typed twice, not echoed) or from $MICROPATH_NEW_PASSWORD — never from
the command line, where other users could see them in the process list.
"""

from __future__ import annotations

import argparse
import getpass
import os
import secrets
import sys
from collections.abc import Callable
from typing import Any

from access.roles import ROLES

PASSWORD_ENV = "MICROPATH_NEW_PASSWORD"
EXAMPLES = """examples:
  micropath users add admin --role admin          # asks for the password twice
  MICROPATH_NEW_PASSWORD=... micropath users add ana --role analyst
  micropath users add demo --role admin --generate-password --exist-ok
  micropath users list
  micropath users set-role ana --role researcher
  micropath users passwd ana
  micropath users remove ana

roles: researcher (pages and saved queries), analyst (+ ad-hoc read-only Cypher, saving queries),
partner (partner tables only: suppressed aggregates), admin (everything + the audit log).
The users file is $MICROPATH_USERS, else users.json in the data directory.
"""


def add_parser(sub: Any, db_arg: Callable[[argparse.ArgumentParser], None]) -> None:
    users = sub.add_parser("users", help="manage dashboard users and roles (login for `micropath serve`)",
                           description="Add, list, change and remove the users who may sign in to the "
                           "dashboard. Passwords are stored as argon2id hashes only.",
                           epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add a user (password from a prompt or $MICROPATH_NEW_PASSWORD)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--generate-password", action="store_true",
                     help="generate a strong password and print it once (for demos)")
    add.add_argument("--exist-ok", action="store_true", help="do nothing if the user exists")
    add.set_defaults(func=cmd_add)
    listing = actions.add_parser("list", help="list users and roles (never passwords or hashes)")
    listing.set_defaults(func=cmd_list)
    remove = actions.add_parser("remove", help="remove a user (their sessions end at their next request)")
    remove.add_argument("name")
    remove.set_defaults(func=cmd_remove)
    role = actions.add_parser("set-role", help="change a user's role (applies at their next request)")
    role.add_argument("name")
    role.add_argument("--role", required=True, choices=ROLES)
    role.set_defaults(func=cmd_set_role)
    passwd = actions.add_parser("passwd", help="set a new password (prompt or $MICROPATH_NEW_PASSWORD)")
    passwd.add_argument("name")
    passwd.set_defaults(func=cmd_passwd)


def _store() -> Any:
    from access.users import UserStore

    return UserStore()


def new_password(name: str) -> str:
    """$MICROPATH_NEW_PASSWORD, else typed twice at a prompt."""
    env = os.environ.get(PASSWORD_ENV)
    if env:
        return env
    if not sys.stdin.isatty():
        raise ValueError(f"no password: set {PASSWORD_ENV} or run this in a terminal to be asked for it")
    first = getpass.getpass(f"password for {name}: ")
    if getpass.getpass("again: ") != first:
        raise ValueError("the two passwords differ; nothing was changed")
    return first


def cmd_add(args: argparse.Namespace) -> int:
    store = _store()
    if args.exist_ok and store.get(args.name) is not None:
        print(f"user {args.name!r} exists in {store.path}; left as it is")
        return 0
    password = secrets.token_urlsafe(18) if args.generate_password else new_password(args.name)
    user = store.add(args.name, args.role, password)
    print(f"added {user.name} ({user.role}) to {store.path}")
    if args.generate_password:
        print(f"generated password for {user.name}: {password}\n(shown once; change it with "
              f"`micropath users passwd {user.name}`)")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    store = _store()
    users = store.users()
    if not users:
        print(f"no users in {store.path}; add one with `micropath users add admin --role admin`")
        return 0
    for user in sorted(users.values(), key=lambda u: u.name):
        print(f"{user.name:24} {user.role:12} added {user.created}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    store = _store()
    store.remove(args.name)
    print(f"removed {args.name} from {store.path}")
    return 0


def cmd_set_role(args: argparse.Namespace) -> int:
    store = _store()
    user = store.set_role(args.name, args.role)
    print(f"{user.name} is now {user.role}")
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    store = _store()
    store.set_password(args.name, new_password(args.name))
    print(f"password of {args.name} changed")
    return 0
