// @ts-check
// A ferry plugin in JavaScript: before each database's next step, wait until its change ticket
// is approved. The same gate as the Rust one in docs/plugins.md section 5: same config keys,
// report rows, errors and waits.
//
// build.sh makes a WebAssembly component of this module with componentize-js, against the WIT
// package in ../../../wit (world `migration-plugin`), after type-checking it against the types
// `jco guest-types` generates from that WIT into types/. How WIT maps to JavaScript:
// - the exported `plugin` interface is the `plugin` object exported below;
// - an imported interface is the ES module `ferry:plugin/<interface>@0.1.0`;
// - names become camelCase (`add-row` → `addRow`, `reason-code` → `reasonCode`), resources
//   classes (`Connection.open`), enums strings (`'read'`), variants `{ tag, val }`, an
//   `option` a value or `undefined`, u64 and s64 BigInt;
// - an import's `result` is its `ok` value, or a thrown error whose `payload` is the
//   `plugin-error`; an export returns its `ok` value and throws its `err` (see `fail` and
//   `guarded`).
//
// Every call runs on a fresh instance: nothing survives between calls but the state string the
// host journals and passes back to `step`.

import { update } from 'ferry:plugin/progress@0.1.0';
import { addRow } from 'ferry:plugin/report@0.1.0';
import { Connection } from 'ferry:plugin/tsql@0.1.0';
import { active as planning } from 'ferry:plugin/planning@0.1.0';

/** @typedef {import('ferry:plugin/types@0.1.0').Outcome} Outcome */
/** @typedef {import('ferry:plugin/types@0.1.0').StepContext} StepContext */
/** @typedef {import('ferry:plugin/types@0.1.0').PluginInfo} PluginInfo */
/** @typedef {import('ferry:plugin/types@0.1.0').Warning} Warning */
/** @typedef {import('ferry:plugin/types@0.1.0').CapabilityNeed} CapabilityNeed */
/** @typedef {import('ferry:plugin/types@0.1.0').PluginError} PluginError */
/** @typedef {import('ferry:plugin/report@0.1.0').ObjectStatus} ObjectStatus */
/** @typedef {import('ferry:plugin/tsql@0.1.0').SqlValue} SqlValue */
/** @typedef {import('ferry:plugin/tsql@0.1.0').Param} Param */

const NAME = 'ticket-gate';
const VERSION = '0.1.0';
const SUMMARY = "Waits until each database's change ticket is approved";

// `[steps.config]` as JSON Schema (draft 2020-12), written by hand. The host checks every step
// config against it before anything runs; `parseConfig` reads defaults and limits from it too,
// so each key is declared once.
const CONFIG_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'Config',
  description: '`[steps.config]` of a ticket-gate step.',
  type: 'object',
  properties: {
    tickets: {
      description: 'SQL label of the change-ticket database.',
      type: 'string',
      minLength: 1,
      default: 'tickets',
      // Tells `ferry check` this key holds the label of the `tickets` need, so it checks the
      // step's grant for whatever label the step names.
      'x-ferry-need': 'tickets',
    },
    poll_seconds: {
      description: 'Seconds between two looks at a ticket that is not approved yet.',
      type: 'integer',
      minimum: 5,
      maximum: 3600,
      default: 60,
    },
    give_up_hours: {
      description: "Hours to wait for approval before the database's item fails (0: no limit).",
      type: 'integer',
      minimum: 0,
      default: 72,
    },
  },
  additionalProperties: false,
};

/**
 * @typedef {object} Config
 * @property {string} tickets
 * @property {number} poll_seconds
 * @property {number} give_up_hours
 */

/**
 * Kept between calls as JSON; none before the first look.
 * @typedef {object} State
 * @property {number} since_ms when the first look was
 * @property {number} looks how many looks found the ticket not approved yet
 */

/**
 * What `ferry plugins describe` shows and `ferry check` compares with the step's grants.
 * @type {CapabilityNeed[]}
 */
const NEEDS = [{ kind: 'sql', label: 'tickets', access: 'read', why: 'reads the change-ticket table' }];

// The latest ticket for a database. `@db` is a typed parameter: never format names into SQL.
const TICKET_SQL =
  'SELECT TOP (1) status, ticket_id FROM dbo.change_tickets ' +
  'WHERE database_name = @db ORDER BY requested_at DESC';

/** @satisfies {typeof import('ferry:plugin/plugin@0.1.0')} */
export const plugin = {
  describe,
  validate: guarded(validate),
  step: guarded(step),
  cleanup(context, state) {
    // Best effort, and no `result` to fail with: a thrown error would only trap.
    try {
      cleanup(context, state);
    } catch (e) {
      console.error(`cleanup failed: ${describeThrown(e)}`);
    }
  },
};

