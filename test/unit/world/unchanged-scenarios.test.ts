/**
 * The world's additions (queues, jobs, p50/p95, disks, …) are optional: every scenario written before them must
 * produce exactly the same series, traces and logs. The hashes below were computed at the base commit fba0c8d,
 * before any of those additions, for each of the shipped scenarios over a fixed window of a fixed world.
 * A change here means a hand-written scenario no longer means what it meant: find out why, never re-pin blindly.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { logs, traces } from '../../../functions/core/world/signals.ts';
import { createWorld, metricSeries } from '../../../functions/core/world/world.ts';
import { allScenarios, MINUTE, NOW } from './helpers.ts';

const digest = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);

/** sha256 (first 16 hex) of each scenario's series, traces and logs, at fba0c8d. */
const PINNED: Record<string, { series: string; traces: string; logs: string }> = {
  'bad-deploy-api-contract': { series: '02492c4a9334beb0', traces: '53584465b99d032e', logs: '3dec018935c11b5c' },
  'bad-deploy-cpu-regression': { series: '64121c68cdefb337', traces: '699d47d0e9be6702', logs: '35dc72b996a425ff' },
  'bad-deploy-latency': { series: '311fb5d3351b136c', traces: 'f0dcd62c9b7a0ed0', logs: 'fb98ece85d937ff6' },
  'cache-invalidation-storm': { series: 'a5522004dc85e4bc', traces: '11419c9cb97a4f18', logs: '5947caac6a5cc250' },
  'certificate-expiry': { series: 'd8a65cf1587894b7', traces: 'e97600a74a676be7', logs: '2419aa3d8d3b0b05' },
  'change-after-onset': { series: '0f347e9d94039dce', traces: '1a4f5141950d54df', logs: 'c45eff5a0e41923a' },
  'config-client-timeout': { series: 'dcc1de7e61b04703', traces: '35450a166c60d96b', logs: '6bc76a590c8941d2' },
  'config-pool-too-many-clients': { series: '308cac23e8b6f2af', traces: 'd24b863c865fc103', logs: 'c1208ba83de8d628' },
  'db-audit-logging': { series: '47839a320d813779', traces: '05fad509a99d2532', logs: 'c805f0df89094daa' },
  'db-pool-exhaustion': { series: 'c18bef42b171b847', traces: '970e27fab1b40da1', logs: '94a0c76bba38e59d' },
  'db-slow': { series: '5a656b01fa64b825', traces: '5d2afac6a3240686', logs: '859a5c918936e969' },
  'dependency-down': { series: 'c1af7ceca17d5533', traces: '5c453240b96b7601', logs: 'c0ec5dbcd120025f' },
  'dns-record-change': { series: 'ff705df9066ef4bd', traces: 'd007ae0745a6b20e', logs: 'fd828acef89d325f' },
  'downstream-symptom-n-plus-one': { series: 'd5597adf5a3ecfb0', traces: '04984358bcb110e8', logs: 'f79b172053d9055d' },
  'error-rate': { series: 'c8e19f1c1f6d4b02', traces: '048276fb11d32d00', logs: 'c57408a36272f61f' },
  'false-alarm-noise': { series: '3f951704bf3b8503', traces: '172fa1d06b9e6691', logs: 'fba8b597181817e3' },
  'feature-flag-errors': { series: '827d1a01c9b48dda', traces: 'a9a03ced72857040', logs: '41e70a6136367c50' },
  'latency-spike': { series: '32936e7b1767d97d', traces: '076ad9e671a82665', logs: 'c25171f445c3fe4c' },
  'memory-leak-slow-burn': { series: 'a56b2676e8e2d88e', traces: 'cfb322cfb4b0a068', logs: '1769f37965c5347f' },
  'memory-leak': { series: '14cb93bc20519182', traces: '5b358533ac61755b', logs: 'd301c92fb63e578a' },
  'misleading-past-incident': { series: '3da7d24dfc2691e5', traces: 'b9c75d8243488a25', logs: '74712fba5622be99' },
  'pool-connection-leak': { series: '50ba83eab2c5590a', traces: 'c451eedb1603a9c2', logs: '5c6c39335ff25ef0' },
  'red-herring-simultaneous-deploy': { series: 'de19203b7b00de9a', traces: 'cee587fbf7045946', logs: '712927e3782fb7a1' },
  'sms-provider-outage': { series: '283c1ea8dac1db8e', traces: '441d2dbddde75dd4', logs: '9da22ed8e31981bb' },
  'traffic-surge-capacity': { series: 'd374872f30092ff2', traces: 'a1f4b2aaeb617de5', logs: 'aa8f23953a0cf436' },
  'two-changes-same-service': { series: '15e4a0a549f0b25b', traces: 'd7cfeb7619880aad', logs: '93acf3c84ead287a' },
};

describe('scenarios written before the new world features', () => {
  const scenarios = allScenarios();
  const computed = Object.fromEntries(
    scenarios.map((s) => {
      const w = createWorld(s, { id: 'golden', now: NOW });
      const at = Date.parse(w.createdAt);
      const services = s.services.map((x) => x.name);
      return [
        s.name,
        {
          series: digest(metricSeries(w, { services, from: at - 90 * MINUTE, to: at + 20 * MINUTE + 17_000 })),
          traces: digest(traces(w, { services, from: at - 30 * MINUTE, to: at + 5 * MINUTE, limit: 40 })),
          logs: digest(logs(w, { services, from: at - 15 * MINUTE, to: at + 3 * MINUTE, limit: 3000 })),
        },
      ];
    }),
  );

  it('covers the 26 scenarios shipped at fba0c8d (scenarios added later are not pinned)', () => {
    expect(Object.keys(PINNED)).toHaveLength(26);
    for (const name of Object.keys(PINNED)) expect(Object.keys(computed), name).toContain(name);
    if (process.env.PRINT_GOLDEN) writeFileSync(process.env.PRINT_GOLDEN, JSON.stringify(computed, null, 2));
  });

  it('produce the same series, traces and logs as before (hashes pinned at fba0c8d)', () => {
    expect(Object.fromEntries(Object.keys(PINNED).map((name) => [name, computed[name]]))).toEqual(PINNED);
  });
});
