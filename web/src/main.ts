import { type EdgeModel, loadPackage } from '../../lambdas/core/edge.ts';
import {
  ApiError,
  api,
  type CapturedRow,
  type Describe,
  type DriftReport,
  type FeatureReport,
  getKey,
  type HistoryEvent,
  keyScope,
  type ModelSummary,
  type PackageDocument,
  type Release,
  type RetrainingRun,
  type RetrainingRunDetail,
  setKey,
} from './api.ts';
import { ecdf, lineChart } from './charts.ts';
import { empty, fmt, h, table } from './dom.ts';
import './styles.css';

/**
 * The Vigil console: hash-routed pages over the v1 API of the origin that served it.
 * Every number comes from the API (or, in the playground, from `vigil/edge` scoring the
 * package the API returned); nothing is fetched from anywhere else.
 */

const main = document.getElementById('main') as HTMLElement;
const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** How a feature's verdict was reached: KS alone can decide; otherwise the consensus at its own level. */
function ruleText(f: FeatureReport): string {
  const r = f.rule;
  if (!r) return `votes ${f.votes}/${f.voters.length} (needs ${f.minVotes})`;
  const consensus = `consensus ${r.consensusVotes} at α ${fmt(r.consensusAlpha, 4)} (needs ${f.minVotes})`;
  return r.kind === 'ks-or-consensus'
    ? `KS at α ${fmt(r.alpha, 3)} decides alone, else ${consensus}; votes at α ${f.votes}/${f.voters.length}`
    : consensus;
}

function showError(where: HTMLElement, e: unknown): void {
  const err =
    e instanceof ApiError
      ? h(
          'p',
          { class: 'error', role: 'alert' },
          h('strong', {}, `${e.code}`),
          ` (${e.status || 'network'}): ${e.message}`,
        )
      : h('p', { class: 'error', role: 'alert' }, (e as Error).message ?? String(e));
  if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
    err.append(' ', h('button', { type: 'button', onclick: () => askKey() }, 'Enter an API key'));
  }
  where.replaceChildren(err);
}

/* ---------- API key and confirmation dialogs ---------- */

function askKey(): void {
  const d = byId<HTMLDialogElement>('key-dialog');
  byId<HTMLInputElement>('key-input').value = getKey();
  d.showModal();
}
byId('key-button').addEventListener('click', askKey);
byId('key-form').addEventListener('submit', () => {
  setKey(byId<HTMLInputElement>('key-input').value.trim());
  route();
});
byId('key-clear').addEventListener('click', () => {
  setKey('');
  byId<HTMLDialogElement>('key-dialog').close();
  route();
});

/** Resolves with the reason typed, or undefined when cancelled. */
function confirmAction(text: string): Promise<string | undefined> {
  const d = byId<HTMLDialogElement>('confirm-dialog');
  byId('confirm-text').textContent = text;
  const reason = byId<HTMLInputElement>('confirm-reason');
  reason.value = '';
  d.returnValue = '';
  d.showModal();
  return new Promise((resolve) => {
    d.addEventListener('close', () => resolve(d.returnValue === 'ok' ? reason.value.trim() : undefined), {
      once: true,
    });
  });
}

/* ---------- shared: model picker ---------- */

let modelsCache: ModelSummary[] | undefined;
async function models(): Promise<ModelSummary[]> {
  modelsCache ??= (await api<{ models: ModelSummary[] }>('/v1/models')).models;
  return modelsCache;
}
const selected = (): string => sessionStorage.getItem('vigil.model') ?? '';

async function modelPicker(onChange: (m: string) => void): Promise<HTMLElement> {
  const list = await models();
  const current = list.some((m) => m.name === selected()) ? selected() : (list[0]?.name ?? '');
  const select = h(
    'select',
    {
      id: 'model-select',
      onchange: (e: Event) => {
        sessionStorage.setItem('vigil.model', (e.target as HTMLSelectElement).value);
        onChange((e.target as HTMLSelectElement).value);
      },
    },
    ...list.map((m) => h('option', { value: m.name, selected: m.name === current }, m.name)),
  );
  queueMicrotask(() => current && onChange(current));
  return h('div', { class: 'row' }, h('div', {}, h('label', { for: 'model-select' }, 'Model'), select));
}

/* ---------- Models ---------- */

async function modelsPage(): Promise<void> {
  const list = await models();
  const body = h('div', { id: 'model-detail' });
  main.replaceChildren(
    h('h2', {}, 'Models'),
    list.length === 0
      ? empty('No models are registered yet.')
      : table(
          ['model', 'latest version', 'aliases', 'created'],
          list.map((m) => [
            m.name,
            m.latestVersion,
            Object.entries(m.aliases)
              .map(([a, v]) => `${a} → v${v}`)
              .join(', ') || '—',
            m.createdAt,
          ]),
          'Registered models',
        ),
    await modelPicker((m) => void modelDetail(body, m).catch((e) => showError(body, e))),
    body,
  );
}

