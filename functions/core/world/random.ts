/**
 * Deterministic randomness: every random draw in the world is a hash of (world id, what is drawn, time
 * bucket), so the same world answers the same question the same way on every Lambda, and a different world id
 * gives different noise.
 *
 * The simulated world draws hundreds of thousands of values per incident (every metric of every service, every
 * minute), so the key is hashed part by part instead of as one joined string: a string part is hashed once
 * and remembered (world ids, service and metric names repeat endlessly), an integer part (a minute bucket, an
 * index) is mixed in as two 32-bit words, and the lanes are finished with MurmurHash3's avalanche. Nothing is
 * allocated per draw. Draws that share the leading parts of their keys can hash them once (KeyPrefix).
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

export type KeyPart = string | number;

/** String part → 32-bit hash. Bounded: cleared when full (it only saves time, never changes a value). */
const STRING_CACHE_MAX = 50_000;
const stringHashes = new Map<string, number>();
const stringHash = (s: string): number => {
  let h = stringHashes.get(s);
  if (h === undefined) {
    h = hash53(s) | 0;
    if (stringHashes.size >= STRING_CACHE_MAX) stringHashes.clear();
    stringHashes.set(s, h);
  }
  return h;
};

const TWO_32 = 4294967296;
const TWO_53 = 2 ** 53;
/** Tags that keep parts of different kinds apart ("7" and 7, 1.5 and "1.5" hash differently). */
const TAG_STRING = 0x5bd1e995;
const TAG_INT = 0x27d4eb2f;
const TAG_FLOAT = 0x165667b1;

// The two 32-bit lanes of the hash being built. Module state is safe: every draw runs to completion synchronously.
let lane1 = 0;
let lane2 = 0;

const reset = (): void => {
  lane1 = 0x9e3779b9;
  lane2 = 0x85ebca77;
};

