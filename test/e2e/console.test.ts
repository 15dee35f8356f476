import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '#adapters/dynamodb-client.ts';
import { DynamoDriftReportStore } from '#adapters/dynamodb-drift-reports.ts';
import { readPackageDir } from '#app/package-dir.ts';
import { ENV } from '#contracts';
import { toCsv } from '#core/csv.ts';
import { zipPackage } from '#core/model/package-zip.ts';
import { startTwin, type Twin } from '../../local/twin.ts';
import { DEFAULT_MODEL_DIR, defaultManifest, referenceRows } from '../integration/drift-handlers/helpers.ts';

/**
 * The console in a real browser: Debian's Chromium (never a downloaded one) driven by
 * playwright-core against a running twin. Every number the page shows is compared with the
 * API's own answer; screenshots of each page at both widths go to web/screenshots/ (ignored).
 */

// biome-ignore lint/suspicious/noExplicitAny: API bodies are checked field by field.
type Json = any;

/** The few page globals the test reads (it compiles without the DOM library). */
interface PageGlobals {
  location: { hash: string };
  document: {
    querySelector(s: string): { textContent: string | null } | null;
    activeElement: { tagName: string } | null;
    getElementById(id: string): { value: string } | null;
    documentElement: { scrollWidth: number; clientWidth: number };
  };
  vigilComparison?: unknown;
}

const CHROMIUM = process.env.VIGIL_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];
const SHOTS = path.resolve(import.meta.dirname, '../../web/screenshots');
const PAGES = ['models', 'drift', 'explain', 'playground', 'releases', 'retraining'] as const;
const WIDTHS = [1280, 390] as const;