async function modelDetail(el: HTMLElement, model: string): Promise<void> {
  el.replaceChildren(h('p', {}, 'Loading…'));
  const [d, hist, scope] = await Promise.all([
    api<Describe>(`/v1/models/${model}/versions`),
    api<{ events: HistoryEvent[] }>(`/v1/models/${model}/history`),
    keyScope(model),
  ]);
  // A score key is not offered what the API would refuse it (403); an unknown scope is.
  const admin = scope !== 'score';
  const aliasOf = (v: number) =>
    Object.entries(d.aliases)
      .filter(([, x]) => x === v)
      .map(([a]) => a)
      .join(', ');
  const status = h('div', { 'aria-live': 'polite' });
  const act = async (label: string, path: string, body: (reason: string) => unknown, method = 'POST') => {
    const reason = await confirmAction(`${label}? This is an admin action; it needs an admin-scoped key.`);
    if (reason === undefined) return;
    try {
      await api(path, { method, body: body(reason) });
      modelsCache = undefined;
      await modelDetail(el, model);
    } catch (e) {
      showError(status, e);
    }
  };
  const rows = d.versions
    .slice()
    .reverse()
    .map((v) => [
      `v${v.version}`,
      v.approval,
      aliasOf(v.version) || '—',
      Object.entries(v.metrics ?? {})
        .map(([k, x]) => `${k}=${fmt(x, 3)}`)
        .join(', ') || '—',
      [
        v.lineage?.parentVersion ? `parent v${v.lineage.parentVersion}` : 'no parent',
        v.lineage?.dataWindow ? `data ${v.lineage.dataWindow.from} … ${v.lineage.dataWindow.to}` : '',
        v.lineage?.driftReportId ? `drift report ${v.lineage.driftReportId}` : '',
      ]
        .filter(Boolean)
        .join('; '),
      v.registeredAt,
      h(
        'div',
        { class: 'row' },
        admin && v.approval === 'PendingManualApproval'
          ? h(
              'button',
              {
                type: 'button',
                onclick: () =>
                  act(
                    `Approve ${model} v${v.version}`,
                    `/v1/models/${model}/versions/${v.version}/approve`,
                    (reason) => ({
                      reason,
                    }),
                  ),
              },
              'Approve',
            )
          : null,
        admin && v.approval === 'Approved' && d.aliases.production !== v.version
          ? h(
              'button',
              {
                type: 'button',
                onclick: () =>
                  act(
                    `Promote ${model} v${v.version} to production`,
                    `/v1/models/${model}/aliases/production`,
                    (reason) => ({
                      version: v.version,
                      expectedRevision: d.revisions.production ?? 0,
                      reason,
                    }),
                    'PUT',
                  ),
              },
              'Promote',
            )
          : null,
      ),
    ]);
  const timeline = h('div', { class: 'panel', id: 'timeline' });
  const at = h('input', { id: 'at-input', type: 'datetime-local', step: 1 });
  const answer = h('p', { 'aria-live': 'polite', id: 'at-answer' });
  el.replaceChildren(
    h('h3', {}, `${model}: versions`),
    table(['version', 'approval', 'aliases', 'metrics', 'lineage', 'registered', 'actions'], rows),
    admin
      ? ''
      : h(
          'p',
          { class: 'empty', id: 'admin-note' },
          'Approve, promote and roll back need an admin-scoped key. This key is score-scoped, so they are not offered here (the API refuses them with 403 Forbidden).',
        ),
    admin && d.aliases.production
      ? h(
          'div',
          { class: 'row' },
          h(
            'button',
            {
              type: 'button',
              onclick: () =>
                act(
                  `Roll production of ${model} back to its previous version`,
                  `/v1/models/${model}/aliases/production/rollback`,
                  (reason) => ({
                    reason,
                    expectedRevision: d.revisions.production,
                  }),
                ),
            },
            'Roll back production',
          ),
        )
      : '',
    status,
    h('h3', {}, 'Promotion timeline'),
    timeline,
    h(
      'form',
      {
        class: 'row',
        onsubmit: async (e: Event) => {
          e.preventDefault();
          try {
            const when = new Date(at.value).toISOString();
            const r = await api<{ version: number | null }>(
              `/v1/models/${model}/history?alias=production&at=${encodeURIComponent(when)}`,
            );
            answer.textContent =
              r.version == null
                ? `Nothing served production at ${when}.`
                : `At ${when} production served v${r.version}.`;
          } catch (err) {
            showError(answer, err);
          }
        },
      },
      h('div', {}, h('label', { for: 'at-input' }, 'What served production at'), at),
      h('button', { type: 'submit' }, 'Ask'),
    ),
    answer,
    h('h3', {}, 'History'),
    table(
      ['at', 'event', 'version / alias', 'actor', 'reason'],
      hist.events
        .slice()
        .reverse()
        .map((e) => [
          e.at,
          e.type,
          e.alias ? `${e.alias}: ${e.from ?? '∅'} → ${e.to ?? '∅'}` : `v${e.version ?? '?'}`,
          e.actor,
          e.reason ?? '',
        ]),
    ),
  );
  // Production's version over time as a step line; hovering reads "what served at T" off the legend.
  const moves = hist.events.filter((e) => e.alias === 'production');
  if (moves.length === 0) timeline.append(empty('production has never been set.'));
  else {
    const x = moves.map((e) => Date.parse(e.at) / 1000);
    const y: Array<number | null> = moves.map((e) => e.to ?? null);
    x.push(Date.now() / 1000);
    y.push(y[y.length - 1]);
    lineChart(timeline, {
      title: 'production version over time',
      x,
      time: true,
      yLabel: 'version',
      series: [{ label: 'production', y, stroke: '#0b5cad', stepped: true }],
    });
  }
}

/* ---------- Drift ---------- */

const TESTS = ['ks', 'wasserstein', 'anderson', 'cvm', 'jensenShannon', 'psi', 'meanShift'];