/** MurmurHash3's block step on both lanes (different rotations and constants per lane). */
const absorbWord = (word: number): void => {
  let k = Math.imul(word, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  lane1 ^= k;
  lane1 = (lane1 << 13) | (lane1 >>> 19);
  lane1 = (Math.imul(lane1, 5) + 0xe6546b64) | 0;
  lane2 ^= Math.imul(k, 0x85ebca6b);
  lane2 = (lane2 << 17) | (lane2 >>> 15);
  lane2 = (Math.imul(lane2, 5) + 0x52dce729) | 0;
};

const absorbPart = (part: KeyPart): void => {
  if (typeof part === 'string') {
    absorbWord(TAG_STRING);
    absorbWord(stringHash(part));
  } else if (Number.isSafeInteger(part)) {
    absorbWord(TAG_INT);
    absorbWord(part % TWO_32 | 0);
    absorbWord(Math.floor(part / TWO_32) | 0);
  } else {
    absorbWord(TAG_FLOAT);
    absorbWord(stringHash(String(part)));
  }
};

const absorb = (parts: readonly KeyPart[]): void => {
  reset();
  for (let i = 0; i < parts.length; i++) absorbPart(parts[i] as KeyPart);
};

/** MurmurHash3's finaliser. */
const fmix32 = (h: number): number => {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
};

// The finished hash of the current lanes, as its high 21 and low 32 bits (set by `finish`).
let high21 = 0;
let low32 = 0;

/** Finishes the current lanes into `high21`/`low32`, leaving the lanes as they are. */
const finish = (): void => {
  const h1 = fmix32(lane1 ^ Math.imul(lane2, 0x9e3779b1));
  const h2 = fmix32(lane2 ^ h1);
  high21 = h2 & 0x1fffff;
  low32 = h1 >>> 0;
};

/** The current lanes as an integer in [0, 2^53), leaving them as they are. */
const finish53 = (): number => {
  finish();
  return TWO_32 * high21 + low32;
};

/** Two lower-case hex digits per byte value. */
const HEX_BYTE = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/**
 * The finished lanes as 14 hex digits: exactly `finish53().toString(16).padStart(14, '0')` (21 high bits are 6
 * digits, 32 low bits 8), without a double-to-radix conversion, the slowest step of an id by far.
 */
const finishHex14 = (): string => {
  finish();
  const hi = high21;
  const lo = low32;
  return HEX_BYTE[hi >>> 16] + HEX_BYTE[(hi >>> 8) & 0xff] + HEX_BYTE[hi & 0xff] + HEX_BYTE[lo >>> 24] + HEX_BYTE[(lo >>> 16) & 0xff] + HEX_BYTE[(lo >>> 8) & 0xff] + HEX_BYTE[lo & 0xff];
};

// Draws from the lanes as they stand after absorbing a key. Each sub-draw (the two uniforms of a normal, the
// chunks of an id, the factors of a Poisson count) restarts from that state with its own index word.

const drawUniform = (): number => finish53() / TWO_53;

const drawGaussian = (): number => {
  const l1 = lane1;
  const l2 = lane2;
  absorbWord(1);
  const u1 = Math.max(finish53() / TWO_53, 1e-12);
  lane1 = l1;
  lane2 = l2;
  absorbWord(2);
  const u2 = finish53() / TWO_53;
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
};

const drawHex = (length: number): string => {
  const l1 = lane1;
  const l2 = lane2;
  let out = '';
  for (let i = 0; out.length < length; i++) {
    lane1 = l1;
    lane2 = l2;
    absorbWord(i);
    out += finishHex14();
  }
  return out.length === length ? out : out.slice(0, length);
};

const drawPoisson = (rate: number): number => {
  if (rate > 30) return Math.max(0, Math.round(rate + Math.sqrt(rate) * drawGaussian()));
  const l1 = lane1;
  const l2 = lane2;
  const limit = Math.exp(-rate);
  let p = 1;
  for (let k = 0; k < 200; k++) {
    lane1 = l1;
    lane2 = l2;
    absorbWord(k);
    p *= Math.max(finish53() / TWO_53, 1e-12);
    if (p <= limit) return k;
  }
  return Math.round(rate);
};

/** The key parts hashed to an integer in [0, 2^53). */
export const hashKey = (...parts: KeyPart[]): number => {
  absorb(parts);
  return finish53();
};

/** Uniform in [0, 1) from the key parts. */
export const uniform = (...parts: KeyPart[]): number => {
  absorb(parts);
  return drawUniform();
};

/** Standard normal (Box–Muller) from the key parts. */
export const gaussian = (...parts: KeyPart[]): number => {
  absorb(parts);
  return drawGaussian();
};

/** Lower-case hex string of `length` characters from the key parts. */
export const hex = (length: number, ...parts: KeyPart[]): string => {
  absorb(parts);
  return drawHex(length);
};

/** Integer in [min, max] from the key parts. */
export const intBetween = (min: number, max: number, ...parts: KeyPart[]): number => min + Math.floor(uniform(...parts) * (max - min + 1));

/** Draws a count with mean `rate` (Poisson for small rates, normal approximation above 30). */
export const poisson = (rate: number, ...parts: KeyPart[]): number => {
  if (rate <= 0) return 0;
  absorb(parts);
  return drawPoisson(rate);
};

/**
 * The leading parts of many keys, hashed once. The hash takes a key part by part, so a draw from a prefix
 * continues from the saved lanes and gives exactly the value of the same draw with the whole key:
 * `keyPrefix(a, b).uniform(c)` is `uniform(a, b, c)`. A log line or a span draws a dozen values under one key
 * (its time, host, ids, each placeholder), and a metric's noise shares (world, service, metric) every minute.
 */
export class KeyPrefix {
  readonly lane1: number;
  readonly lane2: number;

  constructor(l1: number, l2: number) {
    this.lane1 = l1;
    this.lane2 = l2;
  }

  /** Loads this prefix into the lanes and absorbs the rest of the key. */
  #resume(parts: readonly KeyPart[]): void {
    lane1 = this.lane1;
    lane2 = this.lane2;
    for (let i = 0; i < parts.length; i++) absorbPart(parts[i] as KeyPart);
  }

  /** The prefix followed by more parts. */
  extend(...parts: KeyPart[]): KeyPrefix {
    this.#resume(parts);
    return new KeyPrefix(lane1, lane2);
  }

  uniform(...parts: KeyPart[]): number {
    this.#resume(parts);
    return drawUniform();
  }

  gaussian(...parts: KeyPart[]): number {
    this.#resume(parts);
    return drawGaussian();
  }

  hex(length: number, ...parts: KeyPart[]): string {
    this.#resume(parts);
    return drawHex(length);
  }

  intBetween(min: number, max: number, ...parts: KeyPart[]): number {
    this.#resume(parts);
    return min + Math.floor(drawUniform() * (max - min + 1));
  }

  poisson(rate: number, ...parts: KeyPart[]): number {
    if (rate <= 0) return 0;
    this.#resume(parts);
    return drawPoisson(rate);
  }
}

/** Hashes the leading parts of keys once (see KeyPrefix). */
export const keyPrefix = (...parts: KeyPart[]): KeyPrefix => {
  absorb(parts);
  return new KeyPrefix(lane1, lane2);
};
