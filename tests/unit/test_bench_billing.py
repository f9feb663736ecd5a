"""The bench's bill: Pub/Sub's volume rule, the bill of what was published, and dollars
from billed units at list prices."""

import pytest

from localdev.local_stack.bench_billing import (
    PUBSUB_MESSAGE_ID_BYTES,
    PUBSUB_MIN_REQUEST_BYTES,
    PUBSUB_TIMESTAMP_BYTES,
    AlertBill,
    Instance,
    Prices,
    bill_for,
    message_bytes,
    request_bytes,
)


def test_a_messages_volume_is_its_data_attributes_timestamp_and_id():
    # 5 data, "k" + "vv", "ké" + "x" (é is two bytes), the timestamp, a real message id
    expected = 5 + 3 + 4 + PUBSUB_TIMESTAMP_BYTES + PUBSUB_MESSAGE_ID_BYTES
    assert message_bytes(b"hello", {"k": "vv", "ké": "x"}) == expected


@pytest.mark.parametrize(
    ("volumes", "billed"),
    [
        ([10], PUBSUB_MIN_REQUEST_BYTES),  # a small message is billed the minimum
        ([400, 400], PUBSUB_MIN_REQUEST_BYTES),  # per request, not per message
        ([999, 2], 1001),
        ([4096], 4096),
    ],
)
def test_a_request_is_billed_its_volume_and_at_least_the_minimum(volumes, billed):
    assert request_bytes(volumes) == billed


def test_each_alert_is_billed_its_publish_its_push_and_its_outcomes_publish():
    bill = bill_for({"a": 1500, "b": 200}, [("a", 300), ("b", 1200)], log_bytes=2000)
    assert bill.alerts == 2
    assert bill.pubsub_requests == 6
    # a: 1500 published, 1500 pushed, its outcome at the minimum; b: the minimum twice, 1200
    assert bill.pubsub_bytes == (1500 + 1500 + 1000) + (1000 + 1000 + 1200)
    assert (bill.ingest_requests, bill.responder_requests, bill.log_bytes) == (2, 2, 2000)
    assert bill.per_alert(bill.pubsub_requests) == 3


def test_a_redelivery_is_billed_a_second_push_and_a_second_outcome():
    once = bill_for({"a": 1500}, [("a", 300)], log_bytes=0)
    twice = bill_for({"a": 1500}, [("a", 300), ("a", 300)], log_bytes=0)
    assert twice.pubsub_bytes - once.pubsub_bytes == 1500 + 1000
    assert (twice.pubsub_requests, twice.responder_requests) == (5, 2)


def test_an_instance_second_costs_its_vcpus_and_its_memory():
    prices = Prices(run_per_vcpu_second=2.0, run_per_gib_second=0.5)
    assert Instance(vcpus=2, memory_gib=4).dollars_per_second(prices) == 2 * 2.0 + 4 * 0.5


def test_dollars_per_million_alerts_come_from_each_billed_unit():
    prices = Prices(
        pubsub_per_tib=2**40 / 1e6,  # a million bytes cost a dollar
        logging_per_gib=2**30 / 1e6,
        run_per_million_requests=3.0,
        run_per_vcpu_second=10.0,
        run_per_gib_second=1.0,
    )
    # Two alerts, one of them pushed twice: 2 ingest and 3 responder requests.
    bill = AlertBill(
        alerts=2,
        pubsub_bytes=6000,
        pubsub_requests=7,
        log_bytes=3000,
        ingest_requests=2,
        responder_requests=3,
    )
    ingest, responder = Instance(vcpus=1, memory_gib=0), Instance(vcpus=2, memory_gib=1)
    assert bill.dollars_per_million(prices, ingest, responder) == pytest.approx(
        {
            # each request 0.1 s of its instance: ingest's $10 a second, the responder's $21
            "Cloud Run instance time": (2 * 0.1 * 10.0 + 3 * 0.1 * 21.0) / 2 * 1e6,
            "Cloud Run requests": 5 / 2 * 3.0,
            "Cloud Logging": 3000 / 2,
            "Pub/Sub": 6000 / 2,
        }
    )
