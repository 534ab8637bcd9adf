/**
 * The tool-use table (functions/core/agents/tool-use.ts) is what the stack grants tool IAM from, so it must say what
 * the agents really call: a call it leaves out is refused by IAM on AWS. This parses each workflow function's handler
 * and follows every declaration it names through the modules it imports (not into the tool adapters themselves; a
 * declaration at a time, since agents import helpers from each other's modules), collects the `tools.<port>.<method>(`
 * calls it reaches, and compares them with the table, both ways. It also checks the rows' method-scoped needs name methods of their own
 * ports, so a need cannot be scoped to a method no function can reach through that row.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { TOOL_USE, toolUseOf, ToolUseUndeclared } from '../../functions/core/agents/tool-use.ts';
import { ADAPTERS, PORT_METHODS, PORTS, type Port } from '../../functions/core/tools/adapters.ts';
import { FUNCTIONS } from '../../functions/registry.ts';
import { TOOL_USING_API_FUNCTIONS } from '../../lib/incident-autopilot-stack.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TOOLS_DIR = join(ROOT, 'functions/core/tools');
const WORKFLOW = FUNCTIONS.filter((f) => f.role === 'workflow');

/** A call of a port method through the tools object (`deps.tools.telemetry.getTopology(…)`), as written. */
const PORT_CALL = new RegExp(`(?:^|\\.)tools\\.(${PORTS.join('|')})\\.(\\w+)$`);

interface Module {
  readonly file: string;
  /** Top-level declarations (functions, variables, classes) by name. */
  readonly declarations: ReadonlyMap<string, ts.Node>;
  /** Names imported (or re-exported) from a relative module: local name → that module and its name there ('*': all of it). */
  readonly imports: ReadonlyMap<string, { readonly file: string; readonly name: string }>;
  readonly source: ts.SourceFile;
}

const modules = new Map<string, Module>();
const moduleAt = (file: string): Module => {
  let m = modules.get(file);
  if (m) return m;
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const declarations = new Map<string, ts.Node>();
  const imports = new Map<string, { file: string; name: string }>();
  const target = (spec: ts.Expression) => resolve(dirname(file), (spec as ts.StringLiteral).text);
  for (const st of source.statements) {
    if ((ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st)) && st.name) declarations.set(st.name.text, st);
    if (ts.isVariableStatement(st)) for (const d of st.declarationList.declarations) for (const name of bindingNames(d.name)) declarations.set(name, d);
    if (ts.isImportDeclaration(st) && (st.moduleSpecifier as ts.StringLiteral).text.startsWith('.')) {
      const bindings = st.importClause?.namedBindings;
      if (bindings && ts.isNamedImports(bindings)) for (const e of bindings.elements) imports.set(e.name.text, { file: target(st.moduleSpecifier), name: (e.propertyName ?? e.name).text });
      if (bindings && ts.isNamespaceImport(bindings)) imports.set(bindings.name.text, { file: target(st.moduleSpecifier), name: '*' });
    }
    if (ts.isExportDeclaration(st) && st.moduleSpecifier && (st.moduleSpecifier as ts.StringLiteral).text.startsWith('.') && st.exportClause && ts.isNamedExports(st.exportClause)) {
      for (const e of st.exportClause.elements) imports.set(e.name.text, { file: target(st.moduleSpecifier), name: (e.propertyName ?? e.name).text });
    }
  }
  m = { file, declarations, imports, source };
  modules.set(file, m);
  return m;
};
const bindingNames = (name: ts.BindingName): string[] =>
  ts.isIdentifier(name) ? [name.text] : name.elements.flatMap((e) => (ts.isBindingElement(e) ? bindingNames(e.name) : []));

/**
 * The port methods a handler can reach: from the handler's top-level code, every declaration it names, followed
 * through relative imports (not into functions/core/tools, which serves the ports), and the `tools.<port>.<method>(`
 * calls in them; also the modules visited.
 */
const reachedCalls = (entry: string): { calls: Record<string, string[]>; files: Set<string> } => {
  const calls: Record<string, Set<string>> = {};
  const files = new Set<string>();
  const seen = new Set<ts.Node>();
  const queue: { module: Module; node: ts.Node }[] = [];
  const reach = (file: string, name: string) => {
    if (file.startsWith(TOOLS_DIR) || !existsSync(file)) return;
    const module = moduleAt(file);
    const nodes = name === '*' ? [...module.declarations.values()] : [module.declarations.get(name)].filter((n) => n !== undefined);
    if (nodes.length === 0 && module.imports.has(name)) return reach(module.imports.get(name)!.file, module.imports.get(name)!.name);
    for (const node of nodes) queue.push({ module, node });
  };
  const handler = moduleAt(join(ROOT, entry));
  for (const st of handler.source.statements) queue.push({ module: handler, node: st });
  while (queue.length > 0) {
    const { module, node } = queue.shift()!;
    if (seen.has(node)) continue;
    seen.add(node);
    files.add(module.file);
    const visit = (n: ts.Node): void => {
      if (ts.isIdentifier(n)) {
        if (module.declarations.has(n.text) && module.declarations.get(n.text) !== node) queue.push({ module, node: module.declarations.get(n.text)! });
        const imported = module.imports.get(n.text);
        if (imported) reach(imported.file, imported.name);
      }
      if (ts.isCallExpression(n)) {
        const match = PORT_CALL.exec(n.expression.getText(module.source).replace(/\s+/g, ''));
        if (match) (calls[match[1]!] ??= new Set()).add(match[2]!);
      }
      ts.forEachChild(n, visit);
    };
    visit(node);
  }
  return { calls: Object.fromEntries(Object.entries(calls).map(([port, methods]) => [port, [...methods].sort()])), files };
};

