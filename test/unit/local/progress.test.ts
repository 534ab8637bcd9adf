import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Progress } from '../../../lib/local/progress.ts';

const capture = () => {
  const stream = new PassThrough();
  let out = '';
  stream.on('data', (c: Buffer) => (out += c.toString()));
  return { stream: stream as unknown as NodeJS.WriteStream, output: () => out };
};

describe('Progress', () => {
  it('shows the control characters of an error name instead of sending them to the terminal', () => {
    // Prepare
    const { stream, output } = capture();
    const progress = new Progress({ stream });
    const base = { executionArn: 'arn:x', incidentId: 'inc-1', state: 'Find root cause', at: '2026-03-14T12:00:00.000Z', durationMs: 12 };
    // Act
    progress.handle({ ...base, type: 'failed', error: 'Boom\u001b[2J\u0007\u202e' });
    progress.handle({ ...base, type: 'caught', error: 'Oops\u001b]0;title\u0007\n' });
    progress.stop();
    // Assess
    expect(output()).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    expect(output()).toContain('Boom\\x1b[2J\\x07\\u202e');
    expect(output()).toContain('Oops\\x1b]0;title\\x07\\n caught');
  });
});
