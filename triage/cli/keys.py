"""`triage keys init|rotate`: create the master keyring, or add a master key and re-wrap every data key."""
from __future__ import annotations

import os
from typing import IO

from triage.cli.common import CliError


def add_parser(sub) -> None:
    p_keys = sub.add_parser("keys", help="master keyring")
    p_keys.set_defaults(func=keys_command)
    keys_sub = p_keys.add_subparsers(dest="action", required=True)
    p_init = keys_sub.add_parser("init", help="create a keyring file")
    p_init.add_argument("--file")
    p_rotate = keys_sub.add_parser("rotate", help="add a master key and re-wrap every data key")
    p_rotate.add_argument("--staff")


def keys_command(args, out: IO[str]) -> int:
    from pathlib import Path

    from triage import keys

    if args.action == "init":
        path = Path(args.file or os.environ.get(keys.ENV_FILE) or "")
        if not str(path):
            raise CliError(f"give --file or set {keys.ENV_FILE}")
        store = keys.KeyStore.create_file(path)
        out.write(f"created keyring {path} with master key {store.active}\n")
        return 0
    from triage import services

    svc = services.default()
    old = svc.keys.active
    new = svc.keys.add_master_key()
    from triage.rasa import tracker_store

    store = tracker_store.from_endpoints()
    changed = (svc.audit.rewrap_all() + svc.cases.rewrap_all() + svc.review.rewrap_all()
               + (store.rewrap_all() if store else 0))
    svc.audit.append("key_rotated", actor=f"staff:{args.staff}" if args.staff else "system",
                     details={"from": old, "to": new, "rewrapped": changed})
    out.write(f"new master key {new} is active; {changed} record(s) re-wrapped; {old} kept for older backups\n")
    return 0