/** `x.tools` anywhere in a module: each must be the start of a port call, else (a port kept in a variable, `tools[port]`, the object passed on) the scan cannot see what is called. */
const otherReaches = (file: string): string[] => {
  const text = readFileSync(file, 'utf8');
  const portCall = new RegExp(`^tools\\s*\\.\\s*(${PORTS.join('|')})\\s*\\.\\s*\\w+\\s*\\(`);
  return [...text.matchAll(/\.tools\b/g)].filter((m) => !portCall.test(text.slice(m.index + 1))).map((m) => `${relative(ROOT, file)}: ${text.slice(m.index, m.index + 60).split('\n')[0]}`);
};

const sortedUse = (name: string): Record<string, string[]> =>
  Object.fromEntries(Object.entries(toolUseOf(name)).flatMap(([port, methods]) => ((methods as readonly string[]).length > 0 ? [[port, [...(methods as readonly string[])].sort()]] : [])));

describe('the tool-use table says what each workflow function calls', () => {
  it('has an entry for every workflow function and no other', () => {
    expect(Object.keys(TOOL_USE).sort()).toEqual(WORKFLOW.map((f) => f.name).sort());
    expect(() => toolUseOf('ingest-alert')).toThrow(ToolUseUndeclared);
  });

  // The API functions that use the tools declare theirs beside their core (lib/incident-autopilot-stack.ts TOOL_USING_API_FUNCTIONS).
  it.each(Object.entries(TOOL_USING_API_FUNCTIONS).map(([name, use]) => [name, FUNCTIONS.find((f) => f.name === name)!.entry, use] as const))('%s (API): exactly the port methods it calls', (_name, entry, use) => {
    const { calls, files } = reachedCalls(entry);
    expect([...files].flatMap(otherReaches), 'a use of the tools object the scan cannot read').toEqual([]);
    expect(calls).toEqual(Object.fromEntries(Object.entries(use).map(([port, methods]) => [port, [...(methods as readonly string[])].sort()])));
  });

  it.each(WORKFLOW.map((f) => [f.name, f.entry]))('%s: exactly the port methods its agent calls', (name, entry) => {
    const { calls, files } = reachedCalls(entry);
    // The scan reaches the agent module: a handler that moved would otherwise read as calling nothing.
    expect([...files].some((f) => f.includes(join('functions', 'core', 'agents'))), `${entry} reaches no agent module`).toBe(true);
    expect([...files].flatMap(otherReaches), 'a use of the tools object the scan cannot read').toEqual([]);
    expect(calls).toEqual(sortedUse(name));
  });

  it('names only methods of their ports', () => {
    for (const [name, use] of Object.entries(TOOL_USE)) {
      for (const [port, methods] of Object.entries(use)) {
        expect(PORTS, name).toContain(port);
        for (const m of methods as readonly string[]) expect(PORT_METHODS[port as Port] as readonly string[], `${name} ${port}`).toContain(m);
      }
    }
  });
});

describe("the rows' method-scoped needs", () => {
  it('scope a need only to methods of the ports their row serves', () => {
    for (const row of ADAPTERS) {
      const methods = row.ports.flatMap((p) => PORT_METHODS[p] as readonly string[]);
      for (const need of row.iam) for (const m of need.methods ?? []) expect(methods, `${row.name} ${need.resource}`).toContain(m);
    }
  });

  it('leave every method of a row with at least the needs that serve all of them (a method scoped out of everything is a mistake)', () => {
    // Every aws row reads something for each of its methods; the recorded replay reads nothing IAM governs.
    for (const row of ADAPTERS.filter((r) => r.name !== 'recorded')) {
      for (const method of row.ports.flatMap((p) => PORT_METHODS[p] as readonly string[])) {
        expect(row.iam.filter((n) => !n.methods || (n.methods as readonly string[]).includes(method)).length, `${row.name} ${method}`).toBeGreaterThan(0);
      }
    }
  });
});
