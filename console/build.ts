/**
 * Builds the operator's console (a single-page app) into a directory: `index.html`, the script and the styles (ours
 * and uPlot's, bundled into one file), named by content hash so they can be cached forever while `index.html` is
 * always fetched anew.
 *
 *   node console/build.ts <outdir>
 *
 * The twin serves the result at `/` (lib/local/twin.ts builds it at start), and the stack deploys it to the console's
 * bucket (lib/, local bundling calls this script), so neither a committed build nor a separate step can go stale.
 * index.html carries no inline script or style: the page runs under a Content-Security-Policy of 'self' only.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = fileURLToPath(new URL('.', import.meta.url));

/** The files written, relative to outdir: index.html and the hashed assets it loads. */
export interface ConsoleBuild {
  readonly index: string;
  readonly assets: readonly string[];
}

const escapeAttribute = (value: string): string => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

export const buildConsole = async (outdir: string): Promise<ConsoleBuild> => {
  mkdirSync(outdir, { recursive: true });
  const assetsDir = join(outdir, 'assets');
  // Old hashed files would pile up across rebuilds of the same directory (the twin rebuilds at each start).
  rmSync(assetsDir, { recursive: true, force: true });
  const result = await build({
    entryPoints: [join(here, 'src/main.tsx')],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    minify: true,
    sourcemap: false,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: assetsDir,
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    metafile: true,
    legalComments: 'none',
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
  });
  const outputs = Object.keys(result.metafile.outputs).map((file) => relative(outdir, file).split('\\').join('/'));
  const script = outputs.find((f) => f.endsWith('.js'));
  const styles = outputs.filter((f) => f.endsWith('.css'));
  if (!script) throw new Error('console build: esbuild wrote no script');
  const html = readFileSync(join(here, 'src/index.html'), 'utf8')
    .replace('<!-- styles -->', styles.map((f) => `<link rel="stylesheet" href="./${escapeAttribute(f)}" />`).join('\n    '))
    .replace('<!-- scripts -->', `<script type="module" src="./${escapeAttribute(script)}"></script>`);
  writeFileSync(join(outdir, 'index.html'), html);
  return { index: 'index.html', assets: outputs };
};

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const outdir = process.argv[2];
  if (!outdir) {
    process.stderr.write(`usage: node console/build.ts <outdir>\n`);
    process.exit(2);
  }
  const built = await buildConsole(outdir);
  process.stdout.write(`console built in ${outdir}: ${[built.index, ...built.assets].map((f) => basename(f)).join(', ')}\n`);
}
