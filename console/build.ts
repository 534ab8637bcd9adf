/**
 * Builds the operator's console (a single-page app) into a directory: `index.html` and its hashed assets.
 *
 *   node console/build.ts <outdir>
 *
 * The twin serves the result at `/` (lib/local/twin.ts builds it at start), and the stack deploys it to the console's
 * bucket (lib/, local bundling calls this script), so neither a committed build nor a separate step can go stale.
 * (Skeleton: the console's helper fills in the pages.)
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = fileURLToPath(new URL('.', import.meta.url));

export const buildConsole = async (outdir: string): Promise<void> => {
  mkdirSync(outdir, { recursive: true });
  await build({ entryPoints: [join(here, 'src/main.ts')], bundle: true, format: 'esm', target: 'es2022', minify: true, outfile: join(outdir, 'app.js'), logLevel: 'silent' });
  copyFileSync(join(here, 'src/index.html'), join(outdir, 'index.html'));
};

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const outdir = process.argv[2];
  if (!outdir) {
    process.stderr.write('usage: node console/build.ts <outdir>\n');
    process.exit(2);
  }
  await buildConsole(outdir);
}
