"""The relay bench's own logic (bench/relay.py), without an emulator:
`.venv/bin/python -m unittest discover -s bench -p 'test_*.py'` (part of `make test`)."""

import json
import sys
import unittest
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import relay


class OutboxItem(unittest.TestCase):
    def test_an_outbox_item_is_keyed_by_its_event_and_pending_in_the_shard_of_its_first_byte(self):
        event_id = uuid.UUID("0b9c8f4e-5d7a-4e8b-9a1c-2f3e4d5c6b7a")
        item = relay.outbox_item(event_id, "2026-11-27T18:00:00.000Z", 1795000000)
        self.assertEqual(item["pk"], {"S": f"OUTBOX#{event_id}"})
        self.assertEqual(item["sk"], {"S": "OUTBOX"})
        self.assertEqual(item["kind"], {"S": "outbox"})
        self.assertEqual(item["outbox_pending"], {"S": f"PENDING#{0x0B % 4}"})
        envelope = json.loads(item["envelope"]["S"])
        self.assertEqual((envelope["id"], envelope["type"]), (str(event_id), item["event_type"]["S"]))

    def test_the_template_stream_batch_is_the_default_batch(self):
        from run import load_template

        mappings = [
            r["Properties"]["Events"]["OutboxStream"]["Properties"]
            for r in load_template()["Resources"].values()
            if r.get("Metadata", {}).get("BuildProperties", {}).get("Binary") == "outbox-relay"
        ]
        self.assertTrue(mappings)
        self.assertEqual({m["BatchSize"] for m in mappings}, {relay.STREAM_BATCH})


class Summary(unittest.TestCase):
    def test_events_per_second_is_the_median_of_batch_over_latency(self):
        runs = [{"events": 100, "latency_ms": ms, "cpu_ms": 50.0} for ms in (100.0, 200.0, 400.0)]
        summary = relay.summarise(runs)
        self.assertEqual(summary["events_per_second"], {"median": 500.0, "min": 250.0, "max": 1000.0})
        self.assertEqual(summary["latency_ms"]["median"], 200.0)
        self.assertEqual(summary["cpu_ms_per_event"]["median"], 0.5)


if __name__ == "__main__":
    unittest.main()
