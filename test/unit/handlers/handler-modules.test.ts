import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HANDLERS } from '#contracts';
import { HANDLER_MODULES } from '../../../local/handler-modules.ts';

describe('handler modules', () => {
  it('the server imports exactly the entry points the CDK app bundles', () => {
    expect(Object.keys(HANDLER_MODULES).sort()).toEqual(Object.keys(HANDLERS).sort());
    for (const [name, file] of Object.entries(HANDLERS)) {
      expect(existsSync(path.resolve(import.meta.dirname, '../../..', file)), file).toBe(true);
      expect(typeof HANDLER_MODULES[name as keyof typeof HANDLERS], name).toBe('function');
    }
  });
});
