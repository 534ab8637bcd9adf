/**
 * The keepable-JSON check (functions/core/keepable-json.ts) on its own: what it refuses, how it names the field, and
 * that it is itself safe on hostile input (no recursion, linear time).
 */
import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, MAX_PROBLEMS, parseKeepableJson, unkeepableProblems } from '../../../functions/core/keepable-json.ts';
import { BadRequest, UnkeepableJson, parseJson } from '../../../functions/core/http.ts';

/** `[[[…0…]]]` with `depth` arrays around 0, as text. */
const nestedText = (depth: number): string => `${'['.repeat(depth)}0${']'.repeat(depth)}`;

describe('unit: keepable JSON, numbers', () => {
  it.each([
    ['{"id": 9007199254740993}', 'id: 9007199254740993 is not an integer this system can keep exactly (beyond 2^53)'],
    ['{"id": -9007199254740993}', 'id: -9007199254740993 is not an integer this system can keep exactly (beyond 2^53)'],
    ['{"PID": 1e308}', 'PID: 1e308 is not an integer this system can keep exactly (beyond 2^53)'],
    ['{"ProblemDetailsJSONv2": {"startTime": 1e20}}', 'ProblemDetailsJSONv2.startTime: 1e20 is not an integer this system can keep exactly (beyond 2^53)'],
    ['{"org_id": 12345678901234567890}', 'org_id: 12345678901234567890 is not an integer this system can keep exactly (beyond 2^53)'],
    ['{"v": 1e400}', 'v: 1e400 is not a finite number this system can keep (beyond ±1.8e308)'],
    ['{"v": [1, -1e400]}', 'v.1: -1e400 is not a finite number this system can keep (beyond ±1.8e308)'],
    ['{"v": 1e-200}', 'v: 1e-200 is too close to zero to be stored (DynamoDB keeps magnitudes from 1e-130)'],
  ])('refuses %s, naming the field and quoting the number as sent', (text, problem) => {
    // Act
    const { problems } = parseKeepableJson(text);
    // Assess
    expect(problems).toEqual([problem]);
  });

  it('keeps safe integers, ordinary fractions and the smallest stored magnitude, and reads a sub-double fraction as 0', () => {
    const text = '{"a": 9007199254740991, "b": -9007199254740991, "c": 0.1, "d": 42.1, "e": 1e-130, "f": 12345.678901234567, "g": 1e-400, "h": -0}';
    const { value, problems } = parseKeepableJson(text);
    expect(problems).toEqual([]);
    expect(value).toEqual(JSON.parse(text));
  });

  it('checks values built in process as well (no text): the parsed number is quoted', () => {
    expect(unkeepableProblems({ a: { b: 2 ** 60 } })).toEqual([`a.b: ${2 ** 60} is not an integer this system can keep exactly (beyond 2^53)`]);
    expect(unkeepableProblems({ a: 10n, f: () => 1, u: undefined })).toEqual(['a: is a bigint, which JSON has no form for', 'f: is a function, which JSON has no form for']);
  });
});

describe('unit: keepable JSON, nesting and text', () => {
  it(`keeps ${MAX_JSON_DEPTH} levels of nesting and refuses ${MAX_JSON_DEPTH + 1}, naming the too-deep container`, () => {
    expect(parseKeepableJson(nestedText(MAX_JSON_DEPTH)).problems).toEqual([]);
    const { problems } = parseKeepableJson(`{"deep": ${nestedText(MAX_JSON_DEPTH)}}`);
    expect(problems).toEqual([`deep${'.0'.repeat(MAX_JSON_DEPTH - 1)}: nests deeper than ${MAX_JSON_DEPTH} levels of objects and arrays`]);
  });

  it('refuses 10,000 and 200,000 levels without overflowing the stack', () => {
    for (const depth of [10_000, 200_000]) {
      const { problems } = parseKeepableJson(`{"x": ${nestedText(depth)}}`);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^x(\.0)+: nests deeper than/);
    }
  });

  it('does not meet a hostile depth while quoting numbers: unsafe numbers first, a 10,000-deep array after them', () => {
    const numbers = Array.from({ length: MAX_PROBLEMS + 5 }, () => '1e20').join(',');
    const { problems } = parseKeepableJson(`{"n": [${numbers}], "z": ${nestedText(10_000)}}`);
    expect(problems).toHaveLength(MAX_PROBLEMS + 1);
    expect(problems.at(-1)).toBe('(payload): 6 more problems not listed');
  });

  it('refuses a lone surrogate in a string or a key, and keeps a whole pair', () => {
    const { problems } = parseKeepableJson('{"detail": {"alarmName": "x\\ud800", "ok": "\\ud83d\\ude00", "\\udc00k": 1}}');
    expect(problems).toEqual([
      'detail.alarmName: holds a lone UTF-16 surrogate: not well-formed Unicode, it has no UTF-8 form to store',
      'detail.\ufffdk: this key holds a lone UTF-16 surrogate: not well-formed Unicode, it has no UTF-8 form to store',
    ]);
  });

  it('walks a wide body in linear time (a million values well under a second)', () => {
    const text = JSON.stringify({ values: Array.from({ length: 1_000_000 }, (_, i) => (i % 2 ? i : `s${i}`)) });
    const started = performance.now();
    expect(parseKeepableJson(text).problems).toEqual([]);
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});

describe('unit: parseJson, the API routes’ body parser', () => {
  it('answers an unkeepable body with UnkeepableJson (a 400 BadRequest) listing each field', () => {
    // Act
    let error: unknown;
    try {
      parseJson('{"id": 9007199254740993, "name": "\\ud800"}');
    } catch (e) {
      error = e;
    }
    // Assess
    expect(error).toBeInstanceOf(UnkeepableJson);
    expect(error).toBeInstanceOf(BadRequest);
    expect((error as UnkeepableJson).status).toBe(400);
    expect((error as UnkeepableJson).details).toEqual({ problems: [expect.stringMatching(/^id: 9007199254740993 /), expect.stringMatching(/^name: holds a lone/)] });
  });

  it('names the body itself when the whole body is the problem, and still reports malformed JSON as before', () => {
    expect(() => parseJson('1e400')).toThrow(/\(body\): Infinity is not a finite number/);
    expect(() => parseJson('{"a":')).toThrow(/^request body is not valid JSON: /);
  });
});