async function driftPage(): Promise<void> {
  const body = h('div', { id: 'drift-detail' });
  main.replaceChildren(
    h('h2', {}, 'Drift'),
    await modelPicker((m) => void driftDetail(body, m).catch((e) => showError(body, e))),
    body,
  );
}

async function driftDetail(el: HTMLElement, model: string): Promise<void> {
  el.replaceChildren(h('p', {}, 'Loading…'));
  const { reports } = await api<{ reports: DriftReport[] }>(`/v1/models/${model}/drift?limit=50`);
  if (reports.length === 0) {
    el.replaceChildren(
      empty('No drift report yet: reports appear after the evaluator has run over captured traffic.'),
    );
    return;
  }
  const latest = reports[0];
  const pkg = await packageOf(model, latest.version).catch(() => undefined);
  const trend = h('div', { class: 'panel' });
  const features = h('div', { class: 'grid' });
  el.replaceChildren(
    h(
      'p',
      { id: 'drift-verdict' },
      'Latest report: window ',
      `${latest.window.from} … ${latest.window.to}`,
      `, ${latest.n} rows, version v${latest.version}: `,
      latest.drift === null
        ? h('span', {}, 'not enough data')
        : latest.drift
          ? h('span', { class: 'drift' }, `drift (${fmt(latest.driftedShare * 100, 3)}% of features)`)
          : h('span', { class: 'ok' }, `no drift (${fmt(latest.driftedShare * 100, 3)}% of features)`),
    ),
    h('h3', {}, 'Drifted-feature share over time'),
    trend,
    h('h3', {}, 'Per feature'),
    features,
  );
  const ordered = reports.slice().reverse();
  lineChart(trend, {
    title: 'share of drifted features per report',
    x: ordered.map((r) => Date.parse(r.window.to) / 1000),
    time: true,
    yLabel: 'share',
    series: [{ label: 'drifted share', y: ordered.map((r) => r.driftedShare), stroke: '#a4161a' }],
  });
  for (const [name, f] of Object.entries(latest.features)) {
    const chart = h('div', {});
    const tests = TESTS.filter((t) => f.tests[t]).map((t) => {
      const o = f.tests[t];
      // Wasserstein is judged normalised by the reference σ; the distances by their value.
      const stat = o.normalized ?? o.statistic ?? o.value;
      const p = o.pvalueAdjusted ?? o.pvalue;
      return [
        t,
        o.skipped ? `skipped: ${o.skipped}` : fmt(stat as number),
        p === undefined
          ? o.threshold === undefined
            ? '—'
            : `threshold ${fmt(o.threshold as number, 3)}`
          : fmt(p as number, 3),
        o.skipped ? '—' : o.voting ? (o.drift ? 'drift' : 'no') : o.drift ? '(drift)' : '(no)',
      ];
    });
    features.append(
      h(
        'section',
        { class: 'panel', 'aria-label': `feature ${name}` },
        h(
          'h4',
          {},
          name,
          ': ',
          f.drifted ? h('span', { class: 'drift' }, 'drifted') : h('span', { class: 'ok' }, 'stable'),
        ),
        h(
          'p',
          {},
          `${ruleText(f)}; effect: Wasserstein/σ ${fmt(f.effect.wassersteinNormalized, 3)}, KS D ${fmt(f.effect.ksStatistic, 3)}, floor ${f.effect.floorMet ? 'met' : 'not met'}; n=${f.n}, reference n=${f.nReference}`,
        ),
        table(['test', 'statistic', 'p-value', 'vote'], tests),
        chart,
      ),
    );
    const sample = pkg?.manifest.reference.features[name]?.sample;
    if (f.distribution) distributionChart(chart, name, f, sample);
    else if (sample) ksGapChart(chart, name, f, sample);
    else chart.append(empty('The reference sample of this version could not be read.'));
  }
}

/**
 * Reference and current ECDFs overlaid (what KS measures): the reference from the package's
 * whole sample when it could be read, else from the report's quantiles; the current window from
 * the report's 21 quantiles (each a point (x_p, p) of its ECDF). Below it, the share of each side
 * in the reference-decile bins the JS and PSI tests count.
 */
function distributionChart(
  el: HTMLElement,
  name: string,
  f: DriftReport['features'][string],
  sample: number[] | undefined,
): void {
  const d = f.distribution as NonNullable<DriftReport['features'][string]['distribution']>;
  const ref = sample ? ecdf(sample) : { x: d.reference, y: d.probabilities };
  // One x axis for both: the union of the points, each series null where it has no point.
  const points = [
    ...ref.x.map((x, i) => ({ x, ref: ref.y[i] as number | null, cur: null as number | null })),
    ...d.current.map((x, i) => ({ x, ref: null as number | null, cur: d.probabilities[i] as number | null })),
  ].sort((a, b) => a.x - b.x);
  lineChart(el, {
    title: `${name}: reference and current ECDF (KS D = ${fmt(f.effect.ksStatistic, 3)})`,
    x: points.map((p) => p.x),
    xLabel: name,
    yLabel: 'F(x)',
    height: 180,
    series: [
      { label: 'reference', y: points.map((p) => p.ref), stroke: '#0b5cad', spanGaps: true },
      {
        label: 'current window',
        y: points.map((p) => p.cur),
        stroke: '#a4161a',
        spanGaps: true,
      },
    ],
  });
  const share = (counts: number[]) => {
    const n = counts.reduce((a, b) => a + b, 0) || 1;
    return counts.map((c) => `${((100 * c) / n).toFixed(1)}%`);
  };
  const refShare = share(d.countsReference);
  const curShare = share(d.countsCurrent);
  const bounds = (i: number) =>
    i === 0
      ? `< ${fmt(d.edges[0], 4)}`
      : i === d.edges.length
        ? `≥ ${fmt(d.edges[i - 1], 4)}`
        : `${fmt(d.edges[i - 1], 4)} – ${fmt(d.edges[i], 4)}`;
  el.append(
    table(
      ['reference decile bin', 'reference', 'current'],
      d.countsCurrent.map((_, i) => [bounds(i), refShare[i], curShare[i]]),
      `${name}: share of rows per reference-decile bin`,
    ),
  );
}