/** @returns {PluginInfo} */
function describe() {
  return {
    name: NAME,
    version: VERSION,
    summary: SUMMARY,
    configSchema: JSON.stringify(CONFIG_SCHEMA),
    needs: NEEDS,
  };
}

/**
 * Checks beyond the schema. Runs with no grants, in `ferry check`, `plan` and `apply`.
 * @param {string} configJson
 * @returns {Warning[]}
 */
function validate(configJson) {
  const config = parseConfig(configJson);
  const warnings = [];
  if (config.give_up_hours === 0) {
    warnings.push({
      key: 'give_up_hours',
      message: 'a ticket nobody approves keeps its database waiting forever',
    });
  }
  return warnings;
}

/**
 * One bounded piece of work for `context.item` (a database).
 * @param {StepContext} context
 * @param {string | undefined} stateJson
 * @returns {Outcome}
 */
function step(context, stateJson) {
  const config = parseConfig(context.config);
  const { since_ms: sinceMs, looks } = parseState(stateJson) ?? { since_ms: Date.now(), looks: 0 };
  const db = context.item;
  const label = config.tickets;

  // Re-check on every call: the ticket may have changed while we waited, or while ferry was
  // down. Reading is idempotent, so a repeated call (attempt > 1) needs no care. A host
  // call's error (no grant, a dropped connection) is thrown and becomes this call's error as
  // it is, so the host retries a transient one.
  const conn = Connection.open(label);
  const result = conn.query(TICKET_SQL, [param('db', text(db))], { maxRows: 1, maxBytes: 4096 });
  const row = result.sets[0]?.rows[0];
  if (row === undefined) {
    gateRow(db, 'blocked', 'ticket-missing', `no change ticket names \`${db}\`; raise one`);
    return fail(`no change ticket names database \`${db}\` in sql label \`${label}\``);
  }
  const status = cellText(row[0]).toLowerCase();
  const ticket = cellText(row[1]);

  if (status === 'approved') {
    gateRow(db, 'passed', 'ticket-approved', `${ticket} is approved`);
    return done({ ticket, looks: looks + 1 });
  }
  if (status === 'rejected') {
    gateRow(db, 'blocked', 'ticket-rejected', `${ticket} was rejected; the restore will not run`);
    return fail(`change ticket ${ticket} for \`${db}\` was rejected`);
  }
  if (planning()) {
    // A plan does not wait for a person: say where the ticket stands and move on.
    gateRow(db, 'blocked', 'ticket-not-approved', `${ticket} is ${status}; \`ferry apply\` will wait for it`);
    return done({ ticket, planned: true });
  }
  const limitMs = config.give_up_hours * 3_600_000;
  if (limitMs > 0 && Date.now() - sinceMs > limitMs) {
    gateRow(db, 'blocked', 'ticket-timeout', `${ticket} was still ${status} when the gate gave up`);
    return fail(`change ticket ${ticket} for \`${db}\` is still ${status} after ${config.give_up_hours} hours`);
  }
  update({ phase: 'ticket', message: `${ticket} is ${status}` });
  /** @type {State} */
  const next = { since_ms: sinceMs, looks: looks + 1 };
  return {
    tag: 'wait',
    val: {
      until: { tag: 'duration-ms', val: BigInt(config.poll_seconds) * 1000n },
      state: JSON.stringify(next),
      reason: `waiting for change ticket ${ticket} (${status})`,
    },
  };
}

/**
 * Best-effort undo after the item failed, with its last state: nothing here, the gate only
 * reads.
 * @param {StepContext} _context
 * @param {string | undefined} _stateJson
 */
function cleanup(_context, _stateJson) {}

// --- config and state ---------------------------------------------------------------------

/**
 * The step config with defaults filled in, checked against CONFIG_SCHEMA: `ferry check` has
 * checked it already, but `validate` and `step` do not assume that it ran.
 * @param {string} json
 * @returns {Config}
 */
