// `ferry:plugin/tsql@0.1.0` for the tests: a query gets the rows FakeHost.answer gives.
import { host } from '../fake-host.js';

export class Connection {
  /** @param {string} label */
  constructor(label) {
    this.label = label;
  }

  /** @param {string} label */
  static open(label) {
    host().opened.push(label);
    return new Connection(label);
  }

  /**
   * @param {string} statement
   * @param {any[]} params
   * @param {{ maxRows: number, maxBytes: number }} limits
   */
  query(statement, params, limits) {
    const fake = host();
    fake.queries.push({ label: this.label, statement, params, limits });
    const rows = fake.answer(this.label, statement, params);
    return {
      sets: [{ columns: [], rows: rows.slice(0, limits.maxRows), truncated: rows.length > limits.maxRows }],
      messages: [],
    };
  }
}
