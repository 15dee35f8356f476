import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The dependency picture (DESIGN.md §2), derived from the import statements of every
 * TypeScript file: bin/scripts/bench → local → handlers → runtime → app → adapters → core →
 * contracts, no arrow upward and no cycle; `lib/` takes only `#contracts` from `lambdas/`;
 * nothing outside `bin/`, the CLI's own tests and the end-to-end tests imports `bin/`.
 */
const ROOT = path.resolve(import.meta.dirname, '../../..');

/** The layers, top first; a file may import its own layer or any layer below it. */
const LAYERS: ReadonlyArray<readonly [name: string, prefixes: readonly string[]]> = [
  ['entry points', ['bin/', 'scripts/', 'bench/']],
  ['local twin', ['local/']],
  // The console and its build: the twin builds and serves it; its pages reach only the edge entry of core.
  ['console', ['web/']],
  ['handlers', ['lambdas/handlers/']],
  ['runtime', ['lambdas/runtime/']],
  ['app', ['lambdas/app/']],
  ['adapters', ['lambdas/adapters/']],
  ['core', ['lambdas/core/']],
  ['contracts', ['lambdas/contracts.ts']],
];

const ALIASES: Record<string, string> = {
  '#contracts': 'lambdas/contracts.ts',
  '#core/': 'lambdas/core/',
  '#adapters/': 'lambdas/adapters/',
  '#app/': 'lambdas/app/',
  '#runtime/': 'lambdas/runtime/',
  '#handlers/': 'lambdas/handlers/',
};

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) {
      if (e.name !== 'node_modules' && !e.name.startsWith('.')) out.push(...walk(rel));
    } else if (/\.(ts|mts)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

/** Module specifiers of static imports/re-exports and dynamic `import('…')` (comments stripped first). */
function specifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out: string[] = [];
  for (const m of code.matchAll(/(?:^|[\s;])(?:import|export)\s[^'"`;]*?\sfrom\s*['"]([^'"]+)['"]/g))
    out.push(m[1]);
  for (const m of code.matchAll(/(?:^|[\s;])import\s*['"]([^'"]+)['"]/g)) out.push(m[1]);
  for (const m of code.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1]);
  return out;
}

/** Repo-relative target of a specifier, or undefined for a package. */
function resolve(from: string, spec: string): string | undefined {
  for (const [alias, target] of Object.entries(ALIASES)) {
    if (spec === alias || (alias.endsWith('/') && spec.startsWith(alias)))
      return target + spec.slice(alias.length);
  }
  if (spec.startsWith('#')) throw new Error(`${from}: unknown import alias ${spec}`);
  if (!spec.startsWith('.')) return undefined;
  return path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
}

const layerOf = (file: string): number =>
  LAYERS.findIndex(([, prefixes]) => prefixes.some((p) => file === p || file.startsWith(p)));

const SELF = 'test/unit/architecture/layers.test.ts';
// This file is left out: its parser examples are strings, not imports.
const FILES = ['bin', 'scripts', 'bench', 'local', 'web', 'lambdas', 'lib', 'test', 'models']
  .flatMap(walk)
  .filter((f) => f !== SELF);
const EDGES: ReadonlyArray<readonly [from: string, to: string]> = FILES.flatMap((from) =>
  specifiers(readFileSync(path.join(ROOT, from), 'utf8'))
    .map((s) => resolve(from, s))
    .filter((to): to is string => to !== undefined)
    .map((to) => [from, to] as const),
);

describe('dependency picture', () => {
  it('reads the imports it judges (the parser sees static, type, re-export and dynamic imports)', () => {
    expect(
      specifiers(
        `import a from 'x';\nimport type { B } from "#core/y.ts";\nexport { c } from './z.ts';\n` +
          `import 'side';\nconst d = await import('#app/w.ts');\n// import e from 'commented';\n`,
      ),
    ).toEqual(['x', '#core/y.ts', './z.ts', 'side', '#app/w.ts']);
    expect(EDGES.some(([f, t]) => f === 'lambdas/handlers/score.ts' && t === 'lambdas/app/score.ts')).toBe(
      true,
    );
    expect(EDGES.length).toBeGreaterThan(200);
    expect(LAYERS[layerOf('lambdas/runtime/root.ts')][0]).toBe('runtime');
    expect(LAYERS[layerOf('lambdas/contracts.ts')][0]).toBe('contracts');
    expect(layerOf('lib/config.ts')).toBe(-1);
  });

  it('every import resolves to a file that exists', () => {
    const known = new Set(FILES);
    const missing = EDGES.filter(([, to]) => /\.(ts|mts)$/.test(to) && !known.has(to));
    expect(missing).toEqual([]);
  });

  it('has no arrow upward: each file imports its own layer or a lower one', () => {
    const upward = EDGES.filter(([from, to]) => {
      const f = layerOf(from);
      const t = layerOf(to);
      return f >= 0 && t >= 0 && t < f;
    }).map(([from, to]) => `${from} (${LAYERS[layerOf(from)][0]}) → ${to} (${LAYERS[layerOf(to)][0]})`);
    expect(upward).toEqual([]);
  });

  it('has no import cycle among the runtime modules', () => {
    const graph = new Map<string, string[]>();
    for (const [from, to] of EDGES) {
      if (layerOf(from) > 0 && layerOf(to) >= 0) graph.set(from, [...(graph.get(from) ?? []), to]);
    }
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (n: string, trail: string[]) => {
      if (state.get(n) === 'done') return;
      if (state.get(n) === 'open') {
        cycles.push([...trail.slice(trail.indexOf(n)), n].join(' → '));
        return;
      }
      state.set(n, 'open');
      for (const m of graph.get(n) ?? []) visit(m, [...trail, n]);
      state.set(n, 'done');
    };
    for (const n of graph.keys()) visit(n, []);
    expect(cycles).toEqual([]);
  });

  it('lib/ takes only the contracts from lambdas/, and no runtime code imports lib/', () => {
    const fromLib = EDGES.filter(
      ([f, t]) => f.startsWith('lib/') && t.startsWith('lambdas/') && t !== 'lambdas/contracts.ts',
    );
    expect(fromLib).toEqual([]);
    // The one exception: the twin's runner synthesizes the CDK app to run the very ASL it deploys
    // (DESIGN.md §10), from a file loaded on demand only (local/retraining-twin.ts).
    const intoLib = EDGES.filter(
      ([f, t]) =>
        t.startsWith('lib/') &&
        (f.startsWith('lambdas/') || f.startsWith('local/')) &&
        f !== 'local/synthesize-app.ts',
    );
    expect(intoLib).toEqual([]);
  });

  it('nothing outside bin/ imports bin/ except the CLI tests (*cli.test.ts, and the end-to-end tests that drive the CLI)', () => {
    const intoBin = EDGES.filter(
      ([f, t]) =>
        t.startsWith('bin/') &&
        !f.startsWith('bin/') &&
        !/^test\/.*cli\.test\.ts$/.test(f) &&
        !f.startsWith('test/e2e/'),
    );
    expect(intoBin).toEqual([]);
  });

  it('the core imports no AWS SDK, middy or Powertools', () => {
    const bad = FILES.filter((f) => f.startsWith('lambdas/core/')).flatMap((f) =>
      specifiers(readFileSync(path.join(ROOT, f), 'utf8'))
        .filter((s) => /^(@aws-sdk\/|@middy\/|@aws-lambda-powertools\/)/.test(s))
        .map((s) => `${f}: ${s}`),
    );
    expect(bad).toEqual([]);
  });

  it('the app layer reaches observability and HTTP only through ports', () => {
    const bad = FILES.filter((f) => f.startsWith('lambdas/app/')).flatMap((f) =>
      specifiers(readFileSync(path.join(ROOT, f), 'utf8'))
        .filter((s) =>
          /^(@middy\/|@aws-lambda-powertools\/|aws-lambda$|#runtime\/|#adapters\/observability)/.test(s),
        )
        .map((s) => `${f}: ${s}`),
    );
    expect(bad).toEqual([]);
  });
});
