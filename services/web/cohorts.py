"""Kohort pages: the list of cohorts and one cohort's dashboard.

The dashboard puts together what the API answers for the cohort: quota used and the waiting
list (GET /cohorts/{id}, /cohorts/{id}/waiting-list), the amount due and paid per month
against the budget allocation (drawn here as an inline SVG bar chart, with its numbers in a
table beside it), and arrears per village.

The API has no per-village arrears: GET /contributions/arrears totals per payer (the sponsor
for all the members it funds, and each self-paying member). So the page pages through the
cohort's members in arrears as of today (GET /participants?status=in_arrears, each with their
desa and standing) and adds them up per desa; the payers' total from /contributions/arrears
stands beside it as a check.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from litestar import Controller, Request, get
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from services.domain.regions import default_regions
from services.web.client import ApiRefused
from services.web.format import bulan
from services.web.pages import render
from services.web.session import Viewer, viewer_of
from services.web.wording import refusal

COHORTS_PER_PAGE = 50
WAITING_SHOWN = 10
"""The first places of the waiting list the dashboard shows."""
ARREARS_PAGE = 200
ARREARS_PAGES = 25
"""At most this many pages of members in arrears are added up (5,000 members)."""
COHORT_STATES = {"created": "Disiapkan", "open": "Dibuka", "closed": "Ditutup"}
STATE_BADGES = {"created": "", "open": "ok", "closed": "near"}

T = TypeVar("T")


# -- the chart ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthBar:
    """One month of the chart: a bar as tall as the amount due, filled up to the amount paid."""

    month: str
    month_name: str
    year: str
    amount_due: int
    amount_paid: int
    x: float
    due_y: float
    due_height: float
    paid_y: float
    paid_height: float


@dataclass(frozen=True)
class Tick:
    amount: int
    y: float


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    left: int
    baseline: float
    bar_width: int
    paid_width: int
    bars: list[MonthBar]
    ticks: list[Tick]


CHART_LEFT, CHART_TOP, CHART_PLOT, CHART_BOTTOM = 104, 12, 180, 44
COLUMN, BAR, PAID_BAR = 76, 44, 28


def nice_step(top: int, ticks: int = 4) -> int:
    """A round step (1, 2 or 5 times a power of ten) giving at most `ticks` gridlines to `top`."""
    rough = max(1, -(-top // ticks))
    power = 1
    while power * 10 <= rough:
        power *= 10
    return next(s * power for s in (1, 2, 5, 10) if s * power >= rough)


def bar_chart(months: Iterable[Mapping[str, Any]]) -> BarChart:
    """The geometry of the due-and-paid chart, one bar per month of the coverage period."""
    rows = list(months)
    top = max([1, *(max(m["amount_due"], m["amount_paid"]) for m in rows)])
    step = nice_step(top)
    scale_top = step * -(-top // step)
    baseline = CHART_TOP + CHART_PLOT

    def y(amount: int) -> float:
        return round(baseline - CHART_PLOT * max(0, amount) / scale_top, 1)

    bars = []
    for i, m in enumerate(rows):
        name, _, year = bulan(m["month"]).rpartition(" ")
        bars.append(
            MonthBar(
                month=m["month"], month_name=name, year=year, amount_due=m["amount_due"],
                amount_paid=m["amount_paid"], x=CHART_LEFT + i * COLUMN + (COLUMN - BAR) / 2,
                due_y=y(m["amount_due"]), due_height=round(baseline - y(m["amount_due"]), 1),
                paid_y=y(m["amount_paid"]),
                paid_height=round(baseline - y(m["amount_paid"]), 1),
            )
        )  # fmt: skip
    ticks = [Tick(a, y(a)) for a in range(0, scale_top + 1, step)]
    return BarChart(
        width=CHART_LEFT + max(1, len(rows)) * COLUMN + 8,
        height=CHART_TOP + CHART_PLOT + CHART_BOTTOM,
        left=CHART_LEFT, baseline=baseline, bar_width=BAR, paid_width=PAID_BAR,
        bars=bars, ticks=ticks,
    )  # fmt: skip


def share(part: int | None, whole: int | None) -> int:
    """`part` as a whole percentage of `whole` (0 to 100), for a bar's width."""
    if not whole or part is None:
        return 0
    return max(0, min(100, round(100 * part / whole)))


def percent(part: int | None, whole: int | None) -> str:
    """`part` of `whole` in words for the page: "12%", "<1%" for a sliver, "-" without a whole."""
    if not whole or part is None:
        return "-"
    value = 100 * part / whole
    return "<1%" if 0 < value < 1 else f"{round(value)}%"


# -- arrears per village -----------------------------------------------------------------------


@dataclass(frozen=True)
class VillageArrears:
    desa: str
    desa_name: str
    kecamatan_name: str
    members: int
    months: int
    amount: int


def desa_name(code: str | None) -> str:
    """A village's name from the regency's reference data (the code when it is unknown)."""
    found = default_regions().desa.get(code or "")
    return found.name if found else (code or "-")


