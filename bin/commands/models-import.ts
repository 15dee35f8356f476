import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseNumericCsv } from '#core/csv.ts';
import { VigilError } from '#core/errors.ts';
import { importModel } from '#core/model/import.ts';
import type { ModelPackage } from '#core/model/manifest.ts';
import { encodePackage, PACKAGE_FILES, sha256Hex } from '#core/model/package-io.ts';

export const IMPORT_USAGE = `Usage: vigil models import --onnx <model.onnx> --reference <data.csv> [options]

Builds a complete package for a model you trained elsewhere (features, reference sample,
covers, threshold) and registers it through the API (PendingManualApproval). Supported: see README "Models".
  --features a,b,c     feature names in the graph's column order (default: the CSV header)
  --threshold <x>      score at or above which a row is an anomaly
  --contamination <p>  or: flag this share of the reference rows (0 < p < 0.5)
                       (default: scikit-learn's offset_ for an isolation forest, 0.5 for a classifier)
  --name <model>       registry name (default: the ONNX file's name)
  --out <dir>          also write the package (model.onnx + manifest.json) there
  --force              register a new version even if the same package is registered already
  --reason <text>`;

/** Flags of `vigil models import` (parsed by the models CLI). */
export interface ImportFlags {
  readonly onnx?: string;
  readonly reference?: string;
  readonly features?: string;
  readonly threshold?: string;
  readonly contamination?: string;
  readonly name?: string;
  readonly out?: string;
}

/** Options `modelsCli` declares for `import` (node:util parseArgs form). */
export const IMPORT_OPTIONS = {
  onnx: { type: 'string' },
  reference: { type: 'string' },
  features: { type: 'string' },
  threshold: { type: 'string' },
  contamination: { type: 'string' },
  out: { type: 'string' },
} as const;

/**
 * `vigil models import …`, the local half: `importModel` (a pure core function) on the two
 * files builds a complete package (and writes it to `--out`); the models CLI then registers
 * it through the API exactly as `vigil models register` does.
 * @throws VigilError BadRequest for a file or flag problem; the import's own refusals
 */
export async function buildImport(
  values: ImportFlags,
): Promise<{ name: string; files: { manifest: Uint8Array; onnx: Uint8Array }; pkg: ModelPackage }> {
  const onnxPath = values.onnx;
  const refPath = values.reference;
  if (!onnxPath || !refPath) {
    throw new VigilError('BadRequest', 'import needs --onnx <model.onnx> and --reference <data.csv>');
  }
  const number = (flag: 'threshold' | 'contamination'): number | undefined => {
    const v = values[flag];
    if (v === undefined) return undefined;
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n))
      throw new VigilError('BadRequest', `--${flag} must be a number, got '${v}'`);
    return n;
  };
  const [onnx, csvBytes] = await Promise.all([readInput(onnxPath), readInput(refPath)]);
  let reference: ReturnType<typeof parseNumericCsv>;
  const features = values.features?.split(',').map((f) => f.trim());
  try {
    reference = parseNumericCsv(csvBytes.toString('utf8'), features);
  } catch (e) {
    throw new VigilError('BadRequest', `${refPath}: ${(e as Error).message}`);
  }
  const threshold = number('threshold');
  const contamination = number('contamination');
  const name = values.name ?? defaultName(onnxPath);
  const pkg = await importModel({
    name,
    onnx: new Uint8Array(onnx),
    reference,
    ...(features ? { features } : {}),
    ...(threshold !== undefined ? { threshold } : {}),
    ...(contamination !== undefined ? { contamination } : {}),
    createdAt: new Date().toISOString(),
    dataSha256: sha256Hex(csvBytes),
  });
  const files = encodePackage(pkg);
  if (values.out) {
    await mkdir(values.out, { recursive: true });
    await writeFile(path.join(values.out, PACKAGE_FILES.model), files.onnx);
    await writeFile(path.join(values.out, PACKAGE_FILES.manifest), files.manifest);
  }
  return { name, files, pkg };
}

/** One line saying what the import made of the graph. */
export function describeImport(pkg: ModelPackage): string {
  const m = pkg.manifest;
  return (
    `${m.params.family ?? 'scored on onnxruntime-web only'}, score '${m.output.name}'${m.output.negate ? ' negated' : ''} ` +
    `>= ${m.threshold} is an anomaly, features ${m.features.join(', ')}`
  );
}

async function readInput(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new VigilError('BadRequest', `no such file: ${file}`);
    throw e;
  }
}

/** `models/My Forest.onnx` → `my-forest`: a valid registry name from the file name. */
function defaultName(file: string): string {
  const base = path
    .basename(file)
    .replace(/\.onnx$/i, '')
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '');
  return base.slice(0, 63) || 'model';
}