describe('the console, in Chromium, against the twin', () => {
  let twin: Twin;
  let dir: string;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  const call = async (
    method: string,
    p: string,
    body?: unknown,
    key = twin.apiKey,
  ): Promise<{ status: number; body: Json }> => {
    const res = await fetch(`${twin.url}${p}`, {
      method,
      headers: { 'content-type': 'application/json', 'x-api-key': key },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: await res.json() };
  };
  const api = async (p: string, body?: unknown): Promise<Json> => {
    const r = await call(body ? 'POST' : 'GET', p, body);
    expect(r.status).toBe(200);
    return r.body;
  };
  const production = async (): Promise<number> =>
    (await api('/v1/models/default/versions')).aliases.production;
  const approval = async (v: number): Promise<string> =>
    (await api('/v1/models/default/versions')).versions.find((x: { version: number }) => x.version === v)
      ?.approval;
  /** Clicks an admin action, then answers its confirmation dialog with a reason (or cancels it). */
  const confirmed = async (button: string, reason: string | undefined) => {
    await page.getByRole('button', { name: button }).first().click();
    const dialog = page.locator('#confirm-dialog');
    await dialog.waitFor();
    expect(await page.locator('#confirm-text').innerText()).toMatch(/admin action/);
    if (reason === undefined) await dialog.getByRole('button', { name: 'Cancel' }).click();
    else {
      await page.fill('#confirm-reason', reason);
      await page.click('#confirm-ok');
    }
    await dialog.waitFor({ state: 'hidden' });
  };

  const open = async (name: (typeof PAGES)[number]) => {
    // Functions, not strings: the page's CSP forbids eval (string expressions fail there, as they should).
    await page.evaluate((n) => {
      (globalThis as unknown as PageGlobals).location.hash = `#/${n}`;
    }, name);
    await page.waitForFunction(
      () =>
        !(globalThis as unknown as PageGlobals).document
          .querySelector('main')
          ?.textContent?.includes('Loading…'),
    );
  };

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium is not installed at ${CHROMIUM}: apt-get install -y --no-install-recommends chromium`,
      );
    }
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-e2e-console-'));
    process.env.VIGIL_EVENTS_FILE = path.join(dir, 'events.jsonl');
    twin = await startTwin({ port: 0, dataDir: dir, inMemory: true, driftEveryMs: 0 });
    // Shifted traffic, then one evaluation: the drift page has a drifted report to show.
    const rows = referenceRows(600, 11, 3);
    for (let i = 0; i < rows.length; i += 200)
      await api('/v1/models/default/score', { rows: rows.slice(i, i + 200) });
    await twin.evaluateDrift();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()} (${m.location().url})`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
      if (!r.url().startsWith(twin.url)) problems.push(`third-party request: ${r.url()}`);
    });
    await mkdir(SHOTS, { recursive: true });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await twin?.close();
    delete process.env.VIGIL_EVENTS_FILE;
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the console at / with a CSP that allows no inline script and no other origin', async () => {
    const res = await fetch(`${twin.url}/`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    // The API keeps its auth behind the public files.
    expect((await fetch(`${twin.url}/v1/models`)).status).toBe(401);
  });

  it('asks for the API key (keyboard only), keeps it in session storage and lists the default model', async () => {
    await page.goto(`${twin.url}/`);
    await page.getByRole('heading', { name: 'API key needed' }).waitFor();
    await page.focus('#key-button');
    await page.keyboard.press('Enter');
    await page.keyboard.type(twin.apiKey);
    await page.keyboard.press('Enter');
    await page.locator('table').first().waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('vigil.apiKey'))).toBe(twin.apiKey);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    const firstRow = await page.locator('table tbody tr').first().innerText();
    expect(firstRow).toContain('default');
    expect(firstRow).toContain('production → v1');
    await page.locator('#timeline .uplot').waitFor();
  }, 60_000);

  it('shows the drift report of the shifted traffic, per feature, with a chart per feature', async () => {
    await open('drift');
    const verdict = await page.locator('#drift-verdict').innerText();
    const { reports } = await api('/v1/models/default/drift?limit=1');
    expect(reports[0].drift).toBe(true);
    expect(verdict).toContain(`${reports[0].n} rows`);
    expect(verdict).toMatch(/: drift \(/);
    const features = Object.keys(reports[0].features);
    expect(await page.locator('section[aria-label^="feature "]').count()).toBe(features.length);
    expect(await page.locator('section[aria-label^="feature "] .uplot').count()).toBe(features.length);
    expect(await page.locator('section[aria-label^="feature "] h4 .drift').count()).toBe(
      features.filter((f) => reports[0].features[f].drifted).length,
    );
  }, 60_000);

  it('renders an explanation whose bars add up from the base value to the raw output, at the server score', async () => {
    await open('explain');
    await page.getByRole('button', { name: 'An outlying row' }).click();
    await page.getByRole('button', { name: 'Explain', exact: true }).click();
    const bars = page.locator('#bars');
    await bars.waitFor();
    const base = Number(await bars.getAttribute('data-base'));
    const raw = Number(await bars.getAttribute('data-raw'));
    const values = await page
      .locator('#bars li .bar')
      .evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-value'))));
    // First bar is the base value, last the raw output; the features sit between.
    const steps = values.slice(1, -1);
    expect(steps.length).toBe(5);
    expect(Math.abs(base + steps.reduce((a, b) => a + b, 0) - raw)).toBeLessThanOrEqual(
      1e-6 * Math.max(1, Math.abs(raw)),
    );
    const row = Object.fromEntries(
      await page
        .locator('form input[type=number]')
        .evaluateAll((els) =>
          els.map((e) => [
            (e.getAttribute('id') ?? '').slice(2),
            Number((e as unknown as { value: string }).value),
          ]),
        ),
    );
    const server = await api('/v1/models/default/score', { rows: [row] });
    expect(Number(await bars.getAttribute('data-score'))).toBeCloseTo(server.results[0].score, 12);
    // Interactive: focusing a bar announces its value.
    await page.locator('#bars li .bar').nth(1).focus();
    expect(await page.locator('#bar-detail').innerText()).toMatch(/to the raw output/);
  }, 60_000);

  it('scores 1,000 rows in the browser with vigil/edge exactly as the server does (1e-6)', async () => {
    await open('playground');
    await page.fill('#rows-count', '1000');
    await page.click('#generate');
    await page.waitForFunction(
      () =>
        ((globalThis as unknown as PageGlobals).document.getElementById('rows-json')?.value.length ?? 0) >
        1000,
    );
    const rows = JSON.parse(await page.inputValue('#rows-json'));
    expect(rows).toHaveLength(1000);
    await page.click('#score-both');
    await page.locator('#playground-summary').waitFor({ timeout: 60_000 });
    const cmp = (await page.evaluate(() => (globalThis as unknown as PageGlobals).vigilComparison)) as {
      browser: Array<{ score: number; anomaly: boolean }>;
    };
    // The reference is fetched here, outside the page: the server's own answer for the same rows.
    const server = await api('/v1/models/default/score', { rows });
    expect(cmp.browser).toHaveLength(1000);
    for (let i = 0; i < 1000; i++) {
      expect(Math.abs(cmp.browser[i].score - server.results[i].score)).toBeLessThanOrEqual(1e-6);
      expect(cmp.browser[i].anomaly).toBe(server.results[i].anomaly);
    }
    expect(new Set(server.results.map((r: { anomaly: boolean }) => r.anomaly)).size).toBe(2);
  }, 120_000);

  it('overlays the current window on the reference per feature, from the distribution the report keeps', async () => {
    await open('drift');
    const { reports } = await api('/v1/models/default/drift?limit=1');
    for (const [name, f] of Object.entries(reports[0].features) as [string, { distribution: Json }][]) {
      const section = page.locator(`section[aria-label="feature ${name}"]`);
      expect(await section.locator('.uplot .u-legend').innerText()).toContain('current window');
      // The bin table's shares are the report's counts, each over its own total.
      const cells = await section
        .getByRole('region', { name: `${name}: share of rows per reference-decile bin` })
        .locator('table tbody tr')
        .evaluateAll((rows) =>
          rows.map((r) => (r as unknown as { innerText: string }).innerText.split('	')),
        );
      const d = f.distribution;
      expect(cells).toHaveLength(d.countsCurrent.length);
      const n = d.countsCurrent.reduce((a: number, b: number) => a + b, 0);
      expect(n).toBe(reports[0].features[name].n);
      cells.forEach((row, i) => {
        // One decimal on the page: within half of its last digit.
        expect(
          Math.abs(Number.parseFloat(row[2] as string) - (100 * d.countsCurrent[i]) / n),
        ).toBeLessThanOrEqual(0.05 + 1e-9);
      });
    }
  }, 60_000);

  it('explains a recent captured row picked from the captures route, at the score it was captured with', async () => {
    await open('explain');
    await page.click('#captured-button');
    await page.locator('#captured-select').waitFor();
    const { captures } = await api('/v1/models/default/captures?limit=20');
    expect(captures.length).toBe(20);
    expect(await page.locator('#captured-select option').count()).toBe(20);
    const pick = 3;
    await page.selectOption('#captured-select', String(pick));
    for (const f of defaultManifest.features)
      expect(Number(await page.inputValue(`#x-${f}`))).toBe(captures[pick].features[f]);
    await page.getByRole('button', { name: 'Explain', exact: true }).click();
    await page.locator('#bars').waitFor();
    expect(Number(await page.locator('#bars').getAttribute('data-score'))).toBeCloseTo(
      captures[pick].score,
      12,
    );
  }, 60_000);

  it('lists a retraining execution started over the API, with its trigger, status and last step', async () => {
    const cols = defaultManifest.features.map((f) =>
      Float64Array.from(referenceRows(800, 9).map((r) => r[f] as number)),
    );
    const data = path.join(dir, 'fresh.csv');
    await writeFile(data, toCsv(defaultManifest.features, cols));
    const started = await call('POST', '/v1/models/default/retrain', { data, seed: 7 });
    expect(started.status).toBe(202);
    await (await twin.retraining.runner()).whenIdle();
    const [run] = (await api('/v1/models/default/retraining')).executions;
    expect(run.executionArn).toBe(started.body.executionArn);
    await open('retraining');
    const row = await page.locator('#retraining-detail table tbody tr').first().innerText();
    for (const v of [run.name, 'manual', run.status, run.step]) expect(row).toContain(v);
    expect(run.status).toBe('SUCCEEDED');
    // Opened from the keyboard: focus the execution's button, press Enter, read the steps table.
    const detail = await api(`/v1/models/default/retraining/${run.name}`);
    expect(detail.steps.length).toBeGreaterThan(5);
    const button = page.getByRole('button', { name: `Steps of ${run.name}` });
    await button.focus();
    await page.keyboard.press('Enter');
    await page.locator('#retraining-steps table').waitFor();
    expect(await button.getAttribute('aria-expanded')).toBe('true');
    expect(
      await page.evaluate(() => (globalThis as unknown as PageGlobals).document.activeElement?.tagName),
    ).toBe('H3');
    const shown = await page.locator('#retraining-steps table tbody tr').allInnerTexts();
    expect(shown).toHaveLength(detail.steps.length);
    detail.steps.forEach((s: Json, i: number) => {
      const cells = shown[i].split('\t');
      expect(cells[1]).toBe(s.name);
      expect(cells[2]).toBe(s.type);
      expect(cells[3]).toContain(s.outcome);
      expect(cells[4]).toBe(s.enteredAt);
      expect(cells[5]).toBe(s.exitedAt ?? '—');
      expect(cells[7]).toBe(String(s.retries));
    });
    expect(detail.steps.at(-1).name).toBe(run.step);
    // The run ended with a release of its candidate (no traffic to judge in between: promoted).
    expect(await production()).toBe(2);
  }, 240_000);

  it('approves, promotes and rolls back with an admin key, each behind a confirmation that can be cancelled', async () => {
    // v2 is the retrained candidate (Approved by the dev gate, and released by that run: the twin's
    // retraining ends with the release machine); v3 a registration waiting for a person. The
    // admin actions below start from the original model in production.
    expect(await production()).toBe(2);
    expect(
      (await call('POST', '/v1/models/default/aliases/production/rollback', { reason: 'console test setup' }))
        .status,
    ).toBe(200);
    expect(await production()).toBe(1);
    const zip = zipPackage(await readPackageDir(DEFAULT_MODEL_DIR));
    const reg = await fetch(`${twin.url}/v1/models/default/versions?force=true&reason=console%20test`, {
      method: 'POST',
      headers: { 'content-type': 'application/zip', 'x-api-key': twin.apiKey },
      body: zip,
    });
    expect(reg.status).toBe(201);
    const v3 = ((await reg.json()) as { version: { version: number } }).version.version;
    expect(v3).toBe(3);
    expect(await approval(v3)).toBe('PendingManualApproval');
    await open('models');
    await page.locator('#model-detail table').first().waitFor();

    await confirmed('Approve', undefined);
    expect(await approval(v3)).toBe('PendingManualApproval');
    await confirmed('Approve', 'checked in the console');
    await page.locator('#model-detail table').first().waitFor();
    expect(await approval(v3)).toBe('Approved');

    expect(await production()).toBe(1);
    await page
      .locator('#model-detail tbody tr', { hasText: 'v2' })
      .getByRole('button', { name: 'Promote' })
      .click();
    await page.locator('#confirm-dialog').waitFor();
    await page.fill('#confirm-reason', 'retrained');
    await page.click('#confirm-ok');
    await expect.poll(production).toBe(2);
    await page.getByRole('button', { name: 'Roll back production' }).waitFor();
    await confirmed('Roll back production', 'back to the original');
    await expect.poll(production).toBe(1);
    const history = (await api('/v1/models/default/history')).events as { type: string; reason?: string }[];
    expect(history.filter((e) => e.reason === 'back to the original').map((e) => e.type)).toEqual([
      'rolled-back',
    ]);
  }, 60_000);

  it('shows a release with its phase, weights and the judgement’s readings, as the releases route has it', async () => {
    const start = await call('POST', '/v1/models/default/releases', { version: 3, policy: 'canary10-15m' });
    expect(start.status).toBe(202);
    // Traffic for the judgement: the twin bakes canary10-15m's 15 minutes in 18 s.
    const rows = referenceRows(20, 5);
    let release: Json;
    for (let i = 0; i < 2000 && !release; i++) {
      await call('POST', '/v1/models/default/score', { rows }, twin.scoreApiKey);
      const [r] = (await api('/v1/models/default/releases?limit=1')).releases;
      if (['promoted', 'rolled-back', 'failed'].includes(r.phase)) release = r;
    }
    // Same package as blue, so it is promoted unless a loaded machine's p99 breaches at 10 %: the
    // page is under test here, not the judgement (test/e2e/release.test.ts pins those), so either
    // ending will do as long as a judgement was taken.
    expect(['promoted', 'rolled-back']).toContain(release.phase);
    expect(release.judgements.length).toBeGreaterThan(0);
    await open('releases');
    const section = page.locator(`section[aria-label="release ${release.releaseId}"]`);
    expect(await section.locator('h3').innerText()).toBe(`v3 over v1 (canary10-15m): ${release.phase}`);
    const cells = await section
      .locator('table tbody tr')
      .evaluateAll((rows) => rows.map((r) => (r as unknown as { innerText: string }).innerText.split('	')));
    expect(cells).toHaveLength(release.judgements.length);
    const [j] = release.judgements;
    expect(cells[0]?.[0]).toBe(j.at);
    expect(cells[0]?.[3]).toBe('10%');
    expect(cells[0]?.[4]).toContain(
      `model v1 (function version ${j.blue.functionVersion}): ${j.blue.invocations} invocations`,
    );
    expect(cells[0]?.[5]).toContain(
      `model v3 (function version ${j.green.functionVersion}): ${j.green.invocations} invocations`,
    );
    expect(cells[0]?.[8]).toEqual(
      j.breaches.length === 0 ? 'none' : expect.stringContaining(j.breaches[0].signal),
    );
    expect(cells[0]?.[9]).toBe(j.decision);
  }, 240_000);

  it('offers a score-scoped key no admin action, shows the API’s 403 on releases, and the API refuses them too', async () => {
    const seen: string[] = [];
    const other = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    other.on('response', (r) => {
      if (r.status() >= 400)
        seen.push(`${r.status()} ${new URL(r.url()).pathname}${new URL(r.url()).search}`);
    });
    other.on('pageerror', (e) => problems.push(`page error (score key): ${e.message}`));
    await other.goto(`${twin.url}/`);
    await other.evaluate((k) => sessionStorage.setItem('vigil.apiKey', k), twin.scoreApiKey);
    await other.reload();
    await other.locator('#model-detail table').first().waitFor();
    await other.locator('#admin-note').waitFor();
    for (const name of ['Approve', 'Promote', 'Roll back production'])
      expect(await other.getByRole('button', { name }).count()).toBe(0);
    await other.evaluate(() => {
      (globalThis as unknown as PageGlobals).location.hash = '#/releases';
    });
    expect(await other.locator('#releases-detail [role=alert]').innerText()).toMatch(
      /^Forbidden \(403\): Releases need an admin-scoped key/,
    );
    await other.evaluate(() => {
      (globalThis as unknown as PageGlobals).location.hash = '#/explain';
    });
    await other.locator('#explain-detail form').waitFor();
    expect(await other.locator('#captured-button').isDisabled()).toBe(true);
    await other.close();
    // The only refusals were the scope probe and the releases read, each answered 403.
    expect([...new Set(seen)].sort()).toEqual([
      '403 /v1/models/default/captures?limit=1',
      '403 /v1/models/default/releases?limit=20',
    ]);
    // The UI hides them; the API is what refuses them.
    const approve = await call(
      'POST',
      '/v1/models/default/versions/2/approve',
      { reason: 'x' },
      twin.scoreApiKey,
    );
    expect(approve.status).toBe(403);
    expect(approve.body.error.details.requiredScope).toBe('admin');
    const rollback = await call(
      'POST',
      '/v1/models/default/aliases/production/rollback',
      { reason: 'x' },
      twin.scoreApiKey,
    );
    expect(rollback.status).toBe(403);
  }, 60_000);

  it('has no serious or critical accessibility violation on any page, at 1280 and 390 px (screenshots taken)', async () => {
    const found: string[] = [];
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 900 });
      for (const name of PAGES) {
        await open(name);
        await page.waitForTimeout(200);
        await page.screenshot({ path: path.join(SHOTS, `${name}-${width}.png`), fullPage: true });
        const r = await new AxeBuilder({ page }).analyze();
        for (const v of r.violations) {
          if (v.impact === 'serious' || v.impact === 'critical')
            found.push(`${name}@${width}: ${v.id} (${v.impact}): ${v.help}`);
        }
      }
      // Readable at this width: nothing but the wide tables (in their own scroll box) overflows the page.
      const overflow = await page.evaluate(() => {
        const el = (globalThis as unknown as PageGlobals).document.documentElement;
        return el.scrollWidth - el.clientWidth;
      });
      expect(overflow).toBeLessThanOrEqual(0);
    }
    expect(found).toEqual([]);
  }, 180_000);

  it('still opens a report stored before reports kept the window’s distribution, and says what it lacks', async () => {
    // As an older evaluator stored it: the latest report without `distribution`, written newer.
    const { reports } = await api('/v1/models/default/drift?limit=1');
    const old = structuredClone(reports[0]);
    for (const f of Object.values(old.features) as Json[]) delete f.distribution;
    const store = new DynamoDriftReportStore({
      client: documentClient(process.env[ENV.DYNAMODB_ENDPOINT]),
      tableName: String(process.env[ENV.DRIFT_TABLE]),
    });
    await store.put(old, { createdAt: new Date(Date.now() + 60_000).toISOString() });
    const [latest] = (await api('/v1/models/default/drift?limit=1')).reports;
    expect(latest.features.cpu.distribution).toBeUndefined();
    await open('drift');
    const features = Object.keys(old.features);
    expect(await page.locator('section[aria-label^="feature "] .uplot').count()).toBe(features.length);
    expect(await page.getByText('This report predates stored window distributions').count()).toBe(
      features.length,
    );
    expect(await page.locator('section[aria-label="feature cpu"] .u-legend').innerText()).toContain(
      'current (at the KS gap)',
    );
  }, 60_000);

  it('saw no console error, page error, failed request or third-party request', () => {
    expect(problems).toEqual([]);
  });
});
