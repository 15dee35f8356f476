import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileKeys, SecretsManagerKeys } from '#adapters/secrets.ts';
import { ENV } from '#contracts';
import {
  apiKeys,
  captureReader,
  captures,
  config,
  driftReports,
  member,
  registry,
  resetRoot,
  store,
} from '#runtime/root.ts';

describe('composition root', () => {
  const saved = { ...process.env };
  beforeEach(() => {
    for (const name of Object.values(ENV)) if (name.startsWith('VIGIL_')) delete process.env[name];
    resetRoot();
  });
  afterEach(() => {
    process.env = { ...saved };
    resetRoot();
  });

  it('names the missing variable of the member asked for, and only then', () => {
    // Nothing is built up front: a function that needs no registry never needs its table.
    expect(config().registryTable).toBeUndefined();
    expect(() => registry()).toThrow(/Environment variable VIGIL_REGISTRY_TABLE is required/);
    expect(() => driftReports()).toThrow(/Environment variable VIGIL_DRIFT_TABLE is required/);
    expect(() => captureReader()).toThrow(/Environment variable VIGIL_CAPTURES_TABLE is required/);
    expect(() => store()).toThrow(/VIGIL_ARTIFACT_BUCKET or VIGIL_ARTIFACT_DIR is required/);
    expect(() => apiKeys()).toThrow(/VIGIL_API_KEYS_SECRET \(or VIGIL_API_KEYS_FILE locally\) is required/);
    // No captures table means capture is off, not an error.
    expect(captures()).toBeUndefined();
  });

  it('builds each member once per process and again after resetRoot', () => {
    process.env[ENV.REGISTRY_TABLE] = 'reg';
    process.env[ENV.DYNAMODB_ENDPOINT] = 'http://127.0.0.1:1';
    const first = registry();
    expect(registry()).toBe(first);
    resetRoot();
    expect(registry()).not.toBe(first);
  });

  it('reads the key source through the typed config: the secret in AWS, the key file on the twin', () => {
    process.env[ENV.API_KEYS_FILE] = '/tmp/keys.json';
    expect(apiKeys()).toBeInstanceOf(FileKeys);
    resetRoot();
    process.env[ENV.API_KEYS_SECRET] = 'arn:aws:secretsmanager:eu-west-1:1:secret:k';
    expect(apiKeys()).toBeInstanceOf(SecretsManagerKeys);
  });

  it('does not keep a member whose build failed', () => {
    let calls = 0;
    const flaky = member(() => {
      calls++;
      if (calls === 1) throw new Error('first build fails');
      return { built: calls };
    });
    expect(() => flaky()).toThrow(/first build fails/);
    expect(flaky()).toEqual({ built: 2 });
    expect(flaky()).toEqual({ built: 2 });
  });

  it('refuses an invalid variable with a message naming it', () => {
    process.env[ENV.CAPTURE_SAMPLE_RATE] = '2';
    expect(() => config()).toThrow(/Invalid Vigil configuration: captureSampleRate/);
  });
});
