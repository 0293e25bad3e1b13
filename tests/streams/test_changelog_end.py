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
