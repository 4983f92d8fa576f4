// Bundles the compiled CLI (dist/src/main.js and everything it imports, npm dependencies
// included) into one CommonJS file, dist/bin/mybuild-main.cjs, with esbuild, and installs the
// two small files that start it:
//   dist/bin/mybuild      the package's bin, a sh launcher (scripts/cli-launcher.sh: defers
//                         NODE_EXTRA_CA_CERTS, which Node would otherwise parse at every start);
//   dist/bin/mybuild.cjs  the loader (scripts/cli-loader.cjs: compiles the bundle with V8's code
//                         cache); `node dist/bin/mybuild.cjs ARGS` is mybuild too.
// Why one CommonJS file: Node resolves, reads and links every ES module separately (~150 for a
// build), and only a classic script can be compiled from V8's code cache in Node 20
// (measured, warm no-op build: ES modules 0.22 s; ESM bundle split per command 0.16 s; this
// bundle with a warm code cache 0.12 s, of which 0.04 s is NODE_EXTRA_CA_CERTS on this machine).
// V8 compiles functions lazily, so code of commands that do not run costs little beyond reading.
// dist/src stays the library entry (`main`) and the unbundled tree for tests that import modules.
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const outdir = path.join(root, 'dist', 'bin');
const bundle = path.join(outdir, 'mybuild-main.cjs');
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [path.join(root, 'dist', 'src', 'main.js')],
  outfile: bundle,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // The sources are ES modules; in the bundle import.meta.url is the bundle's own URL.
  define: { 'import.meta.url': '__mybuildBundleUrl' },
  banner: { js: "const __mybuildBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
});
// The loader compiles the bundle as a classic script, where import() has no loader to call
// (and none survives V8's code cache): every module must be bundled or require()d. esbuild turns
// import() of bundled files into require(); one of a built-in or an external module would stay.
const dynamicImports = readFileSync(bundle, 'utf8').split('\n').map((l, i) => [i + 1, l]).filter(([, l]) => /(^|[^\w$.])import\(/.test(l));
if (dynamicImports.length) {
  rmSync(outdir, { recursive: true, force: true });
  throw new Error(`bundle-cli: ${bundle} has import() calls, which fail under the code-cache loader; import these modules statically:\n${dynamicImports.map(([n, l]) => `  line ${n}: ${l.trim()}`).join('\n')}`);
}
// The loader names its code cache after the bundle's content: V8 itself only checks the length.
const id = createHash('sha256').update(readFileSync(bundle)).digest('hex').slice(0, 16);
writeFileSync(path.join(outdir, 'mybuild.cjs'), readFileSync(path.join(root, 'scripts', 'cli-loader.cjs'), 'utf8').replace('__BUNDLE_ID__', id), { mode: 0o755 });
copyFileSync(path.join(root, 'scripts', 'cli-launcher.sh'), path.join(outdir, 'mybuild'));
chmodSync(path.join(outdir, 'mybuild'), 0o755);
chmodSync(path.join(outdir, 'mybuild.cjs'), 0o755);
