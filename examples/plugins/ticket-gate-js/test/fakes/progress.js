// `ferry:plugin/progress@0.1.0` for the tests: each update is kept by the FakeHost.
import { host } from '../fake-host.js';

export function update(progress) {
  host().progress.push(progress);
}
