// The plugin's own tests: gate.js on Node.js, without ferry or WebAssembly. Run them with
// `npm test` (after ./build.sh has installed node_modules/; nothing here needs more than Node.js).
//
// gate.js imports the host's interfaces as `ferry:plugin/<interface>@0.1.0`, which exist only
// inside the component: loader.mjs resolves each to its fake in fakes/, and the fakes answer
// through the FakeHost of the test (fake-host.js). gate.js reads the time with Date.now(), which
// each test points at its FakeHost's clock; the FakeHost moves that clock on by each wait.
import assert from 'node:assert/strict';
import { register } from 'node:module';
import { test } from 'node:test';

import { FakeHost, pluginError } from './fake-host.js';

register('./loader.mjs', import.meta.url);
// After register(), so that its imports resolve to the fakes.
const { plugin } = await import('../gate.js');

/**
 * A FakeHost whose clock is the one gate.js reads, for the length of test `t`.
 * @param {import('node:test').TestContext} t
 * @param {ConstructorParameters<typeof FakeHost>[0]} [options]
 */
function fakeHost(t, options) {
  const fake = new FakeHost(options);
  t.mock.method(Date, 'now', () => fake.now);
  return fake;
}

const text = (val) => ({ tag: 'text', val });

/** The rows of the query for a ticket CHG-42 in this status. */
const ticket = (status) => [[text(status), text('CHG-42')]];

test('waits until the ticket is approved', (t) => {
  let looks = 0;
  const host = fakeHost(t, {
    answer(label, statement, params) {
      assert.equal(label, 'change-db');
      assert.match(statement, /change_tickets/);
      assert.deepEqual(params, [{ name: 'db', value: { tag: 'value', val: text('SalesDb') } }]);
      looks += 1;
      return ticket(looks < 3 ? 'pending' : 'approved');
    },
  });
  const start = host.now;
  const out = host.runItem(plugin, { tickets: 'change-db', poll_seconds: 30 }, 'SalesDb');
  assert.deepEqual(out, { ticket: 'CHG-42', looks: 3 });
  assert.deepEqual(
    host.waits.map((w) => w.until),
    [{ tag: 'duration-ms', val: 30_000n }, { tag: 'duration-ms', val: 30_000n }],
  );
  assert.equal(host.waits[0].reason, 'waiting for change ticket CHG-42 (pending)');
  assert.equal(host.now - start, 60_000);
  assert.equal(host.progress[0].phase, 'ticket');
  assert.equal(host.progress[0].message, 'CHG-42 is pending');
  assert.equal(host.rows.length, 1);
  assert.equal(host.rows[0].status, 'passed');
  assert.equal(host.rows[0].reasonCode, 'ticket-approved');
});

test('a rejected ticket stops the database', (t) => {
  const host = fakeHost(t, { answer: () => ticket('rejected') });
  const error = pluginError(() => host.runItem(plugin, {}, 'SalesDb'));
  assert.equal(error.tag, 'failed');
  assert.match(error.val.message, /CHG-42/);
  assert.equal(host.rows[0].status, 'blocked');
  assert.equal(host.rows[0].reasonCode, 'ticket-rejected');
});

test('a missing ticket stops the database', (t) => {
  const host = fakeHost(t, { answer: () => [] });
  const error = pluginError(() => host.runItem(plugin, {}, 'OpsDb'));
  assert.equal(error.tag, 'failed');
  assert.equal(error.val.message, 'no change ticket names database `OpsDb` in sql label `tickets`');
  assert.equal(host.rows[0].reasonCode, 'ticket-missing');
});

test('the gate gives up after give_up_hours', (t) => {
  const host = fakeHost(t, { answer: () => ticket('pending') });
  const start = host.now;
  const config = { give_up_hours: 1, poll_seconds: 600 };
  const error = pluginError(() => host.runItem(plugin, config, 'SalesDb'));
  assert.equal(error.tag, 'failed');
  assert.match(error.val.message, /is still pending after 1 hours/);
  // Looks at 0, 10, …, 60 minutes wait; the one at 70 minutes is past the hour and gives up.
  assert.equal(host.waits.length, 7);
  assert.equal(host.now - start, 70 * 60_000);
  assert.equal(host.rows.length, 1);
  assert.equal(host.rows[0].reasonCode, 'ticket-timeout');
});

test('a plan reports without waiting', (t) => {
  const host = fakeHost(t, { answer: () => ticket('pending'), planning: true });
  assert.deepEqual(host.runItem(plugin, {}, 'SalesDb'), { ticket: 'CHG-42', planned: true });
  assert.deepEqual(host.waits, []);
  assert.equal(host.rows[0].status, 'blocked');
  assert.equal(host.rows[0].reasonCode, 'ticket-not-approved');
});

test('unknown and wrong config keys are refused', () => {
  for (const [config, key] of [
    [{ ticket: 'x' }, 'ticket'],
    [{ poll_seconds: '60' }, 'poll_seconds'],
    [{ poll_seconds: 1 }, 'poll_seconds'],
    [{ give_up_hours: true }, 'give_up_hours'],
    [{ tickets: '' }, 'tickets'],
  ]) {
    const error = pluginError(() => plugin.validate(JSON.stringify(config)));
    assert.equal(error.tag, 'invalid-config', JSON.stringify(config));
    assert.equal(error.val.key, key);
  }
});

test('validate warns when nothing stops the wait', () => {
  const warnings = plugin.validate(JSON.stringify({ give_up_hours: 0 }));
  assert.deepEqual(warnings.map((w) => w.key), ['give_up_hours']);
  assert.deepEqual(plugin.validate('{}'), []);
});

test('describe states the need and a schema of every key', (t) => {
  const info = plugin.describe();
  assert.deepEqual(info.needs, [
    { kind: 'sql', label: 'tickets', access: 'read', why: 'reads the change-ticket table' },
  ]);
  const schema = JSON.parse(info.configSchema);
  const defaults = Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, v.default]));
  assert.deepEqual(Object.keys(defaults), ['tickets', 'poll_seconds', 'give_up_hours']);
  // The defaults the schema states are the ones an empty config gets: its label, its poll and
  // its limit, after which the item fails.
  const host = fakeHost(t, { answer: () => ticket('pending') });
  const error = pluginError(() => host.runItem(plugin, {}, 'SalesDb'));
  assert.match(error.val.message, new RegExp(`after ${defaults.give_up_hours} hours`));
  assert.deepEqual(host.opened[0], defaults.tickets);
  assert.deepEqual(host.waits[0].until, { tag: 'duration-ms', val: BigInt(defaults.poll_seconds * 1000) });
  assert.equal(host.waits.length, (defaults.give_up_hours * 3600) / defaults.poll_seconds + 1);
});
