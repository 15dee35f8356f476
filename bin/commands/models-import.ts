import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseNumericCsv } from '../../lambdas/core/csv.ts';
import { isVigilError, VigilError } from '../../lambdas/core/errors.ts';
import { importModel } from '../../lambdas/core/model/import.ts';
import { encodePackage, PACKAGE_FILES, sha256Hex } from '../../lambdas/core/model/package-io.ts';
import { type ModelsCommandDeps, registerPackage } from './models.ts';

export const IMPORT_USAGE = `Usage: vigil models import --onnx <model.onnx> --reference <data.csv> [options]

Builds a complete package for a model you trained elsewhere (features, reference sample,
covers, threshold) and registers it. Supported: see README "Models".
  --features a,b,c     feature names in the graph's column order (default: the CSV header)
  --threshold <x>      score at or above which a row is an anomaly
  --contamination <p>  or: flag this share of the reference rows (0 < p < 0.5)
                       (default: scikit-learn's offset_ for an isolation forest, 0.5 for a classifier)
  --name <model>       registry name (default: the ONNX file's name)
  --out <dir>          also write the package (model.onnx + manifest.json) there
  --json, --reason <text>, --actor <name>`;

/**
 * `vigil models import …`: `importModel` (a pure core function) on the two files, then
 * the same registration as `vigil models register`.
 * @returns exit code: 0 registered, 1 refused (message says why), 2 usage error
 */
export async function modelsImportCommand(argv: string[], deps: ModelsCommandDeps): Promise<number> {
  const out = deps.out ?? ((t: string) => void process.stdout.write(t));
  const err = deps.err ?? ((t: string) => void process.stderr.write(t));
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        onnx: { type: 'string' },
        reference: { type: 'string' },
        features: { type: 'string' },
        threshold: { type: 'string' },
        contamination: { type: 'string' },
        name: { type: 'string' },
        out: { type: 'string' },
        json: { type: 'boolean', default: false },
        reason: { type: 'string' },
        actor: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (e) {
    err(`error: ${(e as Error).message}\n\n${IMPORT_USAGE}\n`);
    return 2;
  }
  if (values.help) {
    out(`${IMPORT_USAGE}\n`);
    return 0;
  }
  const onnxPath = values.onnx as string | undefined;
  const refPath = values.reference as string | undefined;
  if (!onnxPath || !refPath) {
    err(`error: import needs --onnx <model.onnx> and --reference <data.csv>\n\n${IMPORT_USAGE}\n`);
    return 2;
  }
  const number = (flag: string): number | undefined => {
    const v = values[flag] as string | undefined;
    if (v === undefined) return undefined;
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n))
      throw new VigilError('BadRequest', `--${flag} must be a number, got '${v}'`);
    return n;
  };
  try {
    const [onnx, csvBytes] = await Promise.all([readInput(onnxPath), readInput(refPath)]);
    let reference: ReturnType<typeof parseNumericCsv>;
    const features = (values.features as string | undefined)?.split(',').map((f) => f.trim());
    try {
      reference = parseNumericCsv(csvBytes.toString('utf8'), features);
    } catch (e) {
      throw new VigilError('BadRequest', `${refPath}: ${(e as Error).message}`);
    }
    const threshold = number('threshold');
    const contamination = number('contamination');
    const name = (values.name as string | undefined) ?? defaultName(onnxPath);
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
    if (values.out) {
      const dir = values.out as string;
      const files = encodePackage(pkg);
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, PACKAGE_FILES.model), files.onnx);
      await writeFile(path.join(dir, PACKAGE_FILES.manifest), files.manifest);
    }
    const v = await registerPackage(deps, pkg, {
      actor: (values.actor as string | undefined) ?? deps.actor ?? process.env.USER ?? 'cli',
      ...(values.reason !== undefined ? { reason: values.reason as string } : {}),
    });
    const m = pkg.manifest;
    const summary = {
      ...v,
      family: m.params.family,
      explains: m.params.explains,
      output: m.output,
      threshold: m.threshold,
      features: m.features,
    };
    out(
      `${
        values.json
          ? JSON.stringify(summary, null, 2)
          : `Registered ${v.name} version ${v.version} (${v.approval}): ${m.params.family ?? 'scored on onnxruntime-web only'}, ` +
            `score '${m.output.name}'${m.output.negate ? ' negated' : ''} >= ${m.threshold} is an anomaly, features ${m.features.join(', ')}`
      }\n`,
    );
    return 0;
  } catch (e) {
    err(`error: ${isVigilError(e) ? e.message : `unexpected failure: ${(e as Error).message}`}\n`);
    return 1;
  }
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
