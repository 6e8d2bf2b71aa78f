"""ticket-gate: waits until each database's change ticket is approved.

A ferry plugin in Python, built into a WebAssembly component with componentize-py against
ferry's WIT package (`wit/` at the repository's root). It does what the Rust gate of
docs/plugins.md section 5 does: same config keys, report rows, errors and wait.
"""

import json
import time

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import planning, progress, report, tsql, types

NAME = "ticket-gate"
VERSION = "0.1.0"
SUMMARY = "Waits until each database's change ticket is approved"

# `[steps.config]`: the host checks every step's config against this schema (`ferry check`,
# `plan`, `apply`) and `ferry plugins describe` prints it. `parse_config` below reads it too,
# so a key, its type, its bounds and its default are written once, here.
CONFIG_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Config",
    "description": f"`[steps.config]` of a {NAME} step.",
    "type": "object",
    "properties": {
        "tickets": {
            "description": "SQL label of the change-ticket database.",
            "type": "string",
            "minLength": 1,
            "default": "tickets",
            # This key holds the label of the `tickets` need, whatever it is called: `ferry
            # check` checks the step's grant for the label the key names.
            "x-ferry-need": "tickets",
        },
        "poll_seconds": {
            "description": "Seconds between two looks at a ticket that is not approved yet.",
            "type": "integer",
            "minimum": 5,
            "maximum": 3600,
            "default": 60,
        },
        "give_up_hours": {
            "description": "Hours to wait for approval before the database's item fails "
            "(0: no limit).",
            "type": "integer",
            "minimum": 0,
            "default": 72,
        },
    },
    "additionalProperties": False,
}

# The latest ticket for a database. `@db` is a typed parameter: never format names into SQL.
TICKET_SQL = (
    "SELECT TOP (1) status, ticket_id FROM dbo.change_tickets "
    "WHERE database_name = @db ORDER BY requested_at DESC"
)


class Plugin(exports.Plugin):
    def describe(self) -> types.PluginInfo:
        return types.PluginInfo(
            name=NAME,
            version=VERSION,
            summary=SUMMARY,
            config_schema=json.dumps(CONFIG_SCHEMA),
            needs=[
                types.CapabilityNeed(
                    kind=types.CapabilityKind.SQL,
                    label="tickets",
                    access=types.Access.READ,
                    why="reads the change-ticket table",
                )
            ],
        )

    def validate(self, config: str) -> list[types.Warning]:
        cfg = parse_config(config)
        warnings = []
        if cfg["give_up_hours"] == 0:
            warnings.append(
                types.Warning(
                    key="give_up_hours",
                    message="a ticket nobody approves keeps its database waiting forever",
                )
            )
        return warnings

    def step(self, context: types.StepContext, state: str | None) -> types.Outcome:
        cfg = parse_config(context.config)
        # Each call runs on a fresh instance: all the gate remembers is this JSON, which the
        # host journals and hands back. None on the first call.
        since_ms, looks = parse_state(state)
        db = context.item
        label = cfg["tickets"]

        # Re-check on every call: the ticket may have changed while we waited, or while ferry
        # was down. Reading is idempotent, so a repeated call (attempt > 1) needs no care.
        # A host error (a dropped connection is `transient`) is raised as `Err` and passed on
        # unchanged, so the host retries or fails the item as it would for any plugin.
        with tsql.Connection.open(label) as conn:
            result = conn.query(
                TICKET_SQL,
                [tsql.Param("db", tsql.ParamValue_Value(tsql.SqlValue_Text(db)))],
                tsql.QueryLimits(max_rows=1, max_bytes=4096),
            )
        rows = result.sets[0].rows if result.sets else []
        if not rows:
            add_row(db, report.ObjectStatus.BLOCKED, "ticket-missing",
                    f"no change ticket names `{db}`; raise one")
            raise failed(f"no change ticket names database `{db}` in sql label `{label}`")
        status = text(rows[0], 0).lower()
        ticket = text(rows[0], 1)

        if status == "approved":
            add_row(db, report.ObjectStatus.PASSED, "ticket-approved", f"{ticket} is approved")
            return types.Outcome_Done(json.dumps({"ticket": ticket, "looks": looks + 1}))
        if status == "rejected":
            add_row(db, report.ObjectStatus.BLOCKED, "ticket-rejected",
                    f"{ticket} was rejected; the restore will not run")
            raise failed(f"change ticket {ticket} for `{db}` was rejected")
        if planning.active():
            # A plan does not wait for a person: say where the ticket stands and move on.
            add_row(db, report.ObjectStatus.BLOCKED, "ticket-not-approved",
                    f"{ticket} is {status}; `ferry apply` will wait for it")
            return types.Outcome_Done(json.dumps({"ticket": ticket, "planned": True}))

        limit_ms = cfg["give_up_hours"] * 3_600_000
        if limit_ms > 0 and now_ms() - since_ms > limit_ms:
            add_row(db, report.ObjectStatus.BLOCKED, "ticket-timeout",
                    f"{ticket} was still {status} when the gate gave up")
            raise failed(
                f"change ticket {ticket} for `{db}` is still {status} after "
                f"{cfg['give_up_hours']} hours"
            )
        progress.update(progress.ProgressUpdate(
            phase="ticket", fraction=None, bytes_done=None, bytes_total=None, current=None,
            message=f"{ticket} is {status}",
        ))
        return types.Outcome_Wait(types.WaitRequest(
            until=types.WaitFor_DurationMs(cfg["poll_seconds"] * 1000),
            state=json.dumps({"since_ms": since_ms, "looks": looks + 1}),
            reason=f"waiting for change ticket {ticket} ({status})",
        ))

    def cleanup(self, context: types.StepContext, state: str | None) -> None:
        # The gate only reads: a cancelled or failed item leaves nothing behind.
        pass


