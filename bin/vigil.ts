#!/usr/bin/env node
/**
 * The Vigil CLI: `vigil serve | train | score | explain | models | release | drift`.
 * `npm start` is `vigil serve`.
 */

// The SDK warns on Node < 22 (Lambda runs 22); the local machines run 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const VERSION = '0.1.0';

const USAGE = `Usage: vigil <command> [options]      (vigil <command> --help for its options)

Commands:
  serve     Run the local twin: the HTTP API on localhost with dynalite, the default model,
            drift evaluation on a timer. --aws: the same API on the real AWS adapters (EKS).
  train     Train an isolation forest on a CSV and write a model package.
  score     Score a JSON body with a package directory; print the API's response.
  explain   Explain a JSON body's scores (TreeSHAP) with a package directory.
  models    The model registry over the HTTP API (--url/VIGIL_URL, --api-key/VIGIL_API_KEY):
            list | versions | register | import | approve | reject | promote | rollback | history | …
  release   Model releases over the HTTP API: start <model> <version> [--policy …] | watch <model> | list <model>.
  drift     Compare two CSVs with the drift tests; exit 1 when drift.
  keys      Issue an API key (stored hashed).
  retrain         Start a retraining execution (retrain <model> [--data uri] [--params json]);
                  retrain list <model> shows executions, status and step.
  feedback        Label a prediction (feedback <requestId> --label anomaly|normal [--index n] [--model m]);
                  'models quality <model>' reports labelled precision/recall/AUC per version.
  retrain-worker  The EKS training Job's entry: trains on VIGIL_STEP_EVENT, answers VIGIL_TASK_TOKEN.

Every command takes --data-dir <dir> (default .vigil, or VIGIL_DATA_DIR) and --help.
  --version   print the version
`;

export const SERVE_USAGE = `Usage: vigil serve [options]

Runs the local twin (npm start): the v1 HTTP API on loopback over the same handlers Lambda
runs, DynamoDB as dynalite under --data-dir, the default model registered as production.

Options:
  --port <n>                port to listen on, 0 = any free one (default: $PORT or 3000)
  --host <addr>             address to bind (default: 127.0.0.1)
  --data-dir <dir>          state: database, artifacts, keys, logs (default: .vigil)
  --drift-every <duration>  drift evaluation interval, e.g. 30m, 1h, 0 = off (default: 1h)
  --aws                     the same API on the real AWS adapters, configured by VIGIL_* env
                            (the EKS streaming scorer); --data-dir is not used then
  -h, --help                this text`;

/** Parses durations like `60s`, `5m`, `1h`, `500ms` or plain milliseconds. */
export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s.trim());
  if (!m) throw new Error(`invalid duration '${s}' (use e.g. 60s, 5m, 1h)`);
  const n = Number(m[1]);
  return n * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 'ms'] as number);
}

async function serve(argv: string[]): Promise<number> {
  const { parseCli, intFlag, UsageError } = await import('./commands/cli.ts');
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${SERVE_USAGE}\n`);
    return 0;
  }
  let values: ReturnType<typeof parseServe>;
  const parseServe = () =>
    parseCli(argv, {
      port: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      'drift-every': { type: 'string', default: '1h' },
      aws: { type: 'boolean', default: false },
    });
  let port: number;
  let driftEveryMs: number;
  try {
    values = parseServe();
    port = intFlag(values.values.port ?? process.env.PORT ?? '3000', 'port', 0, 65_535) as number;
    try {
      driftEveryMs =
        values.values['drift-every'] === '0' ? 0 : parseDuration(values.values['drift-every'] ?? '1h');
    } catch (e) {
      throw new UsageError(`--drift-every: ${(e as Error).message}`);
    }
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`${e.message}\n\n${SERVE_USAGE}\n`);
    return 2;
  }
  const opts = values.values;
  const { startAwsServer, startTwin } = await import('../local/twin.ts');
  if (opts.aws) {
    const server = await startAwsServer({ port, host: opts.host });
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
    host: opts.host,
    dataDir: opts['data-dir'],
    driftEveryMs,
    retrainOnDrift: true,
  });
  const body = `'{"rows":[{"cpu":35,"memory":55,"network":420,"disk_io":95,"latency":28},{"cpu":97,"memory":98,"network":40,"disk_io":400,"latency":150}]}'`;
  process.stdout.write(
    [
      `Vigil local twin listening on ${twin.url}`,
      `  console: ${twin.url}/ (paste the admin key below when it asks)`,
      `  data: ${twin.dataDir} (DynamoDB via dynalite on ${twin.dynamo.endpoint}; EMF metrics in metrics.log)`,
      `  API keys: stored hashed in ${twin.dataDir}/api-keys.json; plain copies in ${twin.dataDir}/local-api-key`,
      `    (admin scope: the control plane and \`vigil models …\`) and ${twin.dataDir}/local-score-api-key (score scope)`,
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
    case 'retrain': {
      // `vigil retrain <model> …` starts a run; `vigil retrain list <model>` lists them.
      const cli = (await import('./commands/models-cli.ts')).modelsCli;
      return rest[0] === 'list' ? cli(['retraining', ...rest.slice(1)]) : cli(['retrain', ...rest]);
    }
    case 'feedback':
      return (await import('./commands/models-cli.ts')).modelsCli(['feedback', ...rest]);
    case 'release':
      return (await import('./commands/release-cli.ts')).releaseCli(rest);
    case 'keys':
      return (await import('./commands/keys.ts')).keysCommand(rest);
    case 'retrain-worker':
      return (await import('./commands/retrain-worker.ts')).retrainWorkerCommand();
    case 'version':
    case '--version':
    case '-v':
      process.stdout.write(`vigil ${VERSION}\n`);
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
    // Exit now: a half-started twin (a taken port) must not leave the process hanging.
    process.exit(1);
  },
);
