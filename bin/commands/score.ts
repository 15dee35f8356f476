import { parseArgs } from 'node:util';
import { logger } from '#adapters/observability.ts';
import { readPackageDir } from '#app/package-dir.ts';
import { scoreRows } from '#app/score.ts';
import { PRODUCTION_ALIAS } from '#contracts';
import { scoreHttp } from '#handlers/score.ts';
import { NO_METRICS, readStdin, runOnBody, singlePackageCache } from './package-runner.ts';

/**
 * `vigil score --model dir [--engine fast|onnx] < body.json`: prints the
 * API's JSON response for the body; exit 0 on 200, 1 on an API error.
 */
export async function scoreCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { model: { type: 'string' }, engine: { type: 'string', default: 'fast' } },
  });
  if (!values.model || (values.engine !== 'fast' && values.engine !== 'onnx')) {
    process.stderr.write('usage: vigil score --model dir [--engine fast|onnx] < body.json\n');
    return 2;
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
}
