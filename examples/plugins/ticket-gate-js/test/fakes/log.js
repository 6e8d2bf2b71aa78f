// `ferry:plugin/log@0.1.0` for the tests: each line is kept by the FakeHost as `{ level, message }`.
import { host } from '../fake-host.js';

export function emit(level, message) {
  host().logs.push({ level, message });
}

export function enabled(_level) {
  return true;
}
