"""Renders the assistant's replies from triage/replies.yml and clinic.yml.

``reply_for`` is the single place that turns a triage result into words, used
by the Rasa actions and by anything else that must answer a patient. It reads
the message text only to pick a department ("when is the lab open"); no reply
ever contains the patient's words.
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

import yaml

from triage import DECISION_CRISIS, DECISION_PRIVATE, clinic as clinic_config, incidents, intents
from triage.clinic import DAYS, Clinic, Ranges
from triage.language import SUPPORTED
from triage.text import fold

_PHRASES = Path(__file__).with_name("replies.yml")
# out_of_scope replies that depend on why the message could not be read
_INPUT_REASONS = ("empty", "attachment_only", "no_text", "too_long", "unsupported_language")
_PUBLIC_KEYS = ("public_private", "public_crisis", "public_dm_us", "public_dm_us_crisis")


@lru_cache(maxsize=1)
def phrases() -> Dict[str, Any]:
    with open(_PHRASES, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


class _Facts(dict):
    """format_map that leaves an unknown placeholder visible instead of crashing."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class Replies:
    def __init__(self, clinic: Clinic, language: str) -> None:
        self.clinic = clinic
        self.language = language if language in SUPPORTED else clinic.default_language

    def phrase(self, key: str, **extra: Any) -> str:
        template = phrases()[key]
        if isinstance(template, Mapping):
            template = template.get(self.language) or template[self.clinic.default_language]
        facts = self._facts()
        facts.update(extra)
        text = template.format_map(facts).strip()
        if key in _PUBLIC_KEYS:  # public comment and mention replies: the one place they are built
            return incidents.append_to(text, incidents.PUBLIC, self.language, self.clinic.default_language)
        return text

    def _facts(self) -> _Facts:
        c, lang = self.clinic, self.language
        crisis = c.get("emergency", "crisis_line", default={})
        facts = _Facts(
            clinic=c.get("name"),
            phone=c.get("contact", "phone"),
            phone_hours=c.text(c.get("contact", "phone_hours"), lang),
            email=c.get("contact", "email"),
            website=c.get("contact", "website"),
            portal_url=self._portal_url(),
            address=", ".join(c.get("address", "lines", default=[])),
            map_url=c.get("address", "map_url"),
            parking=c.text(c.get("address", "parking"), lang),
            transit=c.text(c.get("address", "transit"), lang),
            accessibility=c.text(c.get("address", "accessibility"), lang),
            booking_url=c.get("appointments", "booking_url"),
            manage_url=c.get("appointments", "manage_url"),
            booking_phone=c.get("appointments", "phone") or c.get("contact", "phone"),
            cancel_notice_hours=c.get("appointments", "cancel_notice_hours"),
            walk_in=c.text(c.get("appointments", "walk_in"), lang),
            billing_phone=c.get("billing", "phone"),
            billing_email=c.get("billing", "email"),
            billing_hours=c.text(c.get("billing", "hours"), lang),
            insurers=", ".join(str(i) for i in c.get("billing", "insurers", default=[])),
            self_pay=c.text(c.get("billing", "self_pay"), lang),
            services="\n".join(f"• {c.text(s, lang)}" for s in c.get("services", default=[])),
            prescription_url=c.get("prescriptions", "request_url"),
            ready_working_days=c.get("prescriptions", "ready_working_days"),
            pickup=c.text(c.get("prescriptions", "pickup"), lang),
            records_url=c.get("records", "request_url"),
            records_days=c.get("records", "processing_days"),
            identity=c.text(c.get("records", "identity"), lang),
            emergency=c.get("emergency", "number"),
            crisis_name=c.text(crisis.get("name"), lang),
            crisis_phone=crisis.get("phone"),
            crisis_hours=c.text(crisis.get("hours"), lang),
        )
        facts["help_topics"] = phrases()["help_topics"].get(lang, "").format_map(facts)
        return facts

    def _portal_url(self) -> str:
        for channel in self.clinic.get("secure_channels", default=[]):
            if channel.get("kind") == "portal":
                return channel.get("url", "")
        return self.clinic.get("contact", "website", default="")

    # -- hours ---------------------------------------------------------------

    def ranges(self, ranges: Ranges) -> str:
        if not ranges:
            return phrases()["closed"][self.language]
        return ", ".join(f"{start}–{end}" for start, end in ranges)

    def week(self, week: Mapping[str, Ranges]) -> str:
        """Consecutive days with equal hours are merged: "Mon–Wed 08:00–18:00"."""
        names = phrases()["days"][self.language]
        groups: List[List[int]] = []
        for index, day in enumerate(DAYS):
            if groups and week[DAYS[groups[-1][-1]]] == week[day]:
                groups[-1].append(index)
            else:
                groups.append([index])
        parts = []
        for group in groups:
            label = names[group[0]] if len(group) == 1 else f"{names[group[0]]}–{names[group[-1]]}"
            parts.append(f"{label} {self.ranges(week[DAYS[group[0]]])}")
        return "; ".join(parts)

    def _date(self, day: dt.date) -> str:
        return f"{phrases()['days'][self.language][day.weekday()]} {day.strftime('%d.%m.' if self.language != 'en' else '%d %b')}"

    def _exceptions(self, today: dt.date) -> List[str]:
        lines = []
        for holiday in self.clinic.upcoming_holidays(today):
            lines.append(self.phrase("holiday_line", date=self._date(holiday.date),
                                     name=self.clinic.text(holiday.name, self.language),
                                     hours=self.ranges(holiday.hours)))
        return [self.phrase("holidays_intro")] + lines if lines else []

    def opening_hours(self, text: str, today: Optional[dt.date] = None) -> str:
        today = today or self.clinic.now().date()
        asked = self.clinic.department_for(text)
        departments = [asked] if asked else self.clinic.departments
        lines = [self.phrase("opening_hours_intro")]
        for department in departments:
            lines.append(f"• {self.clinic.text(department.name, self.language)}: {self.week(department.week)}")
        first = departments[0]
        today_hours, _ = self.clinic.hours_on(first.week, today)
        lines.append(self.phrase("today_line", today=self._date(today), hours=self.ranges(today_hours)))
        asked_day = _asked_day(text, today)
        if asked_day and asked_day != today:
            day_hours, _ = self.clinic.hours_on(first.week, asked_day)
            lines.append(f"{self._date(asked_day)}: {self.ranges(day_hours)}")
        return "\n".join(lines + self._exceptions(today))

    def visiting_hours(self) -> str:
        rules = self.clinic.lines(self.clinic.get("visiting", "rules"), self.language)
        lines = [self.phrase("visiting_intro"), self.week(self.clinic.visiting_week)]
        # Wards stay open on public holidays, so no holiday exceptions here.
        return "\n".join(lines + [f"• {rule}" for rule in rules])

    # -- escalation ----------------------------------------------------------

    def secure_channels(self) -> str:
        lines = []
        for channel in self.clinic.get("secure_channels", default=[]):
            template = phrases()["channel_line"].get(channel.get("kind"), "• {label}: {url}")
            lines.append(template.format_map(_Facts(
                label=self.clinic.text(channel.get("label"), self.language),
                url=channel.get("url", ""),
                phone=channel.get("phone", ""),
                hours=self.clinic.text(channel.get("hours"), self.language),
            )))
        return "\n".join(lines)


