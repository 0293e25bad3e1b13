"""The ``earlywarn`` command: demo, worker, api, broker, simulate, and tools."""
from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import Optional

import typer

from earlywarn.settings import Settings, get_settings

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Early warning of wage arrears and group incidents.")


def _settings() -> Settings:
    from pydantic import ValidationError

    from earlywarn.settings import describe_settings_error

    try:
        return get_settings()
    except ValidationError as exc:  # names the variable, never its value (tokens, passwords)
        typer.echo(f"error: bad configuration: {describe_settings_error(exc)}", err=True)
        raise typer.Exit(2) from None


def _need_broker(settings: Settings) -> str:
    if not settings.kafka_broker:
        typer.echo("error: EW_KAFKA_BROKER is not set; start one with `earlywarn broker` "
                   "or run `earlywarn demo`, which starts an embedded broker", err=True)
        raise typer.Exit(2)
    return settings.kafka_broker


@app.command()
def broker(port: int = typer.Option(0, min=0, max=65535, help="port on 127.0.0.1 (0 = a free one)")) -> None:
    """Run the embedded Tansu broker in the foreground (memory only)."""
    from streams.broker import EmbeddedBroker, ensure_topics, free_port
    from streams.topics import all_topics

    # Handlers, set before Tansu starts: SIGTERM's default action would end this process at once and leave
    # Tansu (its own session, so the terminal's Ctrl-C does not reach it) running on its port (issue #19).
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    b = EmbeddedBroker(port=port or free_port())
    try:
        b.start()
        if not stop.is_set():
            ensure_topics(b.bootstrap, all_topics())  # embedded Tansu: PLAINTEXT only
            typer.echo(f"broker listening: EW_KAFKA_BROKER={b.bootstrap}  (Ctrl-C to stop)")
        while not stop.wait(0.5):
            pass
    finally:
        b.stop()


@app.command()
def worker() -> None:
    """Run the stream worker (Faust) against EW_KAFKA_BROKER."""
    from faust.worker import Worker

    from streams.app import create_app
    from streams.broker import ensure_topics, partition_counts, single_partition_problem
    from streams.topics import SOURCE_TOPICS, all_topics

    settings = _settings()
    bootstrap = _need_broker(settings)
    ensure_topics(bootstrap, all_topics(), partitions=settings.topic_partitions, security=settings.kafka_security())
    problem = single_partition_problem(partition_counts(bootstrap, SOURCE_TOPICS, settings.kafka_security()))
    if problem:
        typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(2)
    if settings.metrics_port:
        _serve_metrics(settings.metrics_port)
    pipeline = _user_errors(create_app, settings, bootstrap)  # a bad rule file: one line naming file and place
    worker = Worker(pipeline.app, loglevel=settings.log_level, quiet=True)
    # Faust's terminal spinner sets the root logger to DEBUG so that it can spin on every record:
    # every send then builds a debug record nobody reads (~15% of the worker's time). No spinner.
    worker.spinner = None
    worker.execute_from_commandline()


def _serve_metrics(port: int, patience: float = 10.0) -> None:
    """Serve the worker's /metrics on 127.0.0.1:``port``, trying again for ``patience`` seconds.

    A restarted worker takes its old port back; a socket left from the last life (or an outgoing connection
    holding the port for a moment) can keep it busy briefly. Metrics are not worth the stream: if the port
    stays busy the worker runs on and Prometheus sees the target down.
    """
    import time

    from prometheus_client import start_http_server

    deadline = time.monotonic() + patience
    while True:
        try:
            start_http_server(port, addr="127.0.0.1")
            return
        except OSError as exc:
            if time.monotonic() >= deadline:
                typer.echo(f"error: worker metrics not served: port {port} on 127.0.0.1: {exc.strerror}; "
                           "set EW_METRICS_PORT to a free port (0 = off)", err=True)
                return
            time.sleep(0.5)


@app.command()
def api(sink: bool = typer.Option(True, help="also run the alert sink (needs EW_KAFKA_BROKER)")) -> None:
    """Run the alerts API (and, by default, the alert sink)."""
    import uvicorn

    from alerts_api.main import create_app

    settings = _settings()
    if not settings.tokens():
        typer.echo("warning: EW_API_TOKENS is empty: only users' tokens (`earlywarn users token NAME`) are "
                   "accepted", err=True)
    broker_addr = _need_broker(settings) if sink else None
    uvicorn.run(create_app(settings, broker=broker_addr), host=settings.api_host, port=settings.api_port,
                log_level="warning")


@app.command()
def demo(for_seconds: Optional[float] = typer.Option(None, "--for", min=1, help="stop by itself after this many seconds"),
         enterprises: int = typer.Option(300, min=10, max=100_000),
         months: int = typer.Option(8, min=1, max=60)) -> None:
    """Broker, worker, API and a small simulated feed; prints where to look."""
    from earlywarn.demo import run_demo

    raise typer.Exit(run_demo(_settings(), for_seconds, enterprises, months))


