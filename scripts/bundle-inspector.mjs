// Bundles the inspector's drawing code (dist/ui/inspector/run.js with our components, ink, React and yoga) into one
// file, dist/ui/inspector/run.bundle.js, which the CLI loads instead (src/ui/inspector/load.ts). Loading ink's
// 600 modules one by one is most of the inspector's start-up; one file of the same code loads in a third of the
// time. Run by `npm run build` after tsc.
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/ui/inspector/run.js'],
  outfile: 'dist/ui/inspector/run.bundle.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // React's production build, as any bundled React program ships (the modules pick it by NODE_ENV as well).
  define: { 'process.env.NODE_ENV': '"production"' },
  // CommonJS dependencies (react, react-reconciler) that require Node's built-ins need a require in an ES module.
  banner: { js: "import { createRequire as hooktunnelCreateRequire } from 'node:module';\nconst require = hooktunnelCreateRequire(import.meta.url);" },
  plugins: [
    {
      // ink imports react-devtools-core only when DEV=true, and it is not installed: an empty one stands in.
      name: 'no-react-devtools',
      setup(b) {
        b.onResolve({ filter: /^react-devtools-core$/ }, () => ({ path: 'react-devtools-core', namespace: 'no-react-devtools' }));
        b.onLoad({ filter: /.*/, namespace: 'no-react-devtools' }, () => ({ contents: 'export default { initialize() {}, connectToDevTools() {} };' }));
      },
    },
  ],
  legalComments: 'eof',
  logLevel: 'warning',
});