_WEEKDAYS = [
    ("monday", "mon", "montag", "lunes", "понеделник", "ponedelnik"),
    ("tuesday", "tue", "tues", "dienstag", "martes", "вторник", "vtornik"),
    ("wednesday", "wed", "mittwoch", "miercoles", "сряда", "sryada"),
    ("thursday", "thu", "thurs", "donnerstag", "jueves", "четвъртък", "chetvartak"),
    ("friday", "fri", "freitag", "viernes", "петък", "petak"),
    ("saturday", "sat", "samstag", "samstags", "sabado", "sabados", "събота", "sabota"),
    ("sunday", "sun", "sonntag", "sonntags", "domingo", "domingos", "неделя", "nedelya"),
]


def _asked_day(text: str, today: dt.date) -> Optional[dt.date]:
    """The next date a message asks about ("on saturday", "tomorrow"), if any."""
    words = set(fold(text).split())
    if words & {"tomorrow", "tmrw", "tmr", "tomorow", "утре", "utre"}:
        return today + dt.timedelta(days=1)
    for index, names in enumerate(_WEEKDAYS):
        if words & set(names):
            return today + dt.timedelta(days=(index - today.weekday()) % 7)
    return None


def reply_for(triage: Mapping[str, Any], text: str = "", clinic: Optional[Clinic] = None,
              today: Optional[dt.date] = None) -> str:
    """The reply to one triaged message, in the message's language, with any active
    incident notice for its kind of reply after it (triage/incidents.py)."""
    clinic = clinic or clinic_config.current()
    replies = Replies(clinic, triage.get("language") or clinic.default_language)
    escalated = triage.get("decision") in (DECISION_CRISIS, DECISION_PRIVATE) or triage.get("intent") in intents.ESCALATING
    return incidents.append_to(_reply(triage, text, replies, today),
                               incidents.ESCALATION if escalated else incidents.ROUTINE,
                               replies.language, clinic.default_language)


def _reply(triage: Mapping[str, Any], text: str, replies: Replies, today: Optional[dt.date]) -> str:
    decision, intent = triage.get("decision"), triage.get("intent")
    if decision == DECISION_CRISIS:
        return replies.phrase("crisis")
    if decision == DECISION_PRIVATE or intent in intents.ESCALATING:
        return replies.phrase("private", channels=replies.secure_channels())
    reasons = triage.get("reasons") or []
    for reason in _INPUT_REASONS:
        if reason in reasons:
            return replies.phrase(reason)
    if intent == "ask_opening_hours":
        return replies.opening_hours(text, today)
    if intent == "ask_visiting_hours":
        return replies.visiting_hours()
    if intent in intents.ROUTINE or intent in (intents.OUT_OF_SCOPE, intents.NLU_FALLBACK):
        return replies.phrase(intent)
    return replies.phrase("nlu_fallback")
