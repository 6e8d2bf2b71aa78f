// Module-resolution hook for the tests: the WIT imports `ferry:plugin/<interface>@0.1.0` that
// gate.js uses exist only inside the component, so here each resolves to test/fakes/<interface>.js,
// which answers through the test's FakeHost (fake-host.js). Registered by gate.test.js with
// `register()` from `node:module` (Node.js 20.6 or later); every other specifier resolves as usual.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const FERRY = /^ferry:plugin\/([a-z][a-z0-9-]*)@0\.1\.0$/;
const FAKES = new URL('./fakes/', import.meta.url);

export async function resolve(specifier, context, nextResolve) {
  const iface = FERRY.exec(specifier)?.[1];
  if (iface === undefined) return nextResolve(specifier, context);
  const fake = new URL(`${iface}.js`, FAKES);
  if (!existsSync(fileURLToPath(fake))) {
    throw new Error(
      `${specifier} has no fake for the tests: write test/fakes/${iface}.js, exporting what ` +
        `types/interfaces/ferry-plugin-${iface}.d.ts declares`,
    );
  }
  return { url: fake.href, shortCircuit: true };
}
