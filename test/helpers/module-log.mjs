// Preloaded with `node --import` by test/e2e/startup.test.ts: registers loader hooks that append the URL of every
// module the process loads (ESM, and CommonJS packages imported from ESM) to $HOOKTUNNEL_TEST_MODULE_LOG.
import { register } from 'node:module';

register('./module-log-hooks.mjs', import.meta.url, { data: { file: process.env.HOOKTUNNEL_TEST_MODULE_LOG } });
