"""`triage review list|label|dismiss`: admins work the de-identified review queue and label into data/."""
from __future__ import annotations

import json
from typing import IO

from triage.cli.common import CliError, fmt_time
from triage.language import SUPPORTED


def add_parser(sub) -> None:
    from triage.review import SOURCES

    p_review = sub.add_parser("review", help="admins: de-identified review queue and labelling")
    p_review.set_defaults(func=review_command)
    review_sub = p_review.add_subparsers(dest="action", required=True)
    p_rlist = review_sub.add_parser("list", help="messages worth a look (low confidence, fallback, staff corrections)")
    p_rlist.add_argument("--source", choices=SOURCES)
    p_rlist.add_argument("--language", choices=[*SUPPORTED, "other"])
    p_rlist.add_argument("--limit", type=int, default=100)
    p_rlist.add_argument("--all", action="store_true", help="include labelled and dismissed items")
    p_rlist.add_argument("--json", action="store_true", help="one JSON object per line")
    p_label = review_sub.add_parser("label", help="add an item to the training data under INTENT (audited)")
    p_label.add_argument("item_id", nargs="?")
    p_label.add_argument("intent", nargs="?")
    p_label.add_argument("--csv", help="batch: a CSV file of id,intent[,language]; all rows or none")
    p_label.add_argument("--language", choices=list(SUPPORTED), help="override the detected language")
    p_label.add_argument("--admin", required=True)
    p_label.add_argument("--data-dir", help="training data directory (default: data/)")
    p_dismiss = review_sub.add_parser("dismiss", help="take an item off the queue without labelling (audited)")
    p_dismiss.add_argument("item_id")
    p_dismiss.add_argument("--admin", required=True)


def review_command(args, out: IO[str]) -> int:
    from pathlib import Path

    from triage import services
    from triage.review import Label, read_labels_csv

    queue = services.default().review
    if args.action == "list":
        items = queue.list(status=None if args.all else "open", source=args.source, language=args.language,
                           limit=args.limit)
        if args.json:
            for item in items:
                out.write(json.dumps(item, ensure_ascii=False, default=str) + "\n")
            return 0
        for item in items:
            model = f"model {item['model_intent'] or '-'} {item['confidence'] or 0:.2f}"
            suggested = f"  staff say: {item['suggested_intent']}" if item.get("suggested_intent") else ""
            out.write(f"{item['id']}  {fmt_time(item['created_at'])}  {item['source']:<16} {item['language'] or '-':<5}"
                      f" {item['decision']}/{item['intent']} ({model}){suggested}"
                      + (f"  [{item['status']}]" if args.all else "") + "\n")
            out.write(f"    {item['text']}\n")
        out.write(f"{len(items)} item(s); text is de-identified. Label with: triage review label ID INTENT --admin NAME\n")
        return 0
    actor = f"admin:{args.admin}"
    if args.action == "dismiss":
        queue.dismiss(args.item_id, actor)
        out.write(f"review item {args.item_id} dismissed\n")
        return 0
    if args.csv:
        if args.item_id or args.intent:
            raise CliError("give either ID INTENT or --csv FILE, not both")
        labels = read_labels_csv(Path(args.csv))
    elif args.item_id and args.intent:
        labels = [Label(args.item_id, args.intent, args.language)]
    else:
        raise CliError("give ID INTENT, or --csv FILE with rows id,intent[,language]")
    for result in queue.label(labels, actor, Path(args.data_dir) if args.data_dir else None):
        verb = "added to" if result["added"] else "already in"
        out.write(f"{result['item']}: {result['intent']} ({result['language']}) {verb} {result['file']}\n")
    out.write("Retrain with `triage train` (the safety gate decides whether the new model goes live).\n")
    return 0
