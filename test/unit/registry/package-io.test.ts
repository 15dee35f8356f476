import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { VigilError } from '#core/errors.ts';
import {
  decodePackage,
  parseManifest,
  serializeManifest,
  sha256Hex,
  verifyPackage,
  withVersion,
} from '#core/model/package-io.ts';
import { fixturePackage } from './fixture-package.ts';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof VigilError) return e.code;
    throw e;
  }
  return 'none';
}

describe('package-io', () => {
  it('hashes with sha256 (FIPS 180-2 "abc" vector)', () => {
    expect(sha256Hex(new TextEncoder().encode('abc'))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('accepts a package whose model.onnx matches the manifest sha256', () => {
    const pkg = fixturePackage();
    expect(verifyPackage(pkg)).toBe(pkg);
  });

  it('refuses a package with one flipped byte, naming both digests', () => {
    const pkg = fixturePackage();
    const onnx = pkg.onnx.slice();
    onnx[10] ^= 1;
    const tampered = { manifest: pkg.manifest, onnx };
    expect(codeOf(() => verifyPackage(tampered))).toBe('IntegrityError');
    expect(() => verifyPackage(tampered)).toThrow(/does not match/);
  });

  it('decodes the bytes it serialises', () => {
    const pkg = fixturePackage();
    const back = decodePackage({ manifest: serializeManifest(pkg.manifest), onnx: pkg.onnx });
    expect(back.manifest).toEqual(pkg.manifest);
  });

  it('refuses malformed JSON and schema violations as InvalidModel', () => {
    expect(codeOf(() => parseManifest('{ not json'))).toBe('InvalidModel');
    const m = { ...fixturePackage().manifest, sha256: 'xyz' };
    expect(codeOf(() => parseManifest(JSON.stringify(m)))).toBe('InvalidModel');
    expect(() => parseManifest(JSON.stringify(m))).toThrow(/Invalid manifest at 'sha256'/);
  });

  it('stamps a registry version without touching the model bytes or their digest', () => {
    const pkg = fixturePackage();
    const v = withVersion(pkg, 4);
    expect(v.manifest.version).toBe(4);
    expect(pkg.manifest.version).toBe(0);
    expect(createHash('sha256').update(v.onnx).digest('hex')).toBe(v.manifest.sha256);
  });
});
