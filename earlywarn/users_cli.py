"""``earlywarn users add|list|revoke|token``: users, roles and tokens in the alert store (EW_DATABASE_URL).

The same store functions as the admin routes, so every change is in the audit
log (actor ``cli:<login>``). A token is printed once; the store keeps only its
SHA-256.
"""
from __future__ import annotations

import getpass
import json
from typing import Optional

import typer

users_app = typer.Typer(no_args_is_help=True, help="Users, roles (inspector, stability_officer, engineer, admin) "
                        "and their API tokens.")


def _sessions():
    from alerts_api.store.db import make_engine, migrate, session_factory
    from earlywarn.cli import _settings

    url = _settings().database_url
    migrate(url)
    return session_factory(make_engine(url))


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"[:64]
    except Exception:  # no login name (a container without a passwd entry)
        return "cli"


def _run(change):
    """Run one change in a transaction; a refused one is one line naming the field and value, exit 2."""
    from alerts_api.store.alerts import utcnow
    from alerts_api.store.users import UserError

    with _sessions()() as session:
        try:
            result = change(session, actor=_actor(), now=utcnow())
        except UserError as exc:
            session.rollback()
            typer.echo(f"error: {exc.field} {exc.value!r}: {exc}", err=True)
            raise typer.Exit(2) from None
        session.commit()
        return result


@users_app.command("add")
def add(name: str = typer.Argument(..., help="user name: a-z 0-9 . _ -"),
        role: str = typer.Option(..., help="inspector, stability_officer, engineer or admin"),
        area: Optional[str] = typer.Option(None, help="area code the user answers for (6, 9, 12 or 15 digits); "
                                           "required for inspector and stability_officer")) -> None:
    """Add a user (then give them a token with `earlywarn users token NAME`)."""
    from alerts_api.store.users import add_user

    user = _run(lambda s, **kw: add_user(s, name, role, area, **kw))
    typer.echo(f"added {user.name} ({user.role}, area {user.area_scope or 'all'})")


@users_app.command("token")
def token(name: str = typer.Argument(...)) -> None:
    """Issue a new token for NAME and print it (once: only its hash is stored)."""
    from alerts_api.store.users import issue_token

    row, raw = _run(lambda s, **kw: issue_token(s, name, **kw))
    typer.echo(f"token {row.id} for {name} (shown once, keep it safe):", err=True)
    typer.echo(raw)


@users_app.command("revoke")
def revoke(name: str = typer.Argument(...),
           token_id: Optional[int] = typer.Option(None, "--token-id", min=1, help="revoke only this token")) -> None:
    """Revoke NAME and all their tokens (or one token with --token-id); effective at the next request."""
    from alerts_api.store.users import revoke as do_revoke

    ids = _run(lambda s, **kw: do_revoke(s, name, token_id=token_id, **kw))
    typer.echo(f"revoked {'token' if token_id else name + ' and token(s)'} {', '.join(map(str, ids)) or '(none active)'}")


@users_app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="one JSON object per user")) -> None:
    """Every user: role, area, active tokens, revoked or not."""
    from alerts_api.store.users import list_users

    _, rows = _run(lambda s, **kw: list_users(s))
    for user, active in rows:
        if as_json:
            typer.echo(json.dumps({"name": user.name, "role": user.role, "area_scope": user.area_scope,
                                   "active_tokens": active, "revoked": user.disabled_at is not None}))
        else:
            typer.echo(f"{user.name:<24} {user.role:<18} {user.area_scope or 'all':<16} tokens={active}"
                       f"{'  REVOKED' if user.disabled_at else ''}")
