"""``earlywarn area-index``: the monthly area report from the alert store (EW_DATABASE_URL), as JSON and a PNG.

Why a file as well as ``GET /areas/{code}/index``: the monthly report goes to
the meeting that decides supervised rectification, on paper or in a slide;
the chart is the stability index of each area over the months, flagged months
marked. Same numbers as the route (``alerts_api/store/area_index.py``).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

if TYPE_CHECKING:   # the store (SQLAlchemy) is imported when the command runs, not when the CLI starts
    from alerts_api.store.area_index import AreaSeries


def report(series: list[AreaSeries], area: str, months: list[str]) -> dict:
    from alerts_api.store.area_index import RULE

    return {"area_code": area, "months": months, "rule": RULE,
            "flagged": [s.area_code for s in series if s.flagged_now],
            "areas": [{"area_code": s.area_code, "flagged_now": s.flagged_now,
                       "months": [vars(m) for m in s.months]} for s in series]}


def chart(series: list[AreaSeries], months: list[str], path: Path, title: str, most: int = 12) -> None:
    """The stability index per area over the months (the ``most`` lowest in the last month), flags in red."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = sorted(series, key=lambda s: s.months[-1].index)[:most]
    fig, ax = plt.subplots(figsize=(10, 5))
    x = range(len(months))
    for s in shown:
        ax.plot(x, [m.index for m in s.months], marker="o", markersize=3, label=s.area_code)
        flagged = [(i, m.index) for i, m in enumerate(s.months) if m.flagged]
        if flagged:
            ax.scatter(*zip(*flagged), s=60, facecolors="none", edgecolors="red", zorder=3)
    ax.set_xticks(list(x), months, rotation=45, ha="right")
    ax.set_ylim(0, 105)
    ax.set_ylabel("stability index (100 = no warnings, 50 = a typical month)")
    ax.set_title(f"{title} (red rings: flagged for supervised rectification)")
    if shown:
        ax.legend(fontsize=7, ncol=2, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def area_index_command(
    area: Annotated[str, typer.Option("--area", help="district (6 digits), street (9) or community (12)")],
    until: Annotated[Optional[str], typer.Option("--until", help="last month, YYYY-MM (default: this month)")] = None,
    months: Annotated[int, typer.Option("--months", min=3, max=60, help="months reported")] = 12,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="write the report here")] = None,
    png_out: Annotated[Optional[Path], typer.Option("--png", help="write the chart here")] = None,
) -> None:
    """Typer command: ``app.command("area-index")(area_index_command)``."""
    import re
    from datetime import datetime, timezone

    from alerts_api.store.area_index import area_index, month_range
    from earlywarn.users_cli import _sessions

    if not re.fullmatch(r"[0-9]{6}([0-9]{3}){0,2}", area):
        typer.echo(f"error: --area must be 6, 9 or 12 digits, got {area!r}", err=True)
        raise typer.Exit(code=2)
    if until is not None and not re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", until):
        typer.echo(f"error: --until must be YYYY-MM, got {until!r}", err=True)
        raise typer.Exit(code=2)
    span = month_range(until or datetime.now(timezone.utc).strftime("%Y-%m"), months)
    with _sessions()() as session:
        series = area_index(session, area, len(area) + 3, span)
    doc = report(series, area, span)
    text = json.dumps(doc, ensure_ascii=False, indent=1)
    if json_out:
        json_out.write_text(text)
    if png_out:
        chart(series, span, png_out, f"area {area}")
    typer.echo(text if not json_out else f"{len(series)} area(s), {len(doc['flagged'])} flagged: {json_out}")
