/**
 * An agent's zod schema as a JSON schema that OpenAI "strict" structured outputs accept, plus the decoder that
 * turns a strict answer back into what the zod schema parses.
 *
 * Why not `zodResponseFormat` from `openai/helpers/zod`: for zod 4 it runs `z.toJSONSchema` and then refuses any
 * `.optional()` field that is not also `.nullable()`, and every agent schema in model.ts has optional fields and
 * records. So the conversion here starts from `z.toJSONSchema` (output side: a `.default()` field is required)
 * and rewrites what strict mode cannot express:
 *
 * - every object lists all its properties in `required` and has `additionalProperties: false`;
 * - an optional property becomes required and nullable (`anyOf: [S, {type: "null"}]`); the decoder drops a
 *   `null` there, so zod sees the property absent. A property that already accepted null keeps its null;
 * - a record (`z.record`, an object with only `additionalProperties`) becomes an array of `{key, value}`
 *   entries; the decoder turns it back into an object;
 * - an unconstrained value (`z.unknown()`, `z.any()`) becomes a JSON scalar (string, number, boolean or null),
 *   because strict mode needs a type everywhere;
 * - `oneOf` becomes `anyOf`, `const` becomes a one-value `enum`;
 * - keywords outside the strict subset (`default`, `minLength`, `propertyNames`, ...) are dropped.
 *
 * Dropping keywords only loosens the guide given to the model: the zod schema stays the authority, and the
 * reasoner validates every answer with it. Intersections (`allOf`) and tuples (`prefixItems`) cannot be
 * rewritten faithfully and throw `UnsupportedStrictSchema` naming the path.
 */
import * as z from 'zod';

type JsonSchema = Record<string, unknown>;
type Decode = (value: unknown) => unknown;

interface Converted {
  readonly schema: JsonSchema;
  /** The zod-side JSON schema it came from (for choosing a union branch when encoding). */
  readonly source: JsonSchema;
  readonly decode: Decode;
  readonly encode: Decode;
}

export interface StrictOutputSchema {
  /** The JSON schema to send as `response_format.json_schema.schema` with `strict: true`. */
  readonly schema: JsonSchema;
  /** Maps a parsed strict answer back to the shape the zod schema expects (nulls for absent optionals, records). */
  readonly decode: Decode;
  /** The inverse: writes a zod-shaped value (the offline analysis) in the strict shape the model answers in. */
  readonly encode: Decode;
}

export class UnsupportedStrictSchema extends Error {
  override name = 'UnsupportedStrictSchema';
  readonly path: string;
  constructor(path: string, reason: string) {
    super(`cannot express ${path || '(root)'} as a strict JSON schema: ${reason}`);
    this.path = path;
  }
}

/** Keywords of the strict subset that are copied as they are (structure keywords are rebuilt below). */
const KEPT_KEYWORDS = [
  'description',
  'title',
  'enum',
  'pattern',
  'format',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minItems',
  'maxItems',
] as const;

const NULL_SCHEMA: JsonSchema = { type: 'null' };

/** What a value of unknown shape may be in strict mode. */
const SCALAR_SCHEMA: JsonSchema = {
  anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }, { type: 'null' }],
};

const identity: Decode = (value) => value;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const jsonType = (value: unknown): string => {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
};

const typesOf = (schema: JsonSchema): string[] | undefined => {
  const { type } = schema;
  if (typeof type === 'string') return [type];
  if (Array.isArray(type)) return type.map(String);
  return undefined;
};

/** Whether a (converted) schema's declared type admits the value; schemas without `type` admit anything. */
const admits = (schema: JsonSchema, value: unknown): boolean => {
  const types = typesOf(schema);
  if (!types) return true;
  const actual = jsonType(value);
  return types.includes(actual) || (actual === 'integer' && types.includes('number'));
};

const literalFits = (schema: unknown, value: unknown): boolean => {
  if (!isPlainObject(schema)) return true;
  if (schema.const !== undefined && schema.const !== value) return false;
  return !Array.isArray(schema.enum) || schema.enum.includes(value);
};

/**
 * A shallow structural match used to pick a union branch: the type, enum/const, and for objects the property
 * names, required keys and literal-valued properties (which is how a discriminated union's branches differ).
 */
