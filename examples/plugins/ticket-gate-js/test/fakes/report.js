// `ferry:plugin/report@0.1.0` for the tests: rows and charts are kept by the FakeHost.
import { host } from '../fake-host.js';

export function addRow(row) {
  host().rows.push(row);
}

export function addChart(chart) {
  host().charts.push(chart);
}
