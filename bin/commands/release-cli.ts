import { parseArgs } from 'node:util';
import type { Judgement, ReleaseRecord } from '#core/release/types.ts';
import { RELEASE_POLICIES, TERMINAL_RELEASE_PHASES } from '#core/release/types.ts';
import { ApiError, client, UsageError } from './models-cli.ts';

/**
 * `vigil release …`: model releases over the HTTP API (issue 11), like `vigil models`: the same
 * commands drive the twin and a deployed stack (`--url`, `--api-key`).
 */
export const RELEASE_USAGE = `Usage:
  vigil release start <model> <version> [--policy ${RELEASE_POLICIES.join('|')}]
      Starts a release of <version> against production (admin key). 409 while another release
      of the model runs or during a code deployment of the score function.
  vigil release watch <model> [--interval <seconds>] [--once]
      Prints the model's newest release live: phase, weight on green, every judgement's readings,
      until it ends (exit 0 promoted, 1 rolled back or failed).
  vigil release list <model>
      Every release of the model, newest first.
  vigil release abort <model> [--reason <text>] [--release <id>] [--once]
      Rolls the model's running release back by hand (or --release <id>): its execution stopped,
      green out of live and retired, production untouched, recorded rolled-back with the reason.
      Also frees a release whose execution died. Waits until it is recorded (exit 0), unless --once.
Connection: --url <url> (env VIGIL_URL), --api-key <key> (env VIGIL_API_KEY), --data-dir <dir>, --json.`;

export interface ReleaseCliDeps {
  readonly env?: NodeJS.ProcessEnv;
  readonly fetch?: typeof fetch;
  readonly out?: (text: string) => void;
  readonly err?: (text: string) => void;
  /** @default setTimeout-based sleep */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Runs `vigil release …`. @returns 0 ok (promoted), 1 refused/rolled back/unreachable, 2 usage error */
export async function releaseCli(argv: string[], deps: ReleaseCliDeps = {}): Promise<number> {
  const env = deps.env ?? process.env;
  const out = deps.out ?? ((t: string) => void process.stdout.write(t));
  const err = deps.err ?? ((t: string) => void process.stderr.write(t));
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        url: { type: 'string' },
        'api-key': { type: 'string' },
        'data-dir': { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        policy: { type: 'string' },
        interval: { type: 'string' },
        once: { type: 'boolean', default: false },
        reason: { type: 'string' },
        release: { type: 'string' },
      },
    });
    const [cmd, model, version, ...extra] = positionals;
    if (values.help || cmd === undefined || cmd === 'help') {
      out(`${RELEASE_USAGE}\n`);
      return values.help || cmd === 'help' ? 0 : 2;
    }
    if (!model) throw new UsageError('missing <model>');
    if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
    const api = await client(values, env, deps.fetch ?? fetch);
    const path = `/v1/models/${encodeURIComponent(model)}/releases`;
    switch (cmd) {
      case 'start': {
        if (!version || !/^[1-9]\d{0,8}$/.test(version))
          throw new UsageError(`<version> must be a positive integer, got '${version ?? ''}'`);
        const policy = values.policy;
        if (policy !== undefined && !(RELEASE_POLICIES as readonly string[]).includes(policy))
          throw new UsageError(`--policy must be one of ${RELEASE_POLICIES.join(', ')}, got '${policy}'`);
        const r = (await api('POST', path, {
          version: Number(version),
          ...(policy ? { policy } : {}),
        })) as ReleaseRecord;
        out(
          values.json
            ? `${JSON.stringify(r, null, 2)}\n`
            : `Release ${r.releaseId} of ${r.model}: v${r.candidateVersion} against production v${r.baselineVersion} (${r.policy}), ${r.phase}.\n` +
                `Watch it: vigil release watch ${r.model}\n`,
        );
        return 0;
      }
      case 'list': {
        if (version) throw new UsageError(`unexpected argument '${version}'`);
        const r = (await api('GET', path)) as { releases: ReleaseRecord[] };
        out(
          values.json
            ? `${JSON.stringify(r, null, 2)}\n`
            : `${r.releases.map(summary).join('\n') || 'No releases.'}\n`,
        );
        return 0;
      }
      case 'watch': {
        if (version) throw new UsageError(`unexpected argument '${version}'`);
        const interval = values.interval === undefined ? 2 : Number(values.interval);
        if (!(interval > 0 && interval <= 600)) throw new UsageError('--interval must be 0 < seconds ≤ 600');
        let printed = 0;
        let header = '';
        for (;;) {
          const r = ((await api('GET', `${path}?limit=1`)) as { releases: ReleaseRecord[] }).releases[0];
          if (!r) {
            out(`No releases of ${model}.\n`);
            return 1;
          }
          const h = summary(r);
          if (h !== header) {
            out(`${h}\n`);
            header = h;
          }
          for (const j of r.judgements.slice(printed))
            out(`${values.json ? JSON.stringify(j) : describeJudgement(j)}\n`);
          printed = r.judgements.length;
          if (TERMINAL_RELEASE_PHASES.includes(r.phase)) {
            out(`${r.phase}: ${r.outcome?.reason ?? ''}\n`);
            return r.phase === 'promoted' ? 0 : 1;
          }
          if (values.once) return 0;
          await sleep(interval * 1000);
        }
      }
      case 'abort': {
        if (version) throw new UsageError(`unexpected argument '${version}'`);
        let id = values.release;
        if (!id) {
          const r = ((await api('GET', `${path}?limit=1`)) as { releases: ReleaseRecord[] }).releases[0];
          if (!r || TERMINAL_RELEASE_PHASES.includes(r.phase)) {
            err(
              `No release of ${model} is running${r ? ` (the newest, ${r.releaseId}, ended ${r.phase})` : ''}.\n`,
            );
            return 1;
          }
          id = r.releaseId;
        }
        const started = (await api('POST', `${path}/${encodeURIComponent(id)}/abort`, {
          ...(values.reason ? { reason: values.reason } : {}),
        })) as { release: ReleaseRecord; abortExecutionArn: string };
        out(
          values.json
            ? `${JSON.stringify(started, null, 2)}\n`
            : `Aborting release ${id} of ${model} (${started.abortExecutionArn}).\n`,
        );
        if (values.once) return 0;
        for (let i = 0; i < 300; i++) {
          const list = ((await api('GET', path)) as { releases: ReleaseRecord[] }).releases;
          const r = list.find((x) => x.releaseId === id);
          if (r && TERMINAL_RELEASE_PHASES.includes(r.phase)) {
            out(`${r.phase}: ${r.outcome?.reason ?? ''}\n`);
            return r.phase === 'rolled-back' ? 0 : 1;
          }
          await sleep(1000);
        }
        err(`Release ${id} is not recorded as ended yet; check it with: vigil release watch ${model}\n`);
        return 1;
      }
      default:
        throw new UsageError(`unknown command '${cmd}'`);
    }
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      err(`error: ${(e as Error).message}\n\n${RELEASE_USAGE}\n`);
      return 2;
    }
    if (e instanceof ApiError) {
      err(`error: ${e.message} (HTTP ${e.status} ${e.code})\n`);
      return 1;
    }
    err(`error: ${(e as Error).message}\n`);
    return 1;
  }
}