/** Reports stored before they kept the window's distribution: the current ECDF at the KS gap only. */
function ksGapChart(
  el: HTMLElement,
  name: string,
  f: DriftReport['features'][string],
  sample: number[],
): void {
  const ref = ecdf(sample);
  // F_cur = F_ref − sign·D at the location of the largest gap; nothing else of the window is known.
  const ks = f.tests.ks as { location?: number; sign?: number; statistic?: number } | undefined;
  const x = ref.x.slice();
  const yRef: Array<number | null> = ref.y.slice();
  const yCur: Array<number | null> = ref.y.map(() => null);
  if (ks?.location !== undefined && ks.statistic !== undefined) {
    let i = x.findIndex((v) => v > (ks.location as number));
    if (i < 0) i = x.length;
    const fRef = i === 0 ? 0 : (ref.y[i - 1] ?? 0);
    x.splice(i, 0, ks.location);
    yRef.splice(i, 0, fRef);
    yCur.splice(i, 0, fRef - (ks.sign ?? 1) * ks.statistic);
  }
  lineChart(el, {
    title: `${name}: reference ECDF and the current ECDF at the KS gap (D = ${fmt(f.effect.ksStatistic, 3)})`,
    x,
    xLabel: name,
    yLabel: 'F(x)',
    height: 180,
    series: [
      { label: 'reference', y: yRef, stroke: '#0b5cad' },
      { label: 'current (at the KS gap)', y: yCur, stroke: '#a4161a', points: true },
    ],
  });
  el.append(
    empty(
      'This report predates stored window distributions: only the KS gap of the current window is known.',
    ),
  );
}

/* ---------- packages (for the playground and the drift reference) ---------- */

const packages = new Map<string, Promise<PackageDocument>>();
function packageOf(model: string, version: number): Promise<PackageDocument> {
  const k = `${model}@${version}`;
  let p = packages.get(k);
  if (!p) {
    p = api<PackageDocument>(`/v1/models/${model}/versions/${version}/package`);
    packages.set(k, p);
    p.catch(() => packages.delete(k));
  }
  return p;
}
const edgeModels = new Map<string, Promise<EdgeModel>>();
function edgeModel(model: string, version: number): Promise<EdgeModel> {
  const k = `${model}@${version}`;
  let p = edgeModels.get(k);
  if (!p) {
    p = packageOf(model, version).then((doc) => loadPackage(doc));
    edgeModels.set(k, p);
  }
  return p;
}

async function servedVersion(model: string): Promise<{ versions: number[]; production?: number }> {
  const d = await api<Describe>(`/v1/models/${model}/versions`);
  return { versions: d.versions.map((v) => v.version), production: d.aliases.production };
}

/* ---------- Explain ---------- */

async function explainPage(): Promise<void> {
  const body = h('div', { id: 'explain-detail' });
  main.replaceChildren(
    h('h2', {}, 'Explain'),
    await modelPicker((m) => void explainForm(body, m).catch((e) => showError(body, e))),
    body,
  );
}

async function explainForm(el: HTMLElement, model: string): Promise<void> {
  const { production, versions } = await servedVersion(model);
  const version = production ?? versions[versions.length - 1];
  const pkg = await packageOf(model, version);
  const features = pkg.manifest.features;
  const sample = (i: number) =>
    Object.fromEntries(features.map((f) => [f, pkg.manifest.reference.features[f].sample[i]]));
  const inputs = features.map((f) =>
    h('input', { id: `x-${f}`, type: 'number', step: 'any', required: true }),
  );
  const fill = (row: Record<string, number>) =>
    features.forEach((f, i) => {
      inputs[i].value = String(row[f]);
    });
  fill(sample(0));
  const out = h('div', { id: 'waterfall', 'aria-live': 'polite' });
  const picked = h('div', { id: 'captured-rows' });
  const scope = await keyScope(model);
  el.replaceChildren(
    h(
      'p',
      {},
      `Explaining v${version}${production === version ? ' (production)' : ''}. Positive contributions push a row towards anomaly.`,
    ),
    h(
      'form',
      {
        onsubmit: async (e: Event) => {
          e.preventDefault();
          const row = Object.fromEntries(features.map((f, i) => [f, Number(inputs[i].value)]));
          try {
            const r = await api<ExplainBody>(`/v1/models/${model}/explain?version=${version}`, {
              method: 'POST',
              body: { rows: [row] },
            });
            renderWaterfall(out, r);
          } catch (err) {
            showError(out, err);
          }
        },
      },
      h(
        'div',
        { class: 'row' },
        ...features.map((f, i) => h('div', {}, h('label', { for: `x-${f}` }, f), inputs[i])),
      ),
      h(
        'div',
        { class: 'row' },
        h('button', { type: 'submit' }, 'Explain'),
        h(
          'button',
          {
            type: 'button',
            onclick: () =>
              fill(
                sample(
                  Math.floor(Math.random() * pkg.manifest.reference.features[features[0]].sample.length),
                ),
              ),
          },
          'A reference row',
        ),
        h(
          'button',
          {
            type: 'button',
            onclick: () =>
              fill(
                Object.fromEntries(
                  features.map((f) => [f, Math.max(...pkg.manifest.reference.features[f].sample) * 1.5]),
                ),
              ),
          },
          'An outlying row',
        ),
        h(
          'button',
          {
            type: 'button',
            id: 'captured-button',
            disabled: scope === 'score',
            onclick: () =>
              void capturedRows(picked, model, features, fill).catch((e) => showError(picked, e)),
          },
          'Recent captured rows',
        ),
      ),
    ),
    scope === 'score'
      ? h(
          'p',
          { class: 'empty' },
          'Captured rows are what clients sent: reading them needs an admin-scoped key. Type values, or take a reference row.',
        )
      : picked,
    out,
  );
}