def kecamatan_name(code: str | None) -> str:
    found = default_regions().kecamatan.get(code or "")
    return found.name if found else (code or "-")


def arrears_by_village(members: Iterable[Mapping[str, Any]]) -> list[VillageArrears]:
    """Members in arrears added up per desa, the largest amount first."""
    tally: dict[str, list[Any]] = {}
    for member in members:
        standing = member["standing"]
        if not standing["arrears_months"]:
            continue
        row = tally.setdefault(member["desa"] or "", [member["kecamatan"], 0, 0, 0])
        row[1] += 1
        row[2] += standing["arrears_months"]
        row[3] += standing["arrears_amount"]
    villages = [
        VillageArrears(code, desa_name(code), kecamatan_name(kec), members, months, amount)
        for code, (kec, members, months, amount) in tally.items()
    ]
    return sorted(villages, key=lambda v: (-v.amount, v.desa_name))


@dataclass(frozen=True)
class MembersInArrears:
    members: list[dict[str, Any]]
    complete: bool
    """False when more pages were left than the page adds up (ARREARS_PAGES)."""


async def members_in_arrears(
    viewer: Viewer, cohort_id: str, min_position: int | None
) -> MembersInArrears:
    """Every member of the cohort in arrears as of today, page after page."""
    found: list[dict[str, Any]] = []
    cursor = None
    for _ in range(ARREARS_PAGES):
        page = await viewer.api.get(
            "/participants",
            {"cohort_id": cohort_id, "status": "in_arrears", "limit": ARREARS_PAGE,
             "cursor": cursor, "min_position": min_position},
        )  # fmt: skip
        found += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return MembersInArrears(found, complete=True)
    return MembersInArrears(found, complete=False)


# -- sections ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """What one part of the dashboard read, or why the API refused it (in Indonesian)."""

    data: Any = None
    refused: str | None = None


async def section(read: Callable[[], Awaitable[T]]) -> Section:
    try:
        return Section(await read())
    except ApiRefused as refused:
        return Section(refused=refusal(refused))


async def nothing() -> Section:
    """A part this role may not read: left out of the page."""
    return Section()


async def dashboard_sections(
    viewer: Viewer, cohort_id: str, min_position: int | None
) -> dict[str, Section]:
    """The parts beside the cohort itself, read at once; each only for roles that may."""
    base = f"/cohorts/{cohort_id}"
    wait = {"limit": WAITING_SHOWN, "min_position": min_position}
    due = {"cohort_id": cohort_id, "min_position": min_position}
    reads_people = viewer.can("participants_read")
    waiting, arrears, payers = await asyncio.gather(
        section(lambda: viewer.api.get(f"{base}/waiting-list", wait)) if reads_people
        else nothing(),
        section(lambda: members_in_arrears(viewer, cohort_id, min_position)) if reads_people
        else nothing(),
        section(lambda: viewer.api.get("/contributions/arrears", due))
        if viewer.can("payments_read") else nothing(),
    )  # fmt: skip
    return {"waiting": waiting, "arrears": arrears, "payers": payers}


class CohortPages(Controller):
    path = "/app/cohorts"
    include_in_schema = False

    @get("/")
    async def cohorts(
        self,
        request: Request[Any, Any, Any],
        cursor: FromQuery[str | None] = None,
        min_position: FromQuery[int | None] = None,
    ) -> Template:
        viewer = await viewer_of(request)
        page = await viewer.api.get(
            "/cohorts",
            {"limit": COHORTS_PER_PAGE, "cursor": cursor, "min_position": min_position},
        )
        return render(
            request, "cohorts/list.html", viewer, cohorts=page["items"],
            next_cursor=page["next_cursor"], states=COHORT_STATES, badges=STATE_BADGES,
        )  # fmt: skip

    @get("/{cohort_id:str}")
    async def dashboard(
        self,
        request: Request[Any, Any, Any],
        cohort_id: FromPath[str],
        min_position: FromQuery[int | None] = None,
    ) -> Template:
        viewer = await viewer_of(request)
        cohort = await viewer.api.get(f"/cohorts/{cohort_id}", {"min_position": min_position})
        sections = await dashboard_sections(viewer, cohort_id, min_position)
        arrears = sections["arrears"].data
        budget = cohort["budget"]
        return render(
            request, "cohorts/dashboard.html", viewer, cohort=cohort, budget=budget,
            chart=bar_chart(budget["months"]), states=COHORT_STATES, badges=STATE_BADGES,
            quota_used=share(cohort["enrolled"], cohort["quota"]),
            allocation_paid=share(budget["amount_paid"], budget["budget_allocation"]),
            allocation_due=share(budget["amount_due"], budget["budget_allocation"]),
            villages=arrears_by_village(arrears.members) if arrears else [],
            arrears_complete=arrears.complete if arrears else True,
            desa_name=desa_name, kecamatan_name=kecamatan_name, percent=percent, **sections,
        )  # fmt: skip