def _register_tools() -> None:
    from earlywarn.series_cli import detect_series_command

    app.command("detect-series", help="Run a surge detector over a count series (timestamp,value CSV).")(
        detect_series_command)
    from earlywarn.area_index_cli import area_index_command

    app.command("area-index", help="Monthly area report: warnings, incidents, stability index, areas flagged for "
                                   "supervised rectification (JSON, PNG).")(area_index_command)


_register_tools()


def _register_users() -> None:
    from earlywarn.users_cli import users_app

    app.add_typer(users_app, name="users")


_register_users()


@app.command()
def simulate(scenario: str = typer.Option(..., help="scenario name (simulators/world/scenarios/NAME.yaml) or a YAML path"),
             out: Optional[Path] = typer.Option(None, file_okay=False, help="write events.jsonl and truth.json here"),
             to_kafka: bool = typer.Option(False, "--to-kafka", help="send the events to EW_KAFKA_BROKER"),
             speed: float = typer.Option(0.0, min=0, help="simulated seconds per real second (0 = as fast as possible)"),
             seed: Optional[int] = typer.Option(None, help="override the scenario's seed")) -> None:
    """Generate a simulated district: event log, ground truth, optionally replayed to Kafka."""
    from simulators.commands import simulate as run

    settings = _settings()
    if not out and not to_kafka:
        typer.echo("error: say where the events go: --out DIR and/or --to-kafka", err=True)
        raise typer.Exit(2)
    bootstrap = _need_broker(settings) if to_kafka else None
    producer = _replay_producer(settings, bootstrap) if bootstrap else None
    try:
        result = _user_errors(run, scenario, speed=speed, to_kafka=to_kafka, out=out, seed=seed, bootstrap=bootstrap,
                              producer=producer)
    finally:
        if producer is not None:
            producer.close()
    typer.echo(json.dumps(result, indent=2, default=str))


@app.command()
def backtest(scenario: Optional[str] = typer.Option(None, help="scenario name or YAML path (or use --events/--truth)"),
             events: Optional[Path] = typer.Option(None, help="recorded event log: a .jsonl[.gz] file or a directory "
                                                   "(docs/event-log.md)"),
             truth: Optional[Path] = typer.Option(None, help="ground-truth JSON for --events (docs/ground-truth.md)"),
             rules: Optional[Path] = typer.Option(None, exists=True, dir_okay=False, help="rule file (default: rules/default.yaml)"),
             baseline: Optional[Path] = typer.Option(None, exists=True, dir_okay=False, help="points-table rule file"),
             seed: Optional[int] = typer.Option(None, help="override the scenario's seed (--scenario only)"),
             as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
             alerts_out: Optional[Path] = typer.Option(None, "--alerts-out", dir_okay=False,
                                                       help="write every alert raised (detector and baseline) here "
                                                       "as JSON Lines, for an outside scorer")) -> None:
    """Run the stream's detector code in batch over a scenario or a recorded log and judge it against the truth."""
    from simulators.commands import backtest as run, print_report

    _one_source(scenario, events, truth)
    report = _user_errors(run, scenario, rules=rules, json_out=as_json, baseline=baseline, seed=seed,
                          progress=not as_json and sys.stderr.isatty(), events=events, truth=truth,
                          alerts_out=alerts_out)
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
    else:
        print_report(report)


@app.command()
def replay(events: Path = typer.Option(..., help="recorded event log: a .jsonl[.gz] file or a directory "
                                       "(docs/event-log.md)"),
           speed: float = typer.Option(0.0, min=0, help="N = N times real time; 0 = as fast as possible")) -> None:
    """Send a recorded log to the Kafka topics in its time order, so the stream path sees the same data."""
    from simulators.evaluation.replay import replay_log
    from streams.broker import ensure_topics
    from streams.topics import all_topics

    settings = _settings()
    bootstrap = _need_broker(settings)
    from simulators.evaluation.logfiles import log_files
    _user_errors(log_files, events)                      # a bad path fails before connecting
    try:
        ensure_topics(bootstrap, all_topics(), partitions=settings.topic_partitions, security=settings.kafka_security())
    except Exception as exc:  # kafka-python raises its own errors for an unreachable broker
        typer.echo(f"error: cannot reach the broker at {bootstrap}: {exc}", err=True)
        raise typer.Exit(2) from None
    producer = _replay_producer(settings, bootstrap)
    try:
        result = _user_errors(replay_log, events, bootstrap, speed=speed, progress=sys.stderr.isatty(),
                              producer=producer)
    finally:
        producer.close()
    skipped = result["skipped_lines"]
    for line in skipped["first"]:
        typer.echo(f"skipped {line}", err=True)
    if skipped["lines"] > len(skipped["first"]):
        typer.echo(f"... {skipped['lines'] - len(skipped['first'])} more skipped lines", err=True)
    typer.echo(json.dumps(result, indent=2, default=str))