function parseConfig(json) {
  let raw;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    return invalidConfig(undefined, `the config is not JSON: ${e}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return invalidConfig(undefined, 'the config must be a table');
  }
  const known = Object.keys(CONFIG_SCHEMA.properties);
  for (const key of Object.keys(raw)) {
    if (!known.includes(key)) {
      invalidConfig(key, `unknown key \`${key}\`, expected one of ${known.map((k) => `\`${k}\``).join(', ')}`);
    }
  }
  /** @type {Record<string, unknown>} */
  const config = {};
  for (const [key, rule] of Object.entries(CONFIG_SCHEMA.properties)) {
    const value = key in raw ? raw[key] : rule.default;
    if (rule.type === 'string') {
      if (typeof value !== 'string') invalidConfig(key, 'must be a string');
      if ('minLength' in rule && value.length < rule.minLength) {
        invalidConfig(key, `must be at least ${rule.minLength} characters`);
      }
    } else if (rule.type === 'integer') {
      if (!Number.isSafeInteger(value)) invalidConfig(key, 'must be a whole number');
      if ('minimum' in rule && value < rule.minimum) invalidConfig(key, `must be at least ${rule.minimum}`);
      if ('maximum' in rule && value > rule.maximum) invalidConfig(key, `must be at most ${rule.maximum}`);
    }
    config[key] = value;
  }
  return /** @type {Config} */ (config);
}

/**
 * The state the previous call returned, or undefined on the first call.
 * @param {string | undefined} json
 * @returns {State | undefined}
 */
function parseState(json) {
  if (json === undefined) return undefined;
  try {
    return JSON.parse(json);
  } catch (e) {
    return fail(`the journaled state is not this plugin's (${e}); was the plugin changed in the middle of a run?`);
  }
}

// --- the WIT's shapes -----------------------------------------------------------------------

/**
 * An export whose exceptions all reach ferry as a `plugin-error`. componentize-js can only
 * return a thrown `plugin-error` (or a host call's error, whose `payload` is one); anything
 * else, such as the TypeError of a bug, traps, and ferry can say no more than "the plugin
 * crashed". Here it becomes a `failed` error that carries its message and stack.
 * @template {(...args: any[]) => any} F
 * @param {F} fn
 * @returns {F}
 */
function guarded(fn) {
  return /** @type {F} */ (
    (/** @type {any[]} */ ...args) => {
      try {
        return fn(...args);
      } catch (e) {
        /** @type {any} */
        const thrown = e;
        if (isPluginError(thrown)) throw thrown;
        if (isPluginError(thrown?.payload)) throw thrown.payload;
        return fail(`the plugin threw ${describeThrown(thrown)}`);
      }
    }
  );
}

const ERROR_TAGS = ['invalid-config', 'denied', 'transient', 'failed', 'unsupported'];

/**
 * @param {any} e
 * @returns {e is PluginError}
 */
function isPluginError(e) {
  return typeof e === 'object' && e !== null && ERROR_TAGS.includes(e.tag);
}

/** @param {any} e */
function describeThrown(e) {
  return e instanceof Error && e.stack ? `${e}\n${e.stack}` : String(e);
}

/**
 * Ends the call with a `failed` error: the work item stops here and its later steps are
 * skipped. The thrown value is the `err` of the export's `result`.
 * @param {string} message
 * @returns {never}
 */
function fail(message) {
  /** @type {PluginError} */
  const error = { tag: 'failed', val: { message } };
  throw error;
}

/**
 * @param {string | undefined} key
 * @param {string} message
 * @returns {never}
 */
function invalidConfig(key, message) {
  /** @type {PluginError} */
  const error = { tag: 'invalid-config', val: { key, message } };
  throw error;
}

/**
 * The work item is finished; `output` goes to the journal and the report.
 * @param {object} output
 * @returns {Outcome}
 */
function done(output) {
  return { tag: 'done', val: JSON.stringify(output) };
}

/**
 * @param {string} s
 * @returns {SqlValue}
 */
function text(s) {
  return { tag: 'text', val: s };
}

/**
 * @param {string} name
 * @param {SqlValue} value
 * @returns {Param}
 */
function param(name, value) {
  return { name, value: { tag: 'value', val: value } };
}

/**
 * A result cell as text, as the Rust SDK's `sql_value::text` reads it.
 * @param {SqlValue | undefined} cell
 * @returns {string}
 */
function cellText(cell) {
  switch (cell?.tag) {
    case 'text':
    case 'decimal':
    case 'datetime':
    case 'guid':
    case 'int':
    case 'float':
      return String(cell.val);
    case 'bit':
      return cell.val ? '1' : '0';
    case 'binary':
      return Array.from(cell.val, (b) => b.toString(16).padStart(2, '0').toUpperCase()).join('');
    default:
      return '';
  }
}

/**
 * @param {string} name
 * @param {ObjectStatus} status
 * @param {string} reasonCode
 * @param {string} notes
 */
function gateRow(name, status, reasonCode, notes) {
  addRow({ objectType: 'change-ticket', name, status, reasonCode, notes });
}
