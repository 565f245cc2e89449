"""schemathesis hooks for scripts/tests/fuzz_test.sh (loaded through SCHEMATHESIS_HOOKS).

The OpenAPI document states every rule of a single value (lengths, patterns, ranges, formats;
backend/src/controller/contract.rs). Two kinds of rule cannot be written in JSON Schema and are
stated in the operations' descriptions instead:
- relative to today: a birth date is not in the future;
- between two values: a run's sales end by its start, `min_price` is not above `max_price`,
  `sort=relevance` needs `q`, a revenue report's `from` is not after `to` and spans at most
  MAX_REVENUE_MONTHS.
Before each call this hook moves generated values into those rules (swapping a pair, moving a
date back), touching only values that are otherwise valid, so `positive_data_acceptance` keeps
checking every other rule and invalid values stay invalid.
"""

import datetime
import re

import schemathesis

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MONTH = re.compile(r"^(\d{4})-(\d{2})$")
# backend/src/entity/report.rs: MAX_REVENUE_MONTHS
MAX_REVENUE_MONTHS = 120


def _date(value):
    if isinstance(value, str) and DATE.match(value):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _integer(value):
    """An integer query value, whether generated as a number or as its text."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    return None


def _whole(value):
    """An integer body value, also when generated as a whole float (`79.0`)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return _integer(value)


def _month_index(value):
    match = MONTH.match(value) if isinstance(value, str) else None
    return int(match[1]) * 12 + int(match[2]) - 1 if match else None


def _fix_body(body):
    # A staff account's person is nested (POST /api/v1/users: {"account": {...}, "position"}).
    if isinstance(body.get("account"), dict):
        _fix_body(body["account"])
    birth = _date(body.get("birth_date"))
    if birth is not None and birth > datetime.date.today():
        body["birth_date"] = "2000-01-01"
    # A teacher's years in the specialization are at most their years overall.
    total, in_spec = _whole(body.get("years_experience")), _whole(body.get("years_in_specialization"))
    if total is not None and in_spec is not None and in_spec > total:
        body["years_experience"], body["years_in_specialization"] = in_spec, total
    start, end = _date(body.get("start_date")), _date(body.get("sales_end_date"))
    if start is not None and end is not None and end > start:
        body["start_date"], body["sales_end_date"] = body["sales_end_date"], body["start_date"]


def _fix_query(path, query):
    if path == "/api/v1/courses":
        lo, hi = _integer(query.get("min_price")), _integer(query.get("max_price"))
        if lo is not None and hi is not None and lo > hi:
            query["min_price"], query["max_price"] = query["max_price"], query["min_price"]
        if query.get("sort") == "relevance" and not str(query.get("q", "")).strip():
            query["q"] = "rust"
    if path == "/api/v1/reports/revenue":
        today = datetime.date.today()
        lo = _month_index(query.get("from"))
        # Without `to` the server takes the current month.
        hi = _month_index(query.get("to")) if "to" in query else today.year * 12 + today.month - 1
        if lo is not None and hi is not None:
            if lo > hi:
                lo = hi
            # Months start in 2000 (report::MONTH_YEAR_MIN).
            lo = max(lo, hi - MAX_REVENUE_MONTHS + 1, 2000 * 12)
            query["from"] = f"{lo // 12:04d}-{lo % 12 + 1:02d}"


@schemathesis.hook
def before_call(context, case, kwargs):
    if isinstance(case.body, dict):
        _fix_body(case.body)
    if isinstance(case.query, dict):
        _fix_query(case.operation.path, case.query)
