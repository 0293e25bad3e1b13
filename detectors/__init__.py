"""Pure numeric detectors: no Faust, Kafka, HTTP, database or wall-clock time.

The stream agents and the offline backtest call these same functions, so a
threshold tuned offline behaves the same in the stream.
"""
