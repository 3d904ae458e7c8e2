"""Loads and checks clinic.yml, the one place for the clinic's facts.

Everything here is about reading facts, never about stating them: the hours,
phone numbers and addresses patients see all come from the file.
"""
from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from triage.language import SUPPORTED
from triage.text import fold

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATH = PROJECT_ROOT / "clinic.yml"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
REQUIRED = ("name", "timezone", "contact", "address", "departments", "visiting", "appointments",
            "billing", "services", "prescriptions", "records", "secure_channels", "emergency")


class ClinicConfigError(ValueError):
    """clinic.yml is missing, unreadable or incomplete; the message says where."""


Ranges = List[Tuple[str, str]]


def parse_hours(value: Any, where: str) -> Ranges:
    if value is None or str(value).strip().lower() == "closed":
        return []
    ranges = []
    for part in str(value).split(","):
        part = part.strip().replace(" ", "")
        match = _RANGE.match(part)
        if not match or part[:5] >= part[6:]:
            raise ClinicConfigError(f"{where}: '{value}' is not 'closed' or ranges like 'HH:MM-HH:MM, HH:MM-HH:MM'")
        ranges.append((part[:5], part[6:]))
    return ranges


@dataclass(frozen=True)
class Department:
    key: str
    name: Mapping[str, str]
    keywords: Tuple[str, ...]
    week: Mapping[str, Ranges]


@dataclass(frozen=True)
class Holiday:
    date: dt.date
    name: Mapping[str, str]
    hours: Ranges


class Clinic:
    def __init__(self, data: Mapping[str, Any], source: str = "clinic.yml") -> None:
        if not isinstance(data, Mapping):
            raise ClinicConfigError(f"{source}: expected a mapping at the top level")
        missing = [key for key in REQUIRED if key not in data]
        if missing:
            raise ClinicConfigError(f"{source}: missing required section(s): {', '.join(missing)}")
        self.data = data
        self.source = source
        self.default_language = data.get("default_language", "en")
        if self.default_language not in SUPPORTED:
            raise ClinicConfigError(f"{source}: default_language must be one of {SUPPORTED}")
        try:
            self.tz = ZoneInfo(data["timezone"])
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ClinicConfigError(f"{source}: unknown timezone '{data['timezone']}'") from exc
        self.departments = [self._department(key, value) for key, value in (data["departments"] or {}).items()]
        if not self.departments:
            raise ClinicConfigError(f"{source}: departments: at least one department is needed")
        self.visiting_week = self._week(data["visiting"].get("hours"), "visiting.hours")
        self.holidays = [self._holiday(i, h) for i, h in enumerate(data.get("holidays") or [])]
        if not data["secure_channels"]:
            raise ClinicConfigError(f"{source}: secure_channels: at least one secure channel is needed")
        emergency = data["emergency"]
        if not emergency.get("number") or not (emergency.get("crisis_line") or {}).get("phone"):
            raise ClinicConfigError(f"{source}: emergency needs 'number' and 'crisis_line.phone'")

    def _week(self, hours: Any, where: str) -> Dict[str, Ranges]:
        if not isinstance(hours, Mapping):
            raise ClinicConfigError(f"{self.source}: {where}: expected mon..sun")
        unknown = set(hours) - set(DAYS)
        if unknown:
            raise ClinicConfigError(f"{self.source}: {where}: unknown day(s) {sorted(unknown)}; use {', '.join(DAYS)}")
        return {day: parse_hours(hours.get(day, "closed"), f"{self.source}: {where}.{day}") for day in DAYS}

    def _department(self, key: str, value: Mapping[str, Any]) -> Department:
        if not isinstance(value, Mapping) or "name" not in value or "hours" not in value:
            raise ClinicConfigError(f"{self.source}: departments.{key}: needs 'name' and 'hours'")
        keywords = tuple(fold(str(k)).strip() for k in value.get("keywords") or [])
        return Department(key, value["name"], keywords, self._week(value["hours"], f"departments.{key}.hours"))

    def _holiday(self, index: int, value: Mapping[str, Any]) -> Holiday:
        where = f"holidays[{index}]"
        try:
            date = value["date"] if isinstance(value["date"], dt.date) else dt.date.fromisoformat(str(value["date"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ClinicConfigError(f"{self.source}: {where}: 'date' must be YYYY-MM-DD") from exc
        return Holiday(date, value.get("name") or {}, parse_hours(value.get("hours"), f"{self.source}: {where}.hours"))

    # -- reading facts ---------------------------------------------------------

    def get(self, *path: str, default: Any = None) -> Any:
        node: Any = self.data
        for key in path:
            if not isinstance(node, Mapping) or key not in node:
                return default
            node = node[key]
        return node

    def text(self, value: Any, language: str) -> str:
        """A per-language value ({en: .., de: ..}) or a plain one, in ``language``."""
        if isinstance(value, Mapping):
            return str(value.get(language) or value.get(self.default_language) or next(iter(value.values()), ""))
        return "" if value is None else str(value)

    def lines(self, value: Any, language: str) -> List[str]:
        if isinstance(value, Mapping):
            value = value.get(language) or value.get(self.default_language) or []
        return [str(v) for v in value or []]

    def now(self) -> dt.datetime:
        return dt.datetime.now(self.tz)

    def department_for(self, text: str) -> Optional[Department]:
        """The department a message names, if any (matched on whole keywords)."""
        folded = fold(text)
        for department in self.departments:
            if any(f" {keyword} " in folded for keyword in department.keywords if keyword):
                return department
        return None

    def hours_on(self, week: Mapping[str, Ranges], day: dt.date) -> Tuple[Ranges, Optional[Holiday]]:
        for holiday in self.holidays:
            if holiday.date == day:
                return holiday.hours, holiday
        return week[DAYS[day.weekday()]], None

    def upcoming_holidays(self, today: dt.date, days: int = 21) -> List[Holiday]:
        return [h for h in self.holidays if today <= h.date <= today + dt.timedelta(days=days)]


def load(path: Optional[os.PathLike] = None) -> Clinic:
    path = Path(path or os.environ.get("TRIAGE_CLINIC_CONFIG") or DEFAULT_PATH)
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except FileNotFoundError as exc:
        raise ClinicConfigError(f"clinic config not found: {path}") from exc
    except yaml.YAMLError as exc:
        raise ClinicConfigError(f"{path}: not valid YAML: {exc}") from exc
    return Clinic(data, source=str(path))


@lru_cache(maxsize=4)
def _cached(path: str, mtime: float) -> Clinic:
    return load(path)


def current(path: Optional[os.PathLike] = None) -> Clinic:
    """The clinic config, reloaded when the file changes (edits need no restart)."""
    path = Path(path or os.environ.get("TRIAGE_CLINIC_CONFIG") or DEFAULT_PATH)
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError as exc:
        raise ClinicConfigError(f"clinic config not found: {path}") from exc
    return _cached(str(path), mtime)
