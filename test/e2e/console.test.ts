import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTwin, type Twin } from '../../local/twin.ts';
import { referenceRows } from '../integration/drift-handlers/helpers.ts';

/**
 * The console in a real browser: Debian's Chromium (never a downloaded one) driven by
 * playwright-core against a running twin. Every number the page shows is compared with the
 * API's own answer; screenshots of each page at both widths go to web/screenshots/ (ignored).
 */

/** The few page globals the test reads (it compiles without the DOM library). */
interface PageGlobals {
  location: { hash: string };
  document: {
    querySelector(s: string): { textContent: string | null } | null;
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

  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field.
  const api = async (p: string, body?: unknown): Promise<any> => {
    const res = await fetch(`${twin.url}${p}`, {
      method: body ? 'POST' : 'GET',
      headers: { 'content-type': 'application/json', 'x-api-key': twin.apiKey },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    expect(res.status).toBe(200);
    return res.json();
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
      if (m.type() !== 'error') return;
      // The optional routes answer 404 on purpose (the page shows its empty state); Chromium logs each.
      if (/\/v1\/models\/[^/]+\/(releases|retraining)$/.test(m.location().url) && m.text().includes('404'))
        return;
      problems.push(`console: ${m.text()} (${m.location().url})`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
    page.on('response', (r) => {
      if (r.status() >= 400 && !/\/(releases|retraining)$/.test(r.url()))
        problems.push(`HTTP ${r.status()}: ${r.url()}`);
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

  it('shows a clear empty state where this deployment has no releases or retraining route', async () => {
    for (const name of ['releases', 'retraining'] as const) {
      await open(name);
      const detail = page.locator(`#${name}-detail`);
      await detail.locator('p').first().waitFor();
      const text = await detail.innerText();
      const probe = await fetch(`${twin.url}/v1/models/default/${name}`, {
        headers: { 'x-api-key': twin.apiKey },
      });
      if (probe.status === 404) expect(text).toContain('not available on this deployment');
      else expect(text).not.toContain('not available on this deployment');
    }
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

  it('saw no console error, page error, failed request or third-party request', () => {
    expect(problems).toEqual([]);
  });
});
