import { describe, expect, it } from 'vitest';
import { gaussian, hashKey, hex, intBetween, keyPrefix, poisson, uniform, type KeyPart } from '../../../functions/core/world/random.ts';

describe('deterministic randomness', () => {
  it('keeps its values: every metric, log line and trace of every world is drawn from them', () => {
    // Pinned from the implementation before the id and prefix optimisations; a change here changes every world.
    expect(uniform('w-1', 'checkout-service', 'latency-spike', 29_361_600)).toBe(0.991050916825827);
    expect(gaussian('w-1', 'checkout-service', 'latency', 'fast', 29_361_600)).toBe(0.44036649182827176);
    expect(hex(32, 'w-1', 'trace', 'checkout-service', 1_795_694_400_000)).toBe('1578b9f34954a81535030cea29171935');
    expect(hex(9, 'w-1', 'inventory-service', 'rs')).toBe('054cf6b3e');
    expect(poisson(3, 'w-1', 'inventory-service', 'bg', 0, 1_795_694_400_000)).toBe(1);
    expect(intBetween(1, 254, 'w-1', 1.5, 'p', 0, 'c')).toBe(135);
  });

  it('hex ids are lower-case hex of the asked length, and differ by key', () => {
    const ids = Array.from({ length: 200 }, (_, i) => hex(32, 'w', 'trace', i));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(ids).size).toBe(ids.length);
    for (const length of [0, 1, 13, 14, 15, 28, 40]) expect(hex(length, 'w', length)).toHaveLength(length);
    // Longer ids extend shorter ones (each 14-digit chunk is drawn on its own).
    expect(hex(40, 'w', 'x').startsWith(hex(16, 'w', 'x'))).toBe(true);
  });

  it('a key prefix draws exactly what the whole key draws', () => {
    const keys: [KeyPart[], KeyPart[]][] = [
      [['w-1', 'checkout-service'], ['latency', 'fast', 29_361_600]],
      [['w-1'], ['trace', 'inventory-service', 1_795_694_400_000]],
      [['w-2', 'inventory-service', 'f0.1', 1_795_694_400_000], [17, 'p', 3, 'a']],
      [['w', -5, 2.5], ['x', 2 ** 40 + 3]],
      [[], ['only', 'suffix']],
      [['only', 'prefix'], []],
    ];
    for (const [head, tail] of keys) {
      const prefix = keyPrefix(...head);
      const whole = [...head, ...tail];
      expect(prefix.uniform(...tail)).toBe(uniform(...whole));
      expect(prefix.gaussian(...tail)).toBe(gaussian(...whole));
      expect(prefix.intBetween(3, 97, ...tail)).toBe(intBetween(3, 97, ...whole));
      for (const length of [5, 16, 32]) expect(prefix.hex(length, ...tail)).toBe(hex(length, ...whole));
      for (const rate of [0, 0.3, 4, 29, 31, 250]) expect(prefix.poisson(rate, ...tail)).toBe(poisson(rate, ...whole));
      // Extending a prefix is the same as hashing the longer prefix.
      expect(prefix.extend(...tail).uniform('z')).toBe(uniform(...whole, 'z'));
      expect(keyPrefix(...whole).uniform()).toBe(hashKey(...whole) / 2 ** 53);
    }
  });
});
