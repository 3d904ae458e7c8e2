"""`triage audit verify|export`: check the audit chain, and the decrypted compliance export (itself audited)."""
from __future__ import annotations

import json
import os
import sys
from typing import IO

from triage.cli.common import CliError


def add_parser(sub) -> None:
    p_audit = sub.add_parser("audit", help="audit log")
    p_audit.set_defaults(func=audit_command)
    audit_sub = p_audit.add_subparsers(dest="action", required=True)
    audit_sub.add_parser("verify", help="check the chain, its counter and the latest signed checkpoint; "
                                        "names the first bad entry; checkpoints an intact log")
    p_export = audit_sub.add_parser("export", help="decrypted compliance export (audited)")
    p_export.add_argument("--since", help="ISO time, inclusive")
    p_export.add_argument("--until", help="ISO time, exclusive")
    p_export.add_argument("--staff", required=True)
    p_export.add_argument("--output", help="file to write (mode 600); default standard output")


def audit_command(args, out: IO[str]) -> int:
    from triage import services

    svc = services.default()
    if args.action == "verify":
        result = svc.audit.verify(checkpoint=True)  # an intact log is anchored up to here
        out.write(str(result) + "\n")
        return 0 if result.ok else 3
    if not args.staff:
        raise CliError("--staff ID is required for an export")
    rows = svc.audit.export(args.since, args.until, actor=f"staff:{args.staff}")
    target = open(args.output, "w", encoding="utf-8") if args.output else out
    for row in rows:
        target.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    if args.output:
        target.close()
        os.chmod(args.output, 0o600)
        print(f"{len(rows)} entries written to {args.output}", file=sys.stderr)
    return 0
