import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The inspector's drawing code (runInspector), as run.ts exports it. */
export type InspectorUi = typeof import('./run.js');

/**
 * Loads the inspector's drawing code: from the one-file bundle `npm run build` makes of it and of ink and React
 * (scripts/bundle-inspector.mjs), which loads in a third of the time the same modules take one by one; without the
 * bundle (running from src/, as the tests do), from the modules themselves.
 */
export async function loadInspectorUi(): Promise<InspectorUi> {
  const bundle = new URL('./run.bundle.js', import.meta.url);
  if (existsSync(fileURLToPath(bundle))) return (await import(bundle.href)) as InspectorUi;
  return import('./run.js');
}
