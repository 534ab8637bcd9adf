/**
 * Deterministic randomness: every random draw in the world is a hash of (world id, what is drawn, time
 * bucket), so the same world answers the same question the same way on every Lambda, and a different world id
 * gives different noise.
 */

/** cyrb53: a fast 53-bit string hash with good avalanche. Returns an integer in [0, 2^53). */
export const hash53 = (text: string, seed = 0): number => {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
};

/** Uniform in [0, 1) from the key parts. */
export const uniform = (...parts: (string | number)[]): number => hash53(parts.join('|')) / 2 ** 53;

/** Standard normal (Box–Muller) from the key parts. */
export const gaussian = (...parts: (string | number)[]): number => {
  const u1 = Math.max(uniform(...parts, 'g1'), 1e-12);
  const u2 = uniform(...parts, 'g2');
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
};

/** Lower-case hex string of `length` characters from the key parts. */
export const hex = (length: number, ...parts: (string | number)[]): string => {
  let out = '';
  for (let i = 0; out.length < length; i++) out += hash53(parts.join('|'), i).toString(16).padStart(14, '0');
  return out.slice(0, length);
};

/** Integer in [min, max] from the key parts. */
export const intBetween = (min: number, max: number, ...parts: (string | number)[]): number => min + Math.floor(uniform(...parts) * (max - min + 1));

/** Draws a count with mean `rate` (Poisson for small rates, normal approximation above 30). */
export const poisson = (rate: number, ...parts: (string | number)[]): number => {
  if (rate <= 0) return 0;
  if (rate > 30) return Math.max(0, Math.round(rate + Math.sqrt(rate) * gaussian(...parts)));
  const limit = Math.exp(-rate);
  let p = 1;
  for (let k = 0; k < 200; k++) {
    p *= Math.max(uniform(...parts, k), 1e-12);
    if (p <= limit) return k;
  }
  return Math.round(rate);
};
