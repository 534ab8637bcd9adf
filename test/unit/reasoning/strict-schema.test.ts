import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import * as model from '../../../functions/core/model.ts';
import { toStrictOutputSchema, UnsupportedStrictSchema } from '../../../functions/core/reasoning/strict-schema.ts';

type Json = Record<string, unknown>;

/** Every object node of a JSON schema, with its path. */
const objectNodes = (schema: unknown, path = '', out: { path: string; node: Json }[] = []) => {
  if (Array.isArray(schema)) schema.forEach((s, i) => objectNodes(s, `${path}/${i}`, out));
  else if (schema && typeof schema === 'object') {
    const node = schema as Json;
    if (node.type === 'object' || (Array.isArray(node.type) && node.type.includes('object'))) out.push({ path, node });
    for (const [k, v] of Object.entries(node)) if (k !== 'enum') objectNodes(v, `${path}/${k}`, out);
  }
  return out;
};

const ALLOWED = new Set(['type', 'properties', 'required', 'additionalProperties', 'items', 'anyOf', 'enum', '$ref', '$defs', 'description', 'title', 'pattern', 'format', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'minItems', 'maxItems']);
const keywords = (schema: unknown, out = new Set<string>()): Set<string> => {
  if (Array.isArray(schema)) for (const s of schema) keywords(s, out);
  else if (schema && typeof schema === 'object') {
    for (const [k, v] of Object.entries(schema)) {
      out.add(k);
      if (k === 'properties' || k === '$defs') for (const child of Object.values(v as Json)) keywords(child, out);
      else if (k !== 'enum') keywords(v, out);
    }
  }
  return out;
};

const OUTPUTS = ['ImpactOutput', 'SimilarOutput', 'LogAnalysisOutput', 'TriageOutput', 'RootCauseOutput', 'PlanOutput', 'ExecutionOutput', 'VerificationOutput', 'ReportOutput'] as const;

describe('unit: toStrictOutputSchema', () => {
  it.each(OUTPUTS)('makes %s strict: every object closed with all its properties required, only strict keywords', (name) => {
    // Act
    const { schema } = toStrictOutputSchema(model[name]);

    // Assess
    expect(schema.type).toBe('object');
    for (const { path, node } of objectNodes(schema)) {
      expect(node.additionalProperties, path).toBe(false);
      expect(node.required, path).toEqual(Object.keys(node.properties as Json));
    }
    expect([...keywords(schema)].filter((k) => !ALLOWED.has(k))).toEqual([]);
  });

  it('turns an optional field into a required nullable one and decodes null back to absent', () => {
    // Prepare
    const schema = z.object({ a: z.string().optional(), b: z.string().nullable().optional(), c: z.array(z.string()).default([]) });

    // Act
    const strict = toStrictOutputSchema(schema);
    const decoded = strict.decode({ a: null, b: null, c: [] });

    // Assess
    const props = strict.schema.properties as Json;
    expect(props.a).toEqual({ anyOf: [{ type: 'string' }, { type: 'null' }] });
    expect(props.b).toEqual({ type: ['string', 'null'] }); // already nullable: null keeps its meaning
    expect(strict.schema.required).toEqual(['a', 'b', 'c']);
    expect(decoded).toEqual({ b: null, c: [] });
    expect(schema.parse(decoded)).toEqual({ b: null, c: [] });
  });

  it('writes a record as {key, value} entries and round-trips a plan through encode and decode', () => {
    // Prepare
    const plan = model.PlanOutput.parse({
      immediate: [{ kind: 'scale-service', service: 'stock-service', params: { replicas: 6, reason: 'pool saturation' }, description: 'scale out', risk: 'low', reversible: true, evidenceIds: ['metric:a'] }],
      longTerm: ['raise maximumPoolSize'],
      risk: 'low',
      reversible: true,
      autoApprove: true,
      rationale: 'r',
    });
    const strict = toStrictOutputSchema(model.PlanOutput);

    // Act
    const encoded = strict.encode(plan) as { immediate: { params: unknown; target: unknown }[] };
    const decoded = strict.decode(JSON.parse(JSON.stringify(encoded)));

    // Assess
    expect(encoded.immediate[0].params).toEqual([
      { key: 'replicas', value: 6 },
      { key: 'reason', value: 'pool saturation' },
    ]);
    expect(encoded.immediate[0].target).toBeNull();
    expect(model.PlanOutput.parse(decoded)).toEqual(plan);
  });

  it('picks the right branch of a discriminated union and follows recursive references', () => {
    // Prepare
    const Node: z.ZodType<{ name: string; note?: string; children: unknown[] }> = z.object({
      name: z.string(),
      note: z.string().optional(),
      get children() {
        return z.array(Node);
      },
    });
    const Root = z.object({
      tree: Node,
      step: z.discriminatedUnion('k', [z.object({ k: z.literal('wait'), seconds: z.number().optional() }), z.object({ k: z.literal('call'), args: z.record(z.string(), z.number()) })]),
    });
    const strict = toStrictOutputSchema(Root);

    // Act
    const decoded = strict.decode({
      tree: { name: 'root', note: null, children: [{ name: 'leaf', note: 'x', children: [] }] },
      step: { k: 'call', args: [{ key: 'n', value: 2 }] },
    });

    // Assess
    expect(JSON.stringify(strict.schema)).not.toContain('oneOf');
    expect(Root.parse(decoded)).toEqual({ tree: { name: 'root', children: [{ name: 'leaf', note: 'x', children: [] }] }, step: { k: 'call', args: { n: 2 } } });
  });

  it('rejects what strict mode cannot express with UnsupportedStrictSchema naming the path', () => {
    // zod merges intersections of plain objects itself; a record with fixed keys stays an allOf
    expect(() => toStrictOutputSchema(z.object({ both: z.intersection(z.record(z.string(), z.number()), z.object({ c: z.number() })) }))).toThrow(UnsupportedStrictSchema);
    expect(() => toStrictOutputSchema(z.object({ both: z.intersection(z.record(z.string(), z.number()), z.object({ c: z.number() })) }))).toThrow(/cannot express \/both .*intersections/);
    expect(() => toStrictOutputSchema(z.object({ pair: z.tuple([z.string(), z.number()]) }))).toThrow(/cannot express \/pair .*tuples/);
    expect(() => toStrictOutputSchema(z.array(z.string()))).toThrow(/root must be an object/);
  });
});
