#!/usr/bin/env node
/**
 * The Vigil CLI: `vigil serve | train | score | explain | models | drift`.
 * `npm start` is `vigil serve`.
 */
import { parseArgs } from 'node:util';

// The SDK warns on Node < 22 (Lambda runs 22); the local machines run 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const USAGE = `Usage: vigil <command> [options]

Commands:
  serve     [--port 3000] [--host 127.0.0.1] [--data-dir .vigil] [--drift-every 1h]
            Run the local twin: the HTTP API on localhost with dynalite, the default model,
            drift evaluation on a timer.
  serve --aws [--port 8080] [--host 0.0.0.0]
            The same API on the real AWS adapters, configured by VIGIL_* env (EKS scorer).
  train     --data metrics.csv --out dir [--features a,b,c] [--label col] [--name n]
  score     --model dir [--engine fast|onnx] < body.json     Print the API's JSON response.
  explain   --model dir [--svg out.svg] < body.json          Print an explanation table.
  models    list | versions | register | approve | reject | promote | rollback | history
  drift     --reference ref.csv --current cur.csv [--json]   Exit 1 when drift.
  keys      create [--scope score|admin] [--local]           Issue an API key (stored hashed).
  retrain-worker    The EKS training Job's entry: trains on VIGIL_STEP_EVENT, answers VIGIL_TASK_TOKEN.
`;

/** Parses durations like `60s`, `5m`, `1h`, `500ms` or plain milliseconds. */
export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s.trim());
  if (!m) throw new Error(`invalid duration '${s}' (use e.g. 60s, 5m, 1h)`);
  const n = Number(m[1]);
  return n * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 'ms'] as number);
}

async function serve(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      'data-dir': { type: 'string', default: '.vigil' },
      'drift-every': { type: 'string', default: '1h' },
      aws: { type: 'boolean', default: false },
    },
  });
  const { startAwsServer, startTwin } = await import('../local/twin.ts');
  const port = Number(values.port ?? process.env.PORT ?? 3000);
  if (values.aws) {
    const server = await startAwsServer({ port, host: values.host });
    process.stdout.write(`Vigil API (AWS adapters) listening on ${server.url}\n`);
    const stopAws = async () => {
      await server.close();
      process.exit(0);
    };
    process.once('SIGINT', stopAws);
    process.once('SIGTERM', stopAws);
    return new Promise<number>(() => undefined);
  }
  const twin = await startTwin({
    port,
    host: values.host,
    dataDir: values['data-dir'],
    driftEveryMs: parseDuration(values['drift-every'] ?? '1h'),
    retrainOnDrift: true,
  });
  const body = `'{"rows":[{"cpu":35,"memory":55,"network":420,"disk_io":95,"latency":28},{"cpu":97,"memory":98,"network":40,"disk_io":400,"latency":150}]}'`;
  process.stdout.write(
    [
      `Vigil local twin listening on ${twin.url}`,
      `  data: ${twin.dataDir} (DynamoDB via dynalite on ${twin.dynamo.endpoint}; EMF metrics in metrics.log)`,
      `  API key: stored hashed in ${twin.dataDir}/api-keys.json; plain copy in ${twin.dataDir}/local-api-key`,
      '',
      'Try:',
      `  curl -s -X POST ${twin.url}/v1/models/default/score -H 'content-type: application/json' \\`,
      `    -H "x-api-key: $(cat ${twin.dataDir}/local-api-key)" -d ${body}`,
      '',
    ].join('\n'),
  );
  const stop = async () => {
    await twin.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return new Promise<number>(() => undefined);
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'serve':
      return serve(rest);
    case 'train':
      return (await import('./commands/train.ts')).trainCommand(rest);
    case 'score':
      return (await import('./commands/score.ts')).scoreCommand(rest);
    case 'explain':
      return (await import('./commands/explain.ts')).explainCommand(rest);
    case 'drift':
      return (await import('./commands/drift.ts')).driftCommand(rest);
    case 'models':
      return (await import('./commands/models-cli.ts')).modelsCli(rest);
    case 'keys':
      return (await import('./commands/keys.ts')).keysCommand(rest);
    case 'retrain-worker':
      return (await import('./commands/retrain-worker.ts')).retrainWorkerCommand();
    case 'version':
      process.stdout.write('vigil 0.1.0\n');
      return 0;
    case undefined:
    case '-h':
    case '--help':
      process.stdout.write(USAGE);
      return cmd ? 0 : 2;
    default:
      process.stderr.write(`unknown command '${cmd}'\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`vigil: ${(e as Error).message}\n`);
    process.exitCode = 1;
  },
);
