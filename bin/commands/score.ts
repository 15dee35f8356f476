import { logger } from '#adapters/observability.ts';
import { readPackageDir } from '#app/package-dir.ts';
import { scoreRows } from '#app/score.ts';
import { PRODUCTION_ALIAS } from '#contracts';
import { scoreHttp } from '#handlers/score.ts';
import { parseCli, runCommand, UsageError } from './cli.ts';
import { NO_METRICS, readStdin, runOnBody, singlePackageCache } from './package-runner.ts';

export const SCORE_USAGE = `Usage: vigil score --model dir [options] < body.json

Scores a body like the API's ({"rows": [{"cpu": 95, ...}]}) with a package directory and
prints the API's JSON response; exit 0 on 200, 1 on an API error.

Options:
  --model <dir>             model package directory (required)
  --engine <fast|onnx>      tree fast path (default) or onnxruntime-web
  --data-dir <dir>          accepted like every command (score reads no twin state)
  -h, --help                this text`;

/** `vigil score …` (options in SCORE_USAGE). */
export async function scoreCommand(argv: string[]): Promise<number> {
  return runCommand(SCORE_USAGE, argv, async () => {
    const { values } = parseCli(argv, {
      model: { type: 'string' },
      engine: { type: 'string', default: 'fast' },
    });
    if (!values.model) throw new UsageError('--model <dir> is required');
    if (values.engine !== 'fast' && values.engine !== 'onnx') {
      throw new UsageError(`--engine must be 'fast' or 'onnx', got '${values.engine}'`);
    }
    const pkg = await readPackageDir(values.model);
    const core = scoreHttp(
      scoreRows({
        models: singlePackageCache(pkg, values.engine),
        captureSampleRate: 0,
        maxRows: 100_000,
        metrics: NO_METRICS,
        logger,
      }),
      { alias: PRODUCTION_ALIAS },
    );
    const res = await runOnBody(core, pkg.manifest.name, 'score', await readStdin());
    process.stdout.write(`${JSON.stringify(JSON.parse(res.body), null, 2)}\n`);
    return res.status === 200 ? 0 : 1;
  });
}
