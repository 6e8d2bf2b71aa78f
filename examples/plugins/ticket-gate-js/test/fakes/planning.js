// `ferry:plugin/planning@0.1.0` for the tests: `ferry plan` runs when the FakeHost says so.
import { host } from '../fake-host.js';

export function active() {
  return host().planning;
}
