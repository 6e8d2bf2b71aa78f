"""The plugin's own tests: app.py on this machine's Python, without ferry or WebAssembly.

The host's side of every import the plugin uses is faked over the typed stubs build.sh
generates in bindings/ (the same names and types the component sees). Seconds, not a
migration: run them after ./build.sh with

    .venv/bin/python -m unittest -v
"""

import json
import sys
import unittest
from contextlib import ExitStack
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).parent / "bindings"))

from componentize_py_types import Err  # noqa: E402
from wit_world.imports import planning, progress, report, tsql, types  # noqa: E402

import app  # noqa: E402


class FakeHost:
    """Answers the plugin's queries with `answer(label, statement, params)` (a list of rows)
    and records what it sent: report rows, progress, waits."""

    def __init__(self, answer, planning_=False):
        self.answer = answer
        self.planning = planning_
        self.rows: list[report.ObjectRow] = []
        self.progress: list[progress.ProgressUpdate] = []
        self.waits: list[types.WaitRequest] = []

    def run_item(self, config: dict, item: str, state: str | None = None):
        """Calls `step` as the host does until the item is done; returns its output."""
        plugin = app.Plugin()
        with self._imports():
            for call in range(1, 100):
                ctx = types.StepContext(
                    run_id="run-1", step="ticket", item=item, attempt=1,
                    config=json.dumps(config), scratch=None,
                )
                outcome = plugin.step(ctx, state)
                if isinstance(outcome, types.Outcome_Done):
                    return json.loads(outcome.value)
                if isinstance(outcome, types.Outcome_Wait):
                    self.waits.append(outcome.value)
                    state = outcome.value.state
                else:
                    state = outcome.value
        raise AssertionError("the item never finished")

    def _imports(self):
        host = self

        class Connection:
            def __init__(self, label):
                self.label = label

            def query(self, statement, params, limits):
                rows = host.answer(self.label, statement, params)
                return tsql.QueryResult(
                    sets=[tsql.RowSet(columns=[], rows=rows, truncated=False)], messages=[]
                )

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return None

        imports = ExitStack()
        for patch in [
            mock.patch.object(tsql.Connection, "open", Connection),
            mock.patch.object(report, "add_row", self.rows.append),
            mock.patch.object(progress, "update", self.progress.append),
            mock.patch.object(planning, "active", lambda: self.planning),
        ]:
            imports.enter_context(patch)
        return imports


def ticket(status):
    return [[tsql.SqlValue_Text(status), tsql.SqlValue_Text("CHG-42")]]


class Gate(unittest.TestCase):
    def test_waits_until_the_ticket_is_approved(self):
        looks = []

        def answer(label, statement, params):
            self.assertEqual(label, "change-db")
            self.assertIn("change_tickets", statement)
            db = tsql.ParamValue_Value(tsql.SqlValue_Text("SalesDb"))
            self.assertEqual(params, [tsql.Param("db", db)])
            looks.append(1)
            return ticket("pending" if len(looks) < 3 else "approved")

        host = FakeHost(answer)
        out = host.run_item({"tickets": "change-db", "poll_seconds": 30}, "SalesDb")
        self.assertEqual(out, {"ticket": "CHG-42", "looks": 3})
        self.assertEqual([w.until for w in host.waits], [types.WaitFor_DurationMs(30000)] * 2)
        self.assertEqual(host.waits[0].reason, "waiting for change ticket CHG-42 (pending)")
        self.assertEqual(host.progress[0].message, "CHG-42 is pending")
        self.assertEqual(len(host.rows), 1)
        self.assertEqual(host.rows[0].status, report.ObjectStatus.PASSED)

    def test_a_rejected_ticket_stops_the_database(self):
        host = FakeHost(lambda *_: ticket("rejected"))
        with self.assertRaises(Err) as e:
            host.run_item({}, "SalesDb")
        self.assertIsInstance(e.exception.value, types.PluginError_Failed)
        self.assertIn("CHG-42", e.exception.value.value.message)
        self.assertEqual(host.rows[0].status, report.ObjectStatus.BLOCKED)
        self.assertEqual(host.rows[0].reason_code, "ticket-rejected")

    def test_a_missing_ticket_stops_the_database(self):
        host = FakeHost(lambda *_: [])
        with self.assertRaises(Err) as e:
            host.run_item({}, "OpsDb")
        self.assertEqual(
            e.exception.value.value.message,
            "no change ticket names database `OpsDb` in sql label `tickets`",
        )
        self.assertEqual(host.rows[0].reason_code, "ticket-missing")

    def test_the_gate_gives_up_after_give_up_hours(self):
        host = FakeHost(lambda *_: ticket("pending"))
        with self.assertRaises(Err) as e:
            long_ago = json.dumps({"since_ms": 0, "looks": 9})
            host.run_item({"give_up_hours": 1}, "SalesDb", long_ago)
        self.assertIn("is still pending after 1 hours", e.exception.value.value.message)
        self.assertEqual(host.rows[0].reason_code, "ticket-timeout")

    def test_a_plan_reports_without_waiting(self):
        host = FakeHost(lambda *_: ticket("pending"), planning_=True)
        self.assertEqual(host.run_item({}, "SalesDb"), {"ticket": "CHG-42", "planned": True})
        self.assertEqual(host.waits, [])
        self.assertEqual(host.rows[0].status, report.ObjectStatus.BLOCKED)

    def test_unknown_and_wrong_config_keys_are_refused(self):
        for config, key in [
            ({"ticket": "x"}, "ticket"),
            ({"poll_seconds": "60"}, "poll_seconds"),
            ({"poll_seconds": 1}, "poll_seconds"),
            ({"give_up_hours": True}, "give_up_hours"),
            ({"tickets": ""}, "tickets"),
        ]:
            with self.assertRaises(Err) as e:
                app.Plugin().validate(json.dumps(config))
            self.assertIsInstance(e.exception.value, types.PluginError_InvalidConfig, config)
            self.assertEqual(e.exception.value.value.key, key)

    def test_validate_warns_when_nothing_stops_the_wait(self):
        warnings = app.Plugin().validate(json.dumps({"give_up_hours": 0}))
        self.assertEqual([w.key for w in warnings], ["give_up_hours"])
        self.assertEqual(app.Plugin().validate("{}"), [])

    def test_describe_states_the_need_and_a_schema_of_every_key(self):
        info = app.Plugin().describe()
        self.assertEqual(
            info.needs,
            [types.CapabilityNeed(types.CapabilityKind.SQL, "tickets", types.Access.READ,
                                  "reads the change-ticket table")],
        )
        schema = json.loads(info.config_schema)
        defaults = {k: v["default"] for k, v in schema["properties"].items()}
        # The defaults the schema states are the ones an empty config gets.
        self.assertEqual(app.parse_config("{}"), defaults)


if __name__ == "__main__":
    unittest.main()
