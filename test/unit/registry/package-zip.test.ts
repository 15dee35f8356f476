import { strToU8, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { encodePackage } from '#core/model/package-io.ts';
import { unzipPackage, zipFiles, zipPackage } from '#core/model/package-zip.ts';
import { fixturePackage } from './fixture-package.ts';

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return 'none';
};

describe('zipped model packages', () => {
  const pkg = fixturePackage({ name: 'zip-model' });

  it('round-trips a package through a zip', () => {
    const back = unzipPackage(zipPackage(pkg));
    expect(back.manifest).toEqual(pkg.manifest);
    expect(Buffer.from(back.onnx).equals(Buffer.from(pkg.onnx))).toBe(true);
  });

  it('reads the two files inside one top-level directory, as `zip -r pkg.zip dir/` makes them', () => {
    const files = encodePackage(pkg);
    const zip = zipSync({
      'mymodel/': {},
      'mymodel/manifest.json': files.manifest,
      'mymodel/model.onnx': files.onnx,
    });
    expect(unzipPackage(zip).manifest.name).toBe('zip-model');
  });

  it('refuses bytes that are not a zip, and a zip without both files', () => {
    expect(codeOf(() => unzipPackage(strToU8('not a zip at all')))).toBe('BadRequest');
    const files = encodePackage(pkg);
    expect(codeOf(() => unzipPackage(zipSync({ 'manifest.json': files.manifest })))).toBe('BadRequest');
    expect(() =>
      unzipPackage(
        zipSync({ 'a/model.onnx': files.onnx, 'b/model.onnx': files.onnx, 'manifest.json': files.manifest }),
      ),
    ).toThrow(/exactly one model.onnx/);
  });

  it('refuses a zip whose model does not match the manifest sha256', () => {
    const files = encodePackage(pkg);
    const onnx = new Uint8Array(files.onnx);
    onnx[5] = (onnx[5] ?? 0) ^ 0xff;
    expect(codeOf(() => unzipPackage(zipFiles({ manifest: files.manifest, onnx })))).toBe('IntegrityError');
  });
});