def parse_config(text_: str) -> dict:
    """The step config with defaults filled in, checked against CONFIG_SCHEMA.

    The host has already checked it against the schema; this refuses what it would refuse
    (an unknown or misspelt key above all) for a caller that did not, such as `validate`.
    """
    try:
        given = json.loads(text_)
    except ValueError as e:
        raise invalid_config(None, f"the config is not JSON: {e}")
    if not isinstance(given, dict):
        raise invalid_config(None, "the config must be a table of keys")
    known = CONFIG_SCHEMA["properties"]
    for key in given:
        if key not in known:
            expected = ", ".join(f"`{k}`" for k in known)
            raise invalid_config(key, f"unknown key `{key}`, expected one of {expected}")
    config = {}
    for key, rule in known.items():
        value = given.get(key, rule["default"])
        if rule["type"] == "string":
            if not isinstance(value, str):
                raise invalid_config(key, f"expected a string, found {json.dumps(value)}")
            if len(value) < rule.get("minLength", 0):
                raise invalid_config(key, "must not be empty")
        elif rule["type"] == "integer":
            # JSON's true is not a number, and 60.0 is not an integer, as serde has it.
            if isinstance(value, bool) or not isinstance(value, int):
                raise invalid_config(key, f"expected an integer, found {json.dumps(value)}")
            low, high = rule.get("minimum"), rule.get("maximum")
            if (low is not None and value < low) or (high is not None and value > high):
                raise invalid_config(key, f"{value} is outside {low}..={high}")
        config[key] = value
    return config


def parse_state(state: str | None) -> tuple[int, int]:
    """(since_ms, looks): when the gate first looked, and how many looks so far."""
    if state is None:
        return now_ms(), 0
    try:
        s = json.loads(state)
        return int(s["since_ms"]), int(s["looks"])
    except (ValueError, TypeError, KeyError) as e:
        raise failed(
            f"the journaled state does not match this plugin version's state type ({e!r}); "
            "was the plugin changed in the middle of a run?"
        )


def add_row(db: str, status: report.ObjectStatus, code: str, notes: str) -> None:
    report.add_row(report.ObjectRow(
        object_type="change-ticket", name=db, status=status, reason_code=code, notes=notes,
    ))


def text(row: list, i: int) -> str:
    """A cell as text; NULL and a missing cell as ""."""
    if i >= len(row) or isinstance(row[i], tsql.SqlValue_Null):
        return ""
    return str(row[i].value)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def failed(message: str) -> Err:
    """A permanent failure: the host stops this work item (and skips its next steps)."""
    return Err(types.PluginError_Failed(types.Failure(message=message, code=None)))


def invalid_config(key: str | None, message: str) -> Err:
    return Err(types.PluginError_InvalidConfig(types.ConfigProblem(key=key, message=message)))