/** The newest captured rows (`GET …/captures`, admin) as a list to pick one from; picking fills the form. */
async function capturedRows(
  el: HTMLElement,
  model: string,
  features: string[],
  fill: (row: Record<string, number>) => void,
): Promise<void> {
  el.replaceChildren(h('p', {}, 'Reading captures…'));
  const { captures } = await api<{ captures: CapturedRow[] }>(`/v1/models/${model}/captures?limit=20`);
  if (captures.length === 0) {
    el.replaceChildren(empty('No row was captured in the last hour.'));
    return;
  }
  const select = h(
    'select',
    {
      id: 'captured-select',
      onchange: () => {
        const row = captures[Number(select.value)];
        if (row) fill(Object.fromEntries(features.map((f) => [f, row.features[f] ?? Number.NaN])));
      },
    },
    ...captures.map((c, i) =>
      h(
        'option',
        { value: i },
        `${c.at} · v${c.version} · score ${fmt(c.score, 4)}${c.anomaly ? ' · anomaly' : ''}`,
      ),
    ),
  );
  el.replaceChildren(
    h(
      'div',
      { class: 'row' },
      h('div', {}, h('label', { for: 'captured-select' }, 'Captured row (newest first)'), select),
    ),
  );
  select.dispatchEvent(new Event('change'));
}

interface ExplainBody {
  threshold: number;
  version: number;
  results: Array<{
    score: number;
    anomaly: boolean;
    raw: number;
    baseValue: number;
    rawContributions: Record<string, number>;
    contributions: Record<string, number>;
    ranked: Array<{ feature: string; value: number; contribution: number; rawContribution: number }>;
    summary: string;
  }>;
}

/**
 * The waterfall in the space TreeSHAP is additive in (the raw output): base value, one
 * bar per feature (ranked), ending at the raw output; the score the raw output maps to and
 * the threshold are stated beside it. Each bar is a focusable button announcing its value.
 */
function renderWaterfall(el: HTMLElement, body: ExplainBody): void {
  const r = body.results[0];
  const steps: Array<{ label: string; from: number; to: number; v: number }> = [];
  let at = r.baseValue;
  for (const c of r.ranked) {
    steps.push({
      label: `${c.feature} = ${fmt(c.value)}`,
      from: at,
      to: at + c.rawContribution,
      v: c.rawContribution,
    });
    at += c.rawContribution;
  }
  const lo = Math.min(r.baseValue, r.raw, ...steps.map((s) => Math.min(s.from, s.to)));
  const hi = Math.max(r.baseValue, r.raw, ...steps.map((s) => Math.max(s.from, s.to)));
  const span = hi - lo || 1;
  const pct = (v: number) => `${(((v - lo) / span) * 100).toFixed(3)}%`;
  const detail = h('p', { 'aria-live': 'polite', id: 'bar-detail' }, 'Hover or focus a bar for its value.');
  const bar = (cls: string, from: number, to: number, text: string, value: number) => {
    const b = h('button', {
      type: 'button',
      class: `bar ${cls}`,
      'aria-label': text,
      'data-value': String(value),
      onmouseenter: () => (detail.textContent = text),
      onfocus: () => (detail.textContent = text),
    });
    b.style.left = pct(Math.min(from, to));
    b.style.width = `max(2px, ${((Math.abs(to - from) / span) * 100).toFixed(3)}%)`;
    return b;
  };
  const li = (label: string, b: HTMLElement, value: string) =>
    h('li', {}, h('span', {}, label), h('div', { class: 'track' }, b), h('span', { class: 'num' }, value));
  el.replaceChildren(
    h(
      'p',
      { id: 'explain-summary' },
      h('strong', {}, `score ${fmt(r.score, 6)}`),
      ` (threshold ${fmt(body.threshold, 6)}): `,
      r.anomaly ? h('span', { class: 'drift' }, 'anomaly') : h('span', { class: 'ok' }, 'normal'),
      `. ${r.summary}.`,
    ),
    h(
      'ol',
      {
        class: 'bars',
        'aria-label': 'waterfall of contributions to the raw output',
        id: 'bars',
        'data-raw': String(r.raw),
        'data-base': String(r.baseValue),
        'data-score': String(r.score),
      },
      li(
        'base value E[f]',
        bar('base', lo, r.baseValue, `base value ${fmt(r.baseValue, 6)}`, r.baseValue),
        fmt(r.baseValue, 4),
      ),
      ...steps.map((s) =>
        li(
          s.label,
          bar(
            // Colour by the user-facing direction: red pushes towards anomaly.
            (r.contributions[s.label.split(' = ')[0]] ?? 0) > 0 ? 'up' : 'down',
            s.from,
            s.to,
            `${s.label}: ${s.v >= 0 ? '+' : ''}${fmt(s.v, 6)} to the raw output`,
            s.v,
          ),
          `${s.v >= 0 ? '+' : ''}${fmt(s.v, 3)}`,
        ),
      ),
      li(
        'raw output f(x)',
        bar('base', lo, r.raw, `raw output ${fmt(r.raw, 6)} → score ${fmt(r.score, 6)}`, r.raw),
        fmt(r.raw, 4),
      ),
    ),
    detail,
    h(
      'p',
      {},
      `The threshold (${fmt(body.threshold, 6)}) applies to the score, the raw output's monotone transform; `,
      thresholdNote(r, body.threshold),
    ),
  );
}