const fits = (schema: JsonSchema, value: unknown): boolean => {
  if (!admits(schema, value) || !literalFits(schema, value)) return false;
  if (!isPlainObject(value) || !isPlainObject(schema.properties)) return true;
  const properties = schema.properties;
  if (schema.additionalProperties === false && Object.keys(value).some((k) => !(k in properties))) return false;
  if (Array.isArray(schema.required) && schema.required.some((k) => value[String(k)] === undefined)) return false;
  return Object.entries(properties).every(([k, p]) => value[k] === undefined || literalFits(p, value[k]));
};

const acceptsNull = (schema: JsonSchema): boolean =>
  (typesOf(schema)?.includes('null') ?? false) ||
  (Array.isArray(schema.anyOf) && schema.anyOf.some((s) => isPlainObject(s) && acceptsNull(s))) ||
  (Array.isArray(schema.enum) && schema.enum.includes(null));

const copyKept = (from: JsonSchema): JsonSchema => {
  const out: JsonSchema = {};
  for (const key of KEPT_KEYWORDS) if (from[key] !== undefined) out[key] = from[key];
  if (from.const !== undefined) out.enum = [from.const];
  return out;
};

class Converter {
  /** Codecs of `$defs` entries, looked up lazily so recursive schemas work. */
  readonly defs = new Map<string, Converted>();
  root: Converted | undefined;

  convert(schema: unknown, path: string): Converted {
    if (schema === true || (isPlainObject(schema) && Object.keys(schema).every((k) => k === 'description' || k === 'title'))) {
      const source = isPlainObject(schema) ? schema : {};
      return { schema: { ...SCALAR_SCHEMA, ...copyKept(source) }, source, decode: identity, encode: identity };
    }
    if (!isPlainObject(schema)) throw new UnsupportedStrictSchema(path, `unexpected schema ${JSON.stringify(schema)}`);
    if (schema.allOf !== undefined) throw new UnsupportedStrictSchema(path, 'intersections (allOf) are not supported');
    if (schema.prefixItems !== undefined) throw new UnsupportedStrictSchema(path, 'tuples (prefixItems) are not supported');

    if (typeof schema.$ref === 'string') return this.#ref(schema.$ref, schema);
    const union = schema.anyOf ?? schema.oneOf;
    if (Array.isArray(union)) return this.#union(union, schema, path);

    const types = typesOf(schema);
    if (types?.includes('object')) return this.#object(schema, types, path);
    if (types?.includes('array')) return this.#array(schema, types, path);
    const out = copyKept(schema);
    if (schema.type !== undefined) out.type = schema.type;
    else if (out.enum === undefined) return { schema: { ...SCALAR_SCHEMA, ...out }, source: schema, decode: identity, encode: identity };
    return { schema: out, source: schema, decode: identity, encode: identity };
  }

