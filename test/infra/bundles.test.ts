/**
 * The functions bundled for real, once, as `cdk synth` bundles them (esbuild, ESM, minified, with source maps).
 * Each bundle must stay under 1 MB: cold starts grow with the code Node has to parse.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS } from '../../functions/registry.ts';
import { ESM_REQUIRE_BANNER } from '../../lib/incident-functions.ts';
import { resourceOf, SYNTH_TIMEOUT_MS, synthStack, type Synth } from './fixture.ts';

const MAX_BUNDLE_BYTES = 1_000_000;

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