function thresholdNote(r: ExplainBody['results'][0], threshold: number): string {
  const gap = r.score - threshold;
  return `this row is ${fmt(Math.abs(gap), 4)} ${gap >= 0 ? 'above' : 'below'} it.`;
}

/* ---------- Playground ---------- */

async function playgroundPage(): Promise<void> {
  const body = h('div', { id: 'playground-detail' });
  main.replaceChildren(
    h('h2', {}, 'Playground'),
    h('p', {}, 'Scores rows on the server and, from the same package, in this browser with vigil/edge.'),
    await modelPicker((m) => void playground(body, m).catch((e) => showError(body, e))),
    body,
  );
}

async function playground(el: HTMLElement, model: string): Promise<void> {
  const { versions, production } = await servedVersion(model);
  const select = h(
    'select',
    { id: 'version-select' },
    ...versions
      .slice()
      .reverse()
      .map((v) =>
        h(
          'option',
          { value: v, selected: v === production },
          `v${v}${v === production ? ' (production)' : ''}`,
        ),
      ),
  );
  const count = h('input', { id: 'rows-count', type: 'number', min: 1, max: 5000, value: 5 });
  const text = h('textarea', { id: 'rows-json', rows: 6, 'aria-label': 'rows as JSON' });
  const out = h('div', { id: 'playground-out', 'aria-live': 'polite' });
  const version = () => Number(select.value);
  const generate = async () => {
    const pkg = await packageOf(model, version());
    const n = Math.max(1, Math.min(5000, Number(count.value) || 1));
    const fs = pkg.manifest.features;
    const col = (f: string) => pkg.manifest.reference.features[f].sample;
    // Reference values, each feature drawn independently and stretched a little, so some rows are anomalous.
    const rows = Array.from({ length: n }, () =>
      Object.fromEntries(
        fs.map((f) => [f, col(f)[Math.floor(Math.random() * col(f).length)] * (0.5 + Math.random())]),
      ),
    );
    text.value = JSON.stringify(rows);
  };
  el.replaceChildren(
    h(
      'div',
      { class: 'row' },
      h('div', {}, h('label', { for: 'version-select' }, 'Version'), select),
      h('div', {}, h('label', { for: 'rows-count' }, 'Rows'), count),
      h(
        'button',
        { type: 'button', id: 'generate', onclick: () => void generate().catch((e) => showError(out, e)) },
        'Generate rows',
      ),
    ),
    text,
    h(
      'div',
      { class: 'row' },
      h(
        'button',
        {
          type: 'button',
          id: 'score-both',
          onclick: () => void scoreBoth(out, model, version(), text.value).catch((e) => showError(out, e)),
        },
        'Score on server and in browser',
      ),
    ),
    out,
  );
  await generate();
}

async function scoreBoth(el: HTMLElement, model: string, version: number, json: string): Promise<void> {
  let rows: unknown[];
  try {
    rows = JSON.parse(json);
    if (!Array.isArray(rows)) throw new Error('rows must be a JSON array of objects');
  } catch (e) {
    el.replaceChildren(
      h('p', { class: 'error', role: 'alert' }, `Rows are not valid: ${(e as Error).message}`),
    );
    return;
  }
  el.replaceChildren(h('p', {}, 'Scoring…'));
  const server: Array<{ score: number; anomaly: boolean }> = [];
  for (let i = 0; i < rows.length; i += 1000) {
    const r = await api<{ results: Array<{ score: number; anomaly: boolean }> }>(
      `/v1/models/${model}/score?version=${version}`,
      { method: 'POST', body: { rows: rows.slice(i, i + 1000) } },
    );
    server.push(...r.results);
  }
  const edge = await edgeModel(model, version);
  const t0 = performance.now();
  const local = await edge.score(rows);
  const ms = performance.now() - t0;
  const diffs = local.map((l, i) => Math.abs(l.score - server[i].score));
  const maxDiff = Math.max(...diffs);
  const agree = local.every((l, i) => l.anomaly === server[i].anomaly);
  el.replaceChildren(
    h(
      'p',
      { id: 'playground-summary', 'data-max-diff': String(maxDiff), 'data-rows': String(rows.length) },
      `${rows.length} rows; largest |server − browser| = ${maxDiff.toExponential(2)}; verdicts ${agree ? 'all agree' : 'DIFFER'}; browser scored them in ${ms.toFixed(1)} ms (${edge.engine} engine).`,
    ),
    table(
      ['row', 'server score', 'browser score', '|difference|', 'server verdict', 'browser verdict'],
      local
        .slice(0, 50)
        .map((l, i) => [
          i,
          fmt(server[i].score, 8),
          fmt(l.score, 8),
          diffs[i].toExponential(1),
          server[i].anomaly ? 'anomaly' : 'normal',
          l.anomaly ? 'anomaly' : 'normal',
        ]),
      rows.length > 50 ? `first 50 of ${rows.length} rows` : undefined,
    ),
  );
  // Expose the full comparison to the browser tests (and curious operators) without a 1,000-row table.
  (window as unknown as { vigilComparison?: unknown }).vigilComparison = { server, browser: local };
}