  #ref(ref: string, schema: JsonSchema): Converted {
    const target = (): Converted | undefined => (ref === '#' ? this.root : this.defs.get(ref));
    const out: JsonSchema = { $ref: ref };
    if (typeof schema.description === 'string') out.description = schema.description;
    return {
      schema: out,
      source: schema,
      decode: (value) => (target()?.decode ?? identity)(value),
      encode: (value) => (target()?.encode ?? identity)(value),
    };
  }

  #union(branches: unknown[], schema: JsonSchema, path: string): Converted {
    const converted = branches.map((b, i) => this.convert(b, `${path}/anyOf/${i}`));
    const out: JsonSchema = { ...copyKept(schema), anyOf: converted.map((c) => c.schema) };
    // The first branch the value fits translates it: matched against the strict side when decoding and the zod
    // side when encoding (a record is an array on one side and an object on the other).
    return {
      schema: out,
      source: schema,
      decode: (value) => (converted.find((c) => fits(c.schema, value))?.decode ?? identity)(value),
      encode: (value) => (converted.find((c) => fits(c.source, value))?.encode ?? identity)(value),
    };
  }

  #array(schema: JsonSchema, types: string[], path: string): Converted {
    const items: Converted =
      schema.items === undefined ? { schema: SCALAR_SCHEMA, source: {}, decode: identity, encode: identity } : this.convert(schema.items, `${path}/items`);
    const out: JsonSchema = { ...copyKept(schema), type: types.length === 1 ? 'array' : types, items: items.schema };
    return {
      schema: out,
      source: schema,
      decode: (value) => (Array.isArray(value) ? value.map(items.decode) : value),
      encode: (value) => (Array.isArray(value) ? value.map(items.encode) : value),
    };
  }

  #object(schema: JsonSchema, types: string[], path: string): Converted {
    const properties = isPlainObject(schema.properties) ? schema.properties : {};
    const extra = schema.additionalProperties;
    const isRecord = Object.keys(properties).length === 0 && extra !== undefined && extra !== false;
    if (isRecord) return this.#record(schema, types, path);

    const required = new Set(Array.isArray(schema.required) ? schema.required.map(String) : []);
    const outProps: Record<string, JsonSchema> = {};
    const children = new Map<string, Converted>();
    const nullMeansAbsent = new Set<string>();
    for (const [key, child] of Object.entries(properties)) {
      const converted = this.convert(child, `${path}/${key}`);
      children.set(key, converted);
      if (required.has(key) || acceptsNull(converted.schema)) {
        outProps[key] = converted.schema;
      } else {
        // Optional and not nullable: strict mode needs it required, so null stands for "absent".
        const { description, ...rest } = converted.schema;
        const branches = Array.isArray(rest.anyOf) && Object.keys(rest).length === 1 ? (rest.anyOf as JsonSchema[]) : [rest];
        outProps[key] = { anyOf: [...branches, NULL_SCHEMA], ...(description !== undefined ? { description } : {}) };
        nullMeansAbsent.add(key);
      }
    }
    const out: JsonSchema = {
      ...copyKept(schema),
      type: types.length === 1 ? 'object' : types,
      properties: outProps,
      required: Object.keys(outProps),
      additionalProperties: false,
    };
    const decode: Decode = (value) => {
      if (!isPlainObject(value)) return value;
      const result: Record<string, unknown> = {};
      for (const [key, v] of Object.entries(value)) {
        if (v === null && nullMeansAbsent.has(key)) continue;
        const child = children.get(key);
        result[key] = child ? child.decode(v) : v;
      }
      return result;
    };
    const encode: Decode = (value) => {
      if (!isPlainObject(value)) return value;
      const result: Record<string, unknown> = {};
      for (const [key, child] of children) {
        if (value[key] !== undefined) result[key] = child.encode(value[key]);
        else if (nullMeansAbsent.has(key)) result[key] = null;
      }
      return result;
    };
    return { schema: out, source: schema, decode, encode };
  }

  /** A map becomes a list of `{key, value}` entries: strict mode forbids open-ended objects. */
  #record(schema: JsonSchema, types: string[], path: string): Converted {
    const key: Converted = isPlainObject(schema.propertyNames)
      ? this.convert(schema.propertyNames, `${path}/propertyNames`)
      : { schema: { type: 'string' }, source: { type: 'string' }, decode: identity, encode: identity };
    const value = this.convert(schema.additionalProperties, `${path}/additionalProperties`);
    const entry: JsonSchema = {
      type: 'object',
      properties: { key: key.schema, value: value.schema },
      required: ['key', 'value'],
      additionalProperties: false,
    };
    const description = [schema.description, 'A map written as a list of {key, value} entries.'].filter(Boolean).join(' ');
    const out: JsonSchema = { type: types.includes('null') ? ['array', 'null'] : 'array', description, items: entry };
    return {
      schema: out,
      source: schema,
      decode: (v) => (Array.isArray(v) ? Object.fromEntries(v.filter(isPlainObject).map((e) => [String(e.key), value.decode(e.value)])) : v),
      encode: (v) => (isPlainObject(v) ? Object.entries(v).map(([k, item]) => ({ key: k, value: value.encode(item) })) : v),
    };
  }
}

/**
 * Converts a zod object schema to a strict JSON schema and its decoder. Throws `UnsupportedStrictSchema` when
 * the schema is not an object at the root or uses a construct strict mode cannot express.
 */
export const toStrictOutputSchema = (schema: z.ZodType): StrictOutputSchema => {
  const json = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' }) as JsonSchema;
  if (json.type !== 'object') throw new UnsupportedStrictSchema('', `the root must be an object, not ${JSON.stringify(json.type ?? 'untyped')}`);
  const converter = new Converter();
  const defs = isPlainObject(json.$defs) ? json.$defs : {};
  const outDefs: Record<string, JsonSchema> = {};
  for (const [name, def] of Object.entries(defs)) {
    const converted = converter.convert(def, `$defs/${name}`);
    outDefs[name] = converted.schema;
    converter.defs.set(`#/$defs/${name}`, converted);
  }
  const { $defs: _defs, $schema: _schema, ...rootSchema } = json;
  const root = converter.convert(rootSchema, '');
  converter.root = root;
  const out = Object.keys(outDefs).length > 0 ? { ...root.schema, $defs: outDefs } : root.schema;
  return { schema: out, decode: root.decode, encode: root.encode };
};
