"""Through the real broker: the end of a partition as Faust's table recovery needs it, the offset after the
last record, even where the broker's ListOffsets answers the last batch's base offset + 1 (Tansu does)."""
import asyncio

from kafka import KafkaProducer

from streams.changelog_end import fetched_ends
from tests.conftest import fresh_topics


def test_the_end_is_after_the_last_record_of_the_last_batch(kafka):
    (topic,) = fresh_topics(kafka, "changelog-end")
    producer = KafkaProducer(bootstrap_servers=kafka, acks="all", linger_ms=50)
    for batch in (5, 4):  # two record batches, as a changelog written with send_soon is
        for i in range(batch):
            producer.send(topic, key=b"k", value=b"v%d" % i, partition=0)
        producer.flush()
    producer.close()

    async def ends():
        from aiokafka import AIOKafkaConsumer, TopicPartition

        consumer = AIOKafkaConsumer(bootstrap_servers=kafka)
        await consumer.start()
        try:
            tp = TopicPartition(topic, 0)
            listed = await consumer.end_offsets([tp])
        finally:
            await consumer.stop()
        return listed, await fetched_ends(kafka, listed)

    listed, fixed = asyncio.run(ends())
    assert list(fixed.values()) == [9], (listed, fixed)
    assert all(fixed[tp] >= listed[tp] for tp in listed)


def test_a_partition_with_a_new_batch_is_seen_unread_from_its_listed_end_and_a_read_one_is_not(kafka):
    """What the worker asks before it lets an event overtake a partition that looks caught up (issue #19):
    the listed end, even Tansu's last-batch base + 1, tells whether anything was written after what we read."""
    from streams.changelog_end import unread_on_broker

    (topic,) = fresh_topics(kafka, "unread")
    producer = KafkaProducer(bootstrap_servers=kafka, acks="all", linger_ms=50)

    def write(n: int) -> None:
        for i in range(n):
            producer.send(topic, key=b"k", value=b"v%d" % i, partition=0)
        producer.flush()

    async def listed() -> int:
        from aiokafka import AIOKafkaConsumer, TopicPartition

        consumer = AIOKafkaConsumer(bootstrap_servers=kafka)
        await consumer.start()
        try:
            tp = TopicPartition(topic, 0)
            return (await consumer.end_offsets([tp]))[tp]
        finally:
            await consumer.stop()

    write(5)
    write(4)                                   # offsets 0–8 in two batches; a worker has read them all
    assert not unread_on_broker(asyncio.run(listed()), 9)
    write(3)                                   # a producer wrote more since the worker's last fetch
    end = asyncio.run(listed())
    assert unread_on_broker(end, 9) and not unread_on_broker(end, 12)
    assert unread_on_broker(asyncio.run(listed()), 0)
    producer.close()
