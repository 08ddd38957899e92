// `npm run build:web`: the browser bundle (esbuild, platform 'browser', ES
// modules) of the scanning page and of the in-browser kernel checks, into
// web/dist/. The WGSL sources are bundled as strings (the virtual module
// `handscan:shaders`), and the build fails on any Node built-in, naming the
// file that imports it: the engine core must run in a browser as it is.
import { build, type BuildOptions, type BuildResult, type Plugin } from 'esbuild';
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const WEB_DIST = join(ROOT, 'web', 'dist');

/** `import shaders from 'handscan:shaders'` → { 'conv2d.wgsl': '…', … }, every file of shaders/ at build time. */
const shaderSources: Plugin = {
  name: 'handscan-shaders',
  setup(b) {
    b.onResolve({ filter: /^handscan:shaders$/ }, (args) => ({ path: args.path, namespace: 'handscan-shaders' }));
    b.onLoad({ filter: /.*/, namespace: 'handscan-shaders' }, () => {
      const dir = join(ROOT, 'shaders');
      const files = readdirSync(dir).filter((f) => f.endsWith('.wgsl')).sort();
      const sources = Object.fromEntries(files.map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
      return { contents: `export default ${JSON.stringify(sources)};`, loader: 'js', watchFiles: files.map((f) => join(dir, f)) };
    });
  },
};

const BUILTINS = new Set(builtinModules);

/** Fails the build on `node:*` or a bare Node built-in ('fs', 'fs/promises', …), whoever imports it. */
const noNodeBuiltins: Plugin = {
  name: 'no-node-builtins',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (!args.path.startsWith('node:') && !BUILTINS.has(args.path)) return undefined;
      const importer = args.importer ? relative(ROOT, args.importer) : '(entry)';
      return { errors: [{ text: `${importer} imports the Node built-in '${args.path}', which a browser does not have` }] };
    });
  },
};

const BROWSER: BuildOptions = {
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  plugins: [shaderSources, noNodeBuiltins],
  logLevel: 'silent',
};

/** One line per esbuild error (each of ours names its importer). */
function buildError(e: unknown): Error {
  const errors = (e as Partial<BuildResult>).errors;
  if (!errors?.length) return e as Error;
  return new Error(`browser bundle failed:\n${errors.map((m) => `  ${m.text}${m.location ? ` (line ${m.location.line})` : ''}`).join('\n')}`);
}

/** Builds web/dist/page.js (the scoring page), web/dist/scan.js (the scanning page of `handscan scan`) and web/dist/kernel-checks.js (the in-browser test's checks). */
export async function buildWeb(outdir = WEB_DIST): Promise<void> {
  try {
    await build({
      ...BROWSER,
      entryPoints: { page: join(ROOT, 'web', 'page.ts'), 'kernel-checks': join(ROOT, 'web', 'kernel-checks.ts'), scan: join(ROOT, 'web', 'scan', 'main.ts') },
      outdir,
      sourcemap: true,
      // test/support/random.ts reads HANDSCAN_TEST_SEED from the environment;
      // in the page the seed comes from the test, which passes it in.
      define: { 'process.env.HANDSCAN_TEST_SEED': 'undefined' },
    });
  } catch (e) {
    throw buildError(e);
  }
}

/** Every module of the engine core: all of src/kernels and src/nn, and the browser's platform. */
export function coreModules(): string[] {
  const dir = (d: string) =>
    readdirSync(join(ROOT, d))
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
      .map((f) => `${d}/${f}`);
  return [...dir('src/kernels'), ...dir('src/nn'), 'src/platform/browser/engine.ts'];
}

/** Bundles the engine core for the browser in memory (whitespace-minified); throws, naming the importer, when a Node built-in is reached. */
export async function bundleCore(modules = coreModules()): Promise<string> {
  try {
    const result = await build({
      ...BROWSER,
      // Namespace re-exports keep every module whole: nothing is shaken out unseen.
      stdin: { contents: modules.map((m, i) => `export * as m${i} from './${m}';`).join('\n'), resolveDir: ROOT, loader: 'ts', sourcefile: 'core.ts' },
      write: false,
      // Drops comments, so that what a test reads in the bundle is code and strings only.
      minifyWhitespace: true,
    });
    return result.outputFiles[0].text;
  } catch (e) {
    throw buildError(e);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  buildWeb().then(
    () => console.log(`built ${relative(ROOT, WEB_DIST)}/page.js, scan.js and kernel-checks.js; serve web/ with \`npm run serve:web\``),
    (e: Error) => {
      console.error(e.message);
      process.exit(1);
    },
  );
}
