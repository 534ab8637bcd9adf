/**
 * Golden: the template miner's output over realistic corpora (Loghub excerpts, fixtures/app.log, and the logs every
 * scenario's logs agent read, see logs-fixtures.ts) must not change when the miner is made faster. The golden file
 * was generated from the miner as it was before its masking became a single pass; regenerate it (vitest -u) only
 * for an intended change of templates, and say so in the commit.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { maskMessage, mineTemplates, TemplateMiner } from '../../../functions/core/analysis/logs.ts';
import type { LogLine } from '../../../functions/core/tools/ports.ts';
import { appLogLines, loghubSystems, scenarioLogs } from './logs-fixtures.ts';

const sha256 = (parts: readonly string[]) => createHash('sha256').update(parts.join('\n')).digest('hex');
const byTime = (a: LogLine, b: LogLine) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0);

describe('golden: template miner over fixture corpora', () => {
  it('mines the Loghub excerpts and app.log, as raw lines and as messages, into the same templates as before', async () => {
    const corpora = [...loghubSystems().flatMap((s) => [[`${s.system} raw`, s.raw], [`${s.system} messages`, s.messages]] as const), ['app.log', appLogLines()] as const];
    const golden = Object.fromEntries(corpora.map(([name, lines]) => [name, { masked: lines.map((l) => maskMessage(l)), ...mineTemplates(lines) }]));
    await expect(`${JSON.stringify(golden, null, 1)}\n`).toMatchFileSnapshot('./fixtures/golden/miner-loghub.json');
  });

  it('mines every scenario’s captured logs, fed as the logs agent feeds them, into the same templates, counts and times as before', async () => {
    const golden: Record<string, unknown> = {};
    for (const capture of scenarioLogs()) {
      const [incident, baseline] = capture.searches;
      const lines = [...[...(baseline?.lines ?? [])].sort(byTime), ...[...(incident?.lines ?? [])].sort(byTime)];
      const miners = new Map<string, { miner: TemplateMiner; ids: string[] }>();
      for (const line of lines) {
        const key = `${line.service}|${line.level}`;
        const m = miners.get(key) ?? miners.set(key, { miner: new TemplateMiner(), ids: [] }).get(key)!;
        m.ids.push(m.miner.add(line.message, line.timestamp));
      }
      golden[capture.scenario] = {
        // every masked message, hashed (20k lines); the templates below show what differs when this does
        maskedSha256: sha256(lines.map((l) => maskMessage(l.message))),
        miners: Object.fromEntries([...miners].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, { miner, ids }]) => [key, { lineIdsSha256: sha256(ids), templates: miner.templates() }])),
      };
    }
    await expect(`${JSON.stringify(golden, null, 1)}\n`).toMatchFileSnapshot('./fixtures/golden/miner-scenarios.json');
  });
});
