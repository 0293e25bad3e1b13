"""The true end of a partition for Faust's table recovery, whatever the broker's ListOffsets answers.

Why: Faust recovers a table by reading its changelog up to the end offset
that ListOffsets gives. Tansu answers it with the *base offset of the last
record batch* + 1, not the offset after the last record (measured: two
batches of 5 and 4 records give 6, not 9). A recovering worker then stops
before the last batch's later records, so its table lags the committed source
offsets and a kill -9 loses the last writes (issue #19). A fetch response
carries the true high-water mark, so we read one record at the listed end
and take the high-water mark the broker sends back. On a broker whose
ListOffsets is right this changes nothing.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

log = logging.getLogger(__name__)

async def fetched_ends(bootstrap: str, listed: Mapping[Any, int], options: Mapping[str, Any] | None = None,
                       timeout: float = 10.0) -> dict[Any, int]:
    """``listed`` (partition → end offset as listed) corrected by one fetch per partition: never lower."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    ends = dict(listed)
    wanted = {TopicPartition(tp.topic, tp.partition): tp for tp, end in listed.items() if end and end > 0}
    if not wanted:
        return ends
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                                **(options or {}))
    await consumer.start()
    try:
        consumer.assign(list(wanted))
        for tp, original in wanted.items():
            consumer.seek(tp, listed[original] - 1)
        pending = set(wanted)
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            await consumer.getmany(*pending, timeout_ms=200, max_records=1)
            for tp in list(pending):
                hw = consumer.highwater(tp)
                if hw is not None:
                    ends[wanted[tp]] = max(ends[wanted[tp]], hw)
                    pending.discard(tp)
    finally:
        await consumer.stop()
    return ends


def patch_faust_recovery(bootstrap: str, options: Mapping[str, Any] | None = None) -> None:
    """Make Faust's table recovery read to the true end of each changelog partition (see the module note)."""
    from faust.transport.drivers import aiokafka as driver

    original = driver.Consumer.highwaters
    if getattr(original, "_true_end", False):
        return

    async def highwaters(self, *partitions):  # type: ignore[no-untyped-def]
        listed = await original(self, *partitions)
        try:
            return await fetched_ends(bootstrap, listed, options)
        except Exception:  # keep Faust's own answer rather than fail the recovery
            log.exception("changelog ends not fetched; recovering to the listed ends")
            return listed

    highwaters._true_end = True  # type: ignore[attr-defined]
    driver.Consumer.highwaters = highwaters


def unread_on_broker(listed: int | None, next_read: int) -> bool:
    """Whether a partition whose end ListOffsets gives as ``listed`` has records after ``next_read``.

    Holds on Tansu too: it lists the last batch's base offset + 1, which is past ``next_read`` exactly when a
    batch starts at or after it. The one case it misses, a last batch read only in part, is one the fetcher
    has already fetched, so its high-water mark says so (``streams.app``'s ``behind`` reads both).
    """
    return listed is not None and listed > next_read
