import { afterEach, describe, expect, it } from 'vitest';
import { resetRoot } from '#runtime/root.ts';
import { startAwsServer } from '../../../local/twin.ts';

describe('vigil serve --aws', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
    resetRoot();
  });

  it('refuses to start without its table configuration', async () => {
    delete process.env.VIGIL_REGISTRY_TABLE;
    resetRoot();
    await expect(startAwsServer({ port: 0 })).rejects.toThrow(/VIGIL_REGISTRY_TABLE is required/);
  });

  it('refuses to start without the API key secret (it has no API Gateway in front)', async () => {
    Object.assign(process.env, { VIGIL_REGISTRY_TABLE: 't', VIGIL_ARTIFACT_DIR: '/tmp/vigil-none' });
    delete process.env.VIGIL_API_KEYS_SECRET;
    resetRoot();
    await expect(startAwsServer({ port: 0 })).rejects.toThrow(/VIGIL_API_KEYS_SECRET is required/);
  });
});