const pct = (w: number) => `${Math.round(w * 1000) / 10} %`;

function summary(r: ReleaseRecord): string {
  return `${r.releaseId}  ${r.model} v${r.baselineVersion} -> v${r.candidateVersion}  ${r.policy}  ${r.phase}  green ${pct(r.weight)}  step ${r.step}  started ${r.startedAt} by ${r.startedBy}`;
}

/** One line per judgement: where, the decision, the readings that matter, any breach. */
export function describeJudgement(j: Judgement): string {
  const parts = [`  [${j.at}] ${j.phase} step ${j.step} @ ${pct(j.weight)}: ${j.decision.toUpperCase()}`];
  const v = (name: string, r: Judgement['blue']) =>
    r
      ? `${name} n=${r.invocations} err=${r.errors} 5xx=${r.serverErrors} 503=${r.dependencyErrors} p99=${r.p99DurationMs ?? '-'}ms anomalies=${r.anomalies}/${r.rowsScored}`
      : undefined;
  for (const s of [v('blue', j.blue), v('green', j.green)]) if (s) parts.push(`    ${s}`);
  if (j.anomalyRate) {
    const a = j.anomalyRate;
    parts.push(
      `    anomaly rate green ${a.green.toFixed(4)} vs blue ${a.blue.toFixed(4)} (ratio ${a.ratio.toFixed(2)}, expected ${(a.expectedRatio ?? 1).toFixed(2)}, z ${a.z.toFixed(2)}, p ${a.pValue.toExponential(2)})`,
    );
  }
  if (j.scoreKs)
    parts.push(
      `    score KS D ${j.scoreKs.d.toFixed(3)} (expected ${(j.scoreKs.expectedD ?? 0).toFixed(3)}, limit ${j.scoreKs.limitD?.toFixed(3) ?? '-'}) p ${j.scoreKs.pValue.toExponential(2)} (n ${j.scoreKs.nBlue}/${j.scoreKs.nGreen})`,
    );
  if (j.shadow) {
    const s = j.shadow;
    parts.push(
      `    shadow rows ${s.rows} disagreement ${s.disagreement.toFixed(4)} spearman ${s.rankCorrelation.toFixed(3)} rate ratio ${s.anomalyRateRatio.toFixed(2)}`,
    );
  }
  for (const b of j.breaches)
    parts.push(`    BREACH ${b.signal}: ${b.value} (limit ${b.limit})${b.detail ? ` — ${b.detail}` : ''}`);
  return parts.join('\n');
}
