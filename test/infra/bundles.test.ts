/**
 * The functions bundled for real, once, as `cdk synth` bundles them (esbuild, ESM, minified, with source maps).
 * Each bundle must stay under 1 MB: cold starts grow with the code Node has to parse.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE_EXTERNAL_MODULES, FUNCTIONS } from '../../functions/registry.ts';
import { ESM_REQUIRE_BANNER } from '../../lib/incident-functions.ts';
import { resourceOf, SYNTH_TIMEOUT_MS, synthStack, type Synth } from './fixture.ts';

const MAX_BUNDLE_BYTES = 1_000_000;
/** A message only the simulated tools carry (functions/core/tools/simulated.ts): its presence means the simulator was bundled. */
const SIMULATOR_MARKER = 'is not a known simulated world';
/** A header only the openai SDK sends: its presence means the SDK was bundled. */
const OPENAI_MARKER = 'X-Stainless-Lang';

let synth: Synth;
let outdir: string;
beforeAll(() => {
  synth = synthStack({}, { bundle: true });
  outdir = synth.app.outdir;
}, SYNTH_TIMEOUT_MS);

/** The asset directory cdk.out holds for a function's code. */
const assetDir = (name: string): string => {
  const code = resourceOf(synth, synth.stack.functions.get(name)).Properties.Code as { S3Key: string };
  return join(outdir, `asset.${code.S3Key.replace(/\.zip$/, '')}`);
};

describe.each(FUNCTIONS.map((s) => [s.name] as const))('%s bundle', (name) => {
  it('is one ES module with its source map', () => {
    expect(existsSync(join(assetDir(name), 'index.mjs'))).toBe(true);
    expect(existsSync(join(assetDir(name), 'index.mjs.map'))).toBe(true);
  });

  it(`stays under ${MAX_BUNDLE_BYTES} bytes`, () => {
    expect(statSync(join(assetDir(name), 'index.mjs')).size).toBeLessThan(MAX_BUNDLE_BYTES);
  });

  it('recreates require for CommonJS dependencies and exports the handler', () => {
    const code = readFileSync(join(assetDir(name), 'index.mjs'), 'utf8');
    expect(code.startsWith(ESM_REQUIRE_BANNER)).toBe(true);
    expect(code).toMatch(/export\s*\{[^}]*\bas handler\b[^}]*\}|export\s*\{[^}]*\bhandler\b[^}]*\}/);
  });

  it('imports the AWS SDK from the runtime instead of bundling it', () => {
    const code = readFileSync(join(assetDir(name), 'index.mjs'), 'utf8');
    expect(code).toMatch(/from\s*"@aws-sdk\/[a-z0-9-]+"/);
  });
});

describe('the simulated world in the bundles (the default stack does not choose it)', () => {
  it.each(FUNCTIONS.map((s) => [s.name] as const))('%s carries no simulator', (name) => {
    expect(readFileSync(join(assetDir(name), 'index.mjs'), 'utf8')).not.toContain(SIMULATOR_MARKER);
  });

  it('is bundled when its switch is not defined (the marker is a real witness)', async () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'autopilot-bundle-'));
    try {
      const outfile = join(dir, 'triage.mjs');
      // Act: the same esbuild options as the stack, without the defines that leave unused adapters out
      await build({ entryPoints: [join(import.meta.dirname, '../../functions/triage/handler.ts')], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node22', minify: true, external: [...BUNDLE_EXTERNAL_MODULES], logLevel: 'silent' });
      // Assess
      expect(readFileSync(outfile, 'utf8')).toContain(SIMULATOR_MARKER);
      expect(readFileSync(outfile, 'utf8')).toContain(OPENAI_MARKER);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('the openai SDK in the bundles (the default stack has no LLM endpoint)', () => {
  it.each(FUNCTIONS.map((s) => [s.name] as const))('%s carries no openai SDK', (name) => {
    expect(readFileSync(join(assetDir(name), 'index.mjs'), 'utf8')).not.toContain(OPENAI_MARKER);
  });
});
