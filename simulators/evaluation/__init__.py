"""Judging detectors on any event log: reading logs and truth files, the backtest, the points-table baseline, fitting, threshold tuning, reports and replay to Kafka."""