/* ---------- Releases and retraining ---------- */

/** A page over one model's list route; a deployment without the route gets an empty state. */
function listPage<T>(
  title: string,
  suffix: 'releases' | 'retraining',
  describe: string,
  render: (el: HTMLElement, model: string, items: T[]) => void,
) {
  return async (): Promise<void> => {
    const body = h('div', { id: `${suffix}-detail` });
    main.replaceChildren(
      h('h2', {}, title),
      h('p', {}, describe),
      await modelPicker(async (m) => {
        body.replaceChildren(h('p', {}, 'Loading…'));
        try {
          const r = await api<Record<string, unknown>>(`/v1/models/${m}/${suffix}?limit=20`);
          const items = (r[suffix === 'releases' ? 'releases' : 'executions'] as T[] | undefined) ?? [];
          if (items.length === 0) body.replaceChildren(empty(`No ${suffix} for ${m} yet.`));
          else render(body, m, items);
        } catch (e) {
          if (e instanceof ApiError && e.noRoute) {
            body.replaceChildren(
              empty(
                `${title} are not available on this deployment (GET /v1/models/{model}/${suffix} answers 404).`,
              ),
            );
          } else if (e instanceof ApiError && e.needsAdmin) {
            body.replaceChildren(
              h(
                'p',
                { class: 'error', role: 'alert', id: `${suffix}-forbidden` },
                h('strong', {}, e.code),
                ` (${e.status}): ${title} need an admin-scoped key; this key is not one. ${e.message}`,
              ),
            );
          } else showError(body, e);
        }
      }),
      body,
    );
  };
}

const pct = (v: number | undefined) => (v === undefined ? '—' : `${fmt(v * 100, 3)}%`);
const readings = (r?: Release['judgements'][number]['blue']) =>
  r
    ? `model v${r.modelVersion} (function version ${r.functionVersion}): ${r.invocations} invocations, ${r.rowsScored} rows, ${r.anomalies} anomalies, ${r.errors + r.serverErrors} errors, p99 ${r.p99DurationMs === undefined ? '—' : `${fmt(r.p99DurationMs, 3)} ms`}`
    : '—';
const phaseClass = (phase: string) =>
  phase === 'promoted' ? 'ok' : phase === 'rolled-back' || phase === 'failed' ? 'drift' : 'running';

function renderReleases(el: HTMLElement, _model: string, releases: Release[]): void {
  el.replaceChildren(
    ...releases.map((r) =>
      h(
        'section',
        { class: 'panel', 'aria-label': `release ${r.releaseId}`, 'data-phase': r.phase },
        h(
          'h3',
          {},
          `v${r.candidateVersion} over v${r.baselineVersion} (${r.policy}): `,
          h('span', { class: phaseClass(r.phase) }, r.phase),
        ),
        h(
          'p',
          {},
          `green weight ${pct(r.weight)} at step ${r.step}; started ${r.startedAt} by ${r.startedBy}`,
          r.endedAt ? `; ended ${r.endedAt}` : '; running',
          r.outcome ? `; outcome: ${r.outcome.reason}` : '',
        ),
        h(
          'p',
          {},
          r.expected && r.expected.source === 'evaluation'
            ? `expected from the candidate's evaluation: anomaly-rate ratio ${fmt(r.expected.anomalyRateRatio, 3)}, score KS D ${fmt(r.expected.scoreKsD, 3)} (${r.expected.detail})`
            : `expected: no difference (ratio 1, D 0)${r.expected ? `: ${r.expected.detail}` : ''}`,
        ),
        r.judgements.length === 0
          ? empty('No judgement yet (or none: this policy promotes without a traffic step).')
          : table(
              [
                'at',
                'phase',
                'step',
                'green weight',
                'blue',
                'green',
                'anomaly rate (green / blue; ratio vs expected)',
                'score KS (D vs expected)',
                'breaches',
                'decision',
              ],
              r.judgements.map((j) => [
                j.at,
                j.phase,
                j.step,
                pct(j.weight),
                readings(j.blue),
                readings(j.green),
                j.anomalyRate
                  ? `${pct(j.anomalyRate.green)} / ${pct(j.anomalyRate.blue)}; ratio ${fmt(j.anomalyRate.ratio, 3)} vs expected ${fmt(j.anomalyRate.expectedRatio ?? 1, 3)}, p=${fmt(j.anomalyRate.pValue, 3)}`
                  : '—',
                j.scoreKs
                  ? `D=${fmt(j.scoreKs.d, 3)} vs expected ${fmt(j.scoreKs.expectedD ?? 0, 3)}, p=${fmt(j.scoreKs.pValue, 3)}`
                  : '—',
                j.breaches.length
                  ? j.breaches.map((b) => `${b.signal} ${fmt(b.value, 3)} > ${fmt(b.limit, 3)}`).join('; ')
                  : 'none',
                j.decision,
              ]),
              `judgements of release ${r.releaseId}`,
            ),
      ),
    ),
  );
}