@app.command()
def tune(scenario: Optional[str] = typer.Option(None, help="scenario name or YAML path (or use --events/--truth)"),
         events: Optional[Path] = typer.Option(None, help="recorded event log (docs/event-log.md)"),
         truth: Optional[Path] = typer.Option(None, help="ground truth for --events (docs/ground-truth.md)"),
         list_name: str = typer.Option("inspect_now", "--list", help="inspect_now or early_warning"),
         objective: str = typer.Option("recall", help="what to maximise: recall, early_recall, before_onset_share, "
                                       "strict_warning_rate, recall_non_sudden"),
         target_ewr: Optional[float] = typer.Option(0.85, "--target-ewr", min=0.0, max=1.0,
                                                    help="least effective warning rate (0 = no such constraint)"),
         max_weekly: Optional[float] = typer.Option(None, "--max-weekly", min=0.0,
                                                    help="most alerts per inspector per week"),
         out: Path = typer.Option(Path("var/tune"), file_okay=False, help="where the plot and rule file go"),
         rules: Optional[Path] = typer.Option(None, exists=True, dir_okay=False),
         seed: Optional[int] = typer.Option(None, help="override the scenario's seed (tune on another draw "
                                                       "than the one you will judge on)")) -> None:
    """Sweep one list's thresholds; print the table, write a PNG plot and a rule file with the chosen thresholds."""
    from simulators.commands import tune as run

    _one_source(scenario, events, truth)
    result = _user_errors(run, scenario, list_name=list_name, objective=objective, target_ewr=target_ewr or None,
                          max_weekly=max_weekly, out_dir=out, rules=rules, seed=seed, events=events, truth=truth)
    typer.echo(json.dumps({k: v for k, v in result.items() if k not in ("rows", "baseline_rows")}, indent=2,
                          default=str))


@app.command()
def fit(scenario: Optional[list[str]] = typer.Option(None, help="scenario(s) to fit on, one world each; repeat "
                                                     "the option to fit on several worlds at once"),
        events: Optional[Path] = typer.Option(None, help="a district's recorded event log (docs/event-log.md)"),
        truth: Optional[Path] = typer.Option(None, help="its ground truth (docs/ground-truth.md)"),
        train_until: Optional[datetime] = typer.Option(None, formats=["%Y-%m-%d"],
                                                       help="--events: fit on deliveries before this day, judge on "
                                                       "the rest (default: the first two thirds of the log)"),
        out: Path = typer.Option(..., dir_okay=False, help="rule file to write"),
        version: str = typer.Option(..., help="version the new rule file carries (every alert shows it)"),
        model: str = typer.Option("trees", help="trees (boosted, monotone) or logistic (sign-constrained)"),
        rules: Optional[Path] = typer.Option(None, exists=True, dir_okay=False,
                                             help="rule file whose evidence channels are kept"),
        seed: Optional[list[int]] = typer.Option(None, help="the scenarios' seed; repeat for several draws of each")
        ) -> None:
    """Fit both alert lists (inspect now, early warning) on simulated worlds or a district's own history."""
    from simulators.evaluation.fit import fit_rules

    if model not in ("trees", "logistic"):
        typer.echo(f"error: --model must be trees or logistic, got {model!r}", err=True)
        raise typer.Exit(2)
    if not scenario and events is None:
        typer.echo("error: give --scenario NAME (one or more), or --events PATH with --truth PATH", err=True)
        raise typer.Exit(2)
    if scenario:
        _one_source(scenario[0], events, truth)
    else:
        _one_source(None, events, truth)
    result = _user_errors(fit_rules, out, version, scenarios=scenario or None, seed=list(seed) if seed else None,
                          events=events, truth=truth,
                          train_until=train_until.date() if train_until else None, rules=rules, model=model,
                          progress=sys.stderr.isatty())
    typer.echo(json.dumps(result, indent=2, default=str))


def _one_source(scenario: Optional[str], events: Optional[Path], truth: Optional[Path]) -> None:
    """Exactly one source of events: a scenario, or a recorded log with its truth."""
    if (scenario is None) == (events is None):
        typer.echo("error: give exactly one source: --scenario NAME, or --events PATH with --truth PATH", err=True)
        raise typer.Exit(2)
    if events is not None and truth is None:
        typer.echo("error: --events needs --truth PATH (the ground truth the alerts are judged against)", err=True)
        raise typer.Exit(2)
    if truth is not None and events is None:
        typer.echo("error: --truth goes with --events; a scenario brings its own truth", err=True)
        raise typer.Exit(2)


def _replay_producer(settings: Settings, bootstrap: str, **overrides):
    """The producer replay and simulate send with: the replay's batching, and the broker's TLS/SASL settings."""
    from kafka import KafkaProducer

    return KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, acks=1, batch_size=256 * 1024,
                         **settings.kafka_security().kafka_python_options() | overrides)


def _user_errors(fn, *args, **kwargs):
    """Run a command; a bad scenario, rule file or path is one clear line, not a traceback."""
    from rules.loader import RuleFileError

    try:
        return fn(*args, **kwargs)
    except (RuleFileError, ValueError, FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@app.command()
def docs(out: Path = typer.Option(Path("docs/events.md"), dir_okay=False)) -> None:
    """Regenerate docs/events.md from the event contracts."""
    from streams.records import contracts_markdown

    out.write_text(contracts_markdown() + "\n", encoding="utf-8")
    typer.echo(f"wrote {out}")


def main() -> None:  # pragma: no cover
    logging.basicConfig(level=logging.WARNING)
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
