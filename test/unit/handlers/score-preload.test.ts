import { afterEach, describe, expect, it, vi } from 'vitest';
import { ENV } from '#contracts';

describe('score handler model preload at init', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
    vi.restoreAllMocks();
    vi.resetModules();
  });

  it('never fails init: a preload that cannot run is logged and the handler still loads', async () => {
    // GIVEN models to preload but no registry table, so building the runtime throws during init
    process.env[ENV.PRELOAD_MODELS] = 'default';
    delete process.env[ENV.REGISTRY_TABLE];
    process.env.POWERTOOLS_DEV = 'true';
    process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
    const lines: string[] = [];
    for (const method of ['log', 'info', 'warn', 'error'] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        lines.push(args.map(String).join(' '));
      });
    }
    vi.resetModules();
    // WHEN the module initialises
    const mod = await import('#handlers/score.ts');
    // THEN the handler exists and the skipped preload was reported, not thrown
    expect(typeof mod.handler).toBe('function');
    expect(lines.join('\n')).toMatch(/model preload skipped/);
  });
});
