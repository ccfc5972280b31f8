"""Batches never exceed the bounds the worker's payload must respect, and lose or reorder nothing."""
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from analytics_consumer.batching import BatchBuilder, encode_batch

bodies = st.lists(st.text(min_size=0, max_size=300), max_size=60)


def batches_of(texts, max_events, max_bytes):
    builder = BatchBuilder(max_events, max_bytes)
    batches = [batch for index, text in enumerate(texts) for batch in builder.add({"MessageId": str(index), "Body": text})]
    last = builder.flush()
    return [batch.bodies for batch in batches + ([last] if last else [])]


@settings(max_examples=300, deadline=None)
@given(texts=bodies, max_events=st.integers(1, 12), max_bytes=st.integers(1, 2000))
def test_batches_respect_both_bounds_and_keep_every_body(texts, max_events, max_bytes):
    # GIVEN any message bodies (any Unicode, quotes, control characters) and any bounds
    # WHEN they are batched
    result = batches_of(texts, max_events, max_bytes)
    # THEN the bodies come out in order, unchanged, each exactly once
    assert [text for batch in result for text in batch] == texts
    for index, batch in enumerate(result):
        payload = encode_batch(batch)
        # AND the payload is the JSON list of the bodies
        assert json.loads(payload) == batch
        # AND no batch is over the count bound, nor over the byte bound unless it is one message alone
        assert 1 <= len(batch) <= max_events
        assert len(payload) <= max_bytes or len(batch) == 1
        # AND a batch is closed only when the next message would not have fit
        if index + 1 < len(result):
            following = result[index + 1][0]
            assert len(batch) == max_events or len(payload) >= max_bytes or len(encode_batch(batch + [following])) > max_bytes
