"""The bench's bill: Pub/Sub's volume rule, and dollars from billed units at list prices."""

import pytest

from localdev.local_stack.bench_billing import (
    PUBSUB_MIN_REQUEST_BYTES,
    AlertBill,
    Instance,
    Prices,
    message_bytes,
    request_bytes,
)


def test_a_messages_volume_is_its_data_attributes_timestamp_and_id():
    # 5 data + ("k" + "vv") + ("ké" + "x": é is two bytes) + 20 timestamp + 4 id
    assert message_bytes(b"hello", {"k": "vv", "ké": "x"}, "1234") == 5 + 3 + 4 + 20 + 4


@pytest.mark.parametrize(
    ("volumes", "billed"),
    [
        ([10], PUBSUB_MIN_REQUEST_BYTES),  # a small message is billed the minimum
        ([400, 400], PUBSUB_MIN_REQUEST_BYTES),  # per request, not per message
        ([999, 2], 1001),
        ([4096], 4096),
        ([], PUBSUB_MIN_REQUEST_BYTES),
    ],
)
def test_a_request_is_billed_its_volume_and_at_least_the_minimum(volumes, billed):
    assert request_bytes(volumes) == billed


def test_an_instance_second_costs_its_vcpus_and_its_memory():
    prices = Prices(run_per_vcpu_second=2.0, run_per_gib_second=0.5)
    assert Instance(vcpus=2, memory_gib=4).dollars_per_second(prices) == 2 * 2.0 + 4 * 0.5


def test_dollars_per_million_alerts_come_from_each_billed_unit():
    prices = Prices(
        pubsub_per_tib=2**40 / 1e6,  # a million bytes cost a dollar
        logging_per_gib=2**30 / 1e6,
        run_per_million_requests=3.0,
        run_per_vcpu_second=10.0,
        run_per_gib_second=0.0,
    )
    bill = AlertBill(
        pubsub_bytes=3000,
        pubsub_requests=3,
        log_bytes=1500,
        ingest_requests=1,
        responder_requests=2,  # a redelivery: a second push, billed as the first
    )
    assert bill.dollars_per_million(prices) == pytest.approx(
        {
            # three requests, each 0.1 s of a one-vCPU instance at $10 a second
            "Cloud Run instance time": 3 * 0.1 * 10.0 * 1e6,
            "Cloud Run requests": 3 * 3.0,
            "Cloud Logging": 1500.0,
            "Pub/Sub": 3000.0,
        }
    )