const statusClass = (status: string) =>
  status === 'SUCCEEDED' || status === 'succeeded'
    ? 'ok'
    : status === 'RUNNING' || status === 'running'
      ? 'running'
      : 'drift';

/** Seconds between two ISO times, or '—' when the step has not ended. */
const took = (from: string, to?: string) =>
  to === undefined ? '—' : `${fmt((Date.parse(to) - Date.parse(from)) / 1000, 3)} s`;

function renderRetraining(el: HTMLElement, model: string, runs: RetrainingRun[]): void {
  const steps = h('section', { id: 'retraining-steps', 'aria-live': 'polite' });
  const buttons: HTMLButtonElement[] = [];
  const open = async (run: RetrainingRun, button: HTMLButtonElement) => {
    for (const b of buttons) b.setAttribute('aria-expanded', String(b === button));
    steps.replaceChildren(h('p', {}, 'Loading…'));
    try {
      const d = await api<RetrainingRunDetail>(
        `/v1/models/${model}/retraining/${encodeURIComponent(run.name)}`,
      );
      renderSteps(steps, d);
    } catch (e) {
      showError(steps, e);
    }
  };
  el.replaceChildren(
    table(
      ['execution', 'trigger', 'status', 'step (current or last)', 'started', 'stopped', 'error'],
      runs.map((r) => {
        const b = h(
          'button',
          {
            type: 'button',
            'aria-expanded': 'false',
            'aria-controls': 'retraining-steps',
            'aria-label': `Steps of ${r.name}`,
            'data-execution': r.name,
          },
          r.name,
        );
        b.addEventListener('click', () => void open(r, b));
        buttons.push(b);
        return [
          b,
          r.trigger ?? '—',
          h('span', { class: statusClass(r.status) }, r.status),
          r.step ?? '—',
          r.startDate,
          r.stopDate ?? '—',
          r.error ? `${r.error}${r.cause ? `: ${r.cause}` : ''}` : '—',
        ];
      }),
      `retraining executions of ${model}, newest first`,
    ),
    h(
      'p',
      { class: 'empty' },
      'Open an execution to see its steps. A run waiting in WaitForApproval is answered by approving or rejecting its version on the Models page.',
    ),
    steps,
  );
}

/** An execution's steps in order: each with its outcome, timing, retries and error. */
function renderSteps(el: HTMLElement, d: RetrainingRunDetail): void {
  const heading = h(
    'h3',
    { tabindex: -1 },
    `Steps of ${d.name}: `,
    h('span', { class: statusClass(d.status) }, d.status),
  );
  el.replaceChildren(
    heading,
    d.steps.length === 0
      ? empty('No step entered yet.')
      : table(
          ['#', 'step', 'type', 'outcome', 'entered', 'exited', 'took', 'retries', 'error'],
          d.steps.map((s, i) => [
            i + 1,
            s.name,
            s.type,
            h(
              'span',
              { class: statusClass(s.outcome), 'data-outcome': s.outcome },
              s.outcome === 'caught' && s.next ? `caught → ${s.next}` : s.outcome,
            ),
            s.enteredAt,
            s.exitedAt ?? '—',
            took(s.enteredAt, s.exitedAt),
            s.retries,
            s.error ? `${s.error}${s.cause ? `: ${s.cause}` : ''}` : '—',
          ]),
          `steps of ${d.name}, in order`,
        ),
    d.historyTruncated
      ? h(
          'p',
          { class: 'empty' },
          'The history is longer than the API reads: only its first events are shown.',
        )
      : '',
  );
  // Keyboard users land on what they opened.
  heading.focus();
}

/* ---------- routing ---------- */

const PAGES: Record<string, () => Promise<void>> = {
  models: modelsPage,
  drift: driftPage,
  explain: explainPage,
  playground: playgroundPage,
  releases: listPage<Release>(
    'Releases',
    'releases',
    'Each release: its phase, traffic weights and every judgement with its readings.',
    renderReleases,
  ),
  retraining: listPage<RetrainingRun>(
    'Retraining',
    'retraining',
    'Each retraining execution: its status, the step it is in or ended in, and why it failed.',
    renderRetraining,
  ),
};

async function route(): Promise<void> {
  const name = location.hash.replace(/^#\/?/, '') || 'models';
  const page = PAGES[name] ?? modelsPage;
  for (const a of document.querySelectorAll('nav a')) {
    if (a.getAttribute('href') === `#/${name}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `Vigil console: ${name}`;
  main.replaceChildren(h('p', {}, 'Loading…'));
  if (!getKey()) {
    main.replaceChildren(
      h('h2', {}, 'API key needed'),
      h('p', {}, 'Every page reads the v1 API, which needs an API key (printed by npm start).'),
      h('button', { type: 'button', onclick: askKey }, 'Enter an API key'),
    );
    return;
  }
  try {
    await page();
  } catch (e) {
    showError(main, e);
  }
}

window.addEventListener('hashchange', () => void route());
void route();
