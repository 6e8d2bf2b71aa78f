// The host's side of the plugin, for its tests: a FakeHost answers the queries the plugin runs
// and records what it sends (report rows, progress, logs, waits), and `runItem` calls `step` as
// ferry does, wait after wait, with the fake clock moved on by each wait. The fakes of the WIT
// imports in fakes/ (loaded in their place by loader.mjs) call the FakeHost of the running item.
import { inspect } from 'node:util';

/** @type {FakeHost | undefined} */
let current;

/** The FakeHost whose item is running; the fakes in fakes/ answer through it. */
export function host() {
  if (current === undefined) {
    // As in ferry: `describe` and `validate` run with no grants.
    throw new Error('a ferry:plugin import was called outside FakeHost.runItem');
  }
  return current;
}

export class FakeHost {
  /**
   * @param {object} [options]
   * @param {(label: string, statement: string, params: any[]) => any[][]} [options.answer]
   *   the rows of a query's first result set, for the connection's label
   * @param {boolean} [options.planning] whether `ferry plan` is running (`planning.active()`)
   * @param {number} [options.now] the fake clock, in milliseconds since the Unix epoch
   */
  constructor({ answer = () => [], planning = false, now = Date.UTC(2025, 0, 6, 9) } = {}) {
    this.answer = answer;
    this.planning = planning;
    this.now = now;
    /** Labels passed to `Connection.open`, in order. */
    this.opened = [];
    /** `{ label, statement, params, limits }` of each query, in order. */
    this.queries = [];
    /** Report rows (`report.addRow`), progress updates, charts and `{ level, message }` logs. */
    this.rows = [];
    this.progress = [];
    this.charts = [];
    this.logs = [];
    /** The wait requests `step` returned, in order. */
    this.waits = [];
  }

  /**
   * Calls `plugin.step` for one work item as ferry does until the item is done, following
   * `next` and `wait` with the state they return, and returns the item's output (parsed JSON).
   * An error `step` throws (the item failed) is thrown from here as it is.
   * @param {{ step: Function }} plugin
   * @param {object} config the step's `[steps.config]`
   * @param {string} item the work item, a database
   * @param {string} [state] the journaled state to resume from; none for a first call
   */
  runItem(plugin, config, item, state = undefined, { maxCalls = 10_000 } = {}) {
    current = this;
    try {
      for (let call = 1; call <= maxCalls; call++) {
        const context = {
          runId: 'run-1',
          step: 'gate',
          item,
          attempt: 1,
          config: JSON.stringify(config),
          scratch: undefined,
        };
        const outcome = plugin.step(context, state);
        switch (outcome?.tag) {
          case 'done':
            return JSON.parse(outcome.val);
          case 'next':
            state = outcome.val;
            break;
          case 'wait':
            this.waits.push(outcome.val);
            this.#waitFor(outcome.val.until);
            state = outcome.val.state;
            break;
          default:
            throw new Error(`step returned no WIT outcome: ${inspect(outcome)}`);
        }
      }
    } finally {
      current = undefined;
    }
    throw new Error(`the item was not done after ${maxCalls} step calls`);
  }

  /** @param {{ tag: string, val: any }} until */
  #waitFor(until) {
    switch (until.tag) {
      case 'duration-ms':
      case 'until-unix-ms':
        if (typeof until.val !== 'bigint') throw new TypeError(`${until.tag} is a u64: a BigInt`);
        if (until.tag === 'duration-ms') this.now += Number(until.val);
        else this.now = Math.max(this.now, Number(until.val));
        return;
      default:
        throw new Error(`the FakeHost cannot wait for ${inspect(until)}`);
    }
  }
}

const ERROR_TAGS = ['invalid-config', 'denied', 'transient', 'failed', 'unsupported'];

/**
 * The `plugin-error` that `fn` throws, as ferry gets it from an export's `result`. Fails when
 * `fn` returns, or throws anything else: in the component that would be a trap.
 * @param {() => unknown} fn
 */
export function pluginError(fn) {
  let returned;
  try {
    returned = fn();
  } catch (e) {
    if (typeof e === 'object' && e !== null && ERROR_TAGS.includes(/** @type {any} */ (e).tag)) {
      return /** @type {{ tag: string, val: any }} */ (e);
    }
    throw new Error(`threw something that is not a plugin-error: ${inspect(e)}`);
  }
  throw new Error(`expected a plugin-error, got ${inspect(returned)}`);
}
