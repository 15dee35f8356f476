import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PRODUCTION_ALIAS } from '#contracts';
import { PACKAGE_FILES } from '#core/model/package-io.ts';
import { zipFiles } from '#core/model/package-zip.ts';
import type { HistoryEvent, ModelSummary, ModelVersion } from '#core/registry/types.ts';
import { buildImport, describeImport, IMPORT_OPTIONS, IMPORT_USAGE } from './models-import.ts';

/**
 * `vigil models …`: a client of the control-plane API (DESIGN.md §5). Every
 * command is an HTTP request to `--url` (default: the local twin) with
 * `--api-key`, so the same commands drive the twin and a deployed stack; the
 * CLI never opens a registry table or artifact store itself.
 */

/** The twin's default address (`npm start`). */
export const DEFAULT_URL = 'http://127.0.0.1:3000';

/** Zips above this go through a staged upload instead of the request body (API limit ~4 MB). */
export const DIRECT_UPLOAD_MAX_BYTES = 4 * 1024 * 1024;

const COMMON = `Connection (every command):
  --url <url>         API base URL (env VIGIL_URL; default ${DEFAULT_URL}, the local twin)
  --api-key <key>     API key (env VIGIL_API_KEY; default for a loopback URL: <data-dir>/local-api-key,
                      the admin key the twin creates on first start)
  --data-dir <dir>    the twin's data directory (env VIGIL_DATA_DIR; default .vigil)
  --json              print the API's JSON answer
Reads need any key; changes need an admin-scoped key (403 Forbidden otherwise).
The twin bootstraps its default model on first start straight into its own store; that is the only
path that bypasses this API, and it is not a CLI command.
Exit codes: 0 ok, 1 refused by the API or unreachable (message says why), 2 usage error.`;

const HELP: Record<string, string> = {
  list: 'vigil models list\n  Models, their latest version and aliases.',
  versions: 'vigil models versions <model>\n  Versions with approval state, aliases and their revisions.',
  register: `vigil models register --package <dir> [--name <model>] [--reason <text>] [--force] [--upload]
  Zips <dir> (model.onnx + manifest.json) and registers it (PendingManualApproval).
  --name     register under this model name (default: the manifest's)
  --force    register a new version even if the same package is registered already
  --upload   always use a staged upload (automatic above ${DIRECT_UPLOAD_MAX_BYTES} bytes)`,
  import: IMPORT_USAGE,
  approve: 'vigil models approve <model> <version> --reason <text>\n  PendingManualApproval -> Approved.',
  reject: 'vigil models reject <model> <version> --reason <text>\n  PendingManualApproval -> Rejected.',
  promote: `vigil models promote <model> --version <N> [--alias production] [--expected-revision <R>] [--reason <text>]
  Points the alias at version N (production takes only Approved versions). Without
  --expected-revision the current revision is read first; a concurrent change answers 409.`,
  rollback: `vigil models rollback <model> --reason <text> [--alias production] [--to <N>] [--expected-revision <R>]
  Without --to: undoes the alias' last move (a rollback is a move too, so rolling back twice
  is a redo; after delete-alias it restores the alias). With --to N: points the alias at N,
  an Approved version this alias served before.`,
  history: `vigil models history <model> [--alias <a>] [--at <ISO time>]
  The append-only history; with --at, also which version the alias (default production) served then.`,
  retrain: `vigil models retrain <model> [--data <uri>] [--params <json>] [--seed <n>]   (also: vigil retrain <model>)
  Starts a retraining execution (admin): on the captured window, or on --data (s3://… CSV or Parquet; a path on
  the twin). --params overrides production's training params, e.g. '{"nEstimators":200}'.
  Prints the execution ARN; follow it with 'vigil models retraining <model>'.`,
  retraining: `vigil models retraining <model> [<execution>]   (also: vigil retrain list <model>)
  The model's recent retraining executions: status and the step each is in (or ended in).
  With an execution name (from that list): its steps in order, each with outcome, times, retries and error.`,
  feedback: `vigil models feedback <requestId> --label anomaly|normal [--index <n>] [--model <m>] [--version <N>]   (also: vigil feedback …)
  Labels row <n> (default 0) of a scored request (any key). The model and version come from the
  request's captures; a request sampling did not capture needs --model (and --version if known).
  The same label again changes nothing; another label is recorded as a change, the old one kept.`,
  quality: `vigil models quality <model> [--window 7d]
  Labelled precision, recall, ROC AUC, average precision and label counts per version, over the
  predictions of the window (30m, 24h, 7d … at most 90d).`,
  'delete-alias': `vigil models delete-alias <model> --alias <a> [--expected-revision <R>] [--reason <text>]
  Removes the alias (it stops serving); rollback restores it.`,
};

export const MODELS_USAGE = `Usage: vigil models <command> [options]   (vigil models <command> --help for details)

  list                                          models, latest version, aliases
  versions <model>                              versions with approval and aliases
  register --package <dir> [--name <n>]         register a package (model.onnx + manifest.json)
  import --onnx <f> --reference <csv> [...]     build a package for a brought ONNX model and register it
  approve <model> <version> --reason <r>        PendingManualApproval -> Approved
  reject <model> <version> --reason <r>         PendingManualApproval -> Rejected
  promote <model> --version <N> [--alias production] [--expected-revision <R>]
  rollback <model> --reason <r> [--alias production] [--to <N>]
  history <model> [--alias <a>] [--at <ISO time>]
  delete-alias <model> --alias <a>
  retrain <model> [--data <uri>] [--params <json>] [--seed <n>]   start a retraining execution
  retraining <model> [<execution>]              retraining executions, status and step; one's steps
  feedback <requestId> --label anomaly|normal [--index <n>] [--model <m>]   label a prediction
  quality <model> [--window 7d]                 labelled precision/recall/AUC per version

${COMMON}`;

/** A usage mistake: exit code 2, the message names the flag. */
export class UsageError extends Error {}

/** An answer of the API other than 2xx. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** What the command needs from its surroundings (tests pass their own). */
export interface ModelsCliDeps {
  readonly env?: NodeJS.ProcessEnv;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  readonly out?: (text: string) => void;
  readonly err?: (text: string) => void;
}

/**
 * Runs `vigil models …` (`argv` is what follows `models`).
 * @returns the exit code: 0 ok, 1 refused/unreachable, 2 usage error.
 */
export async function modelsCli(argv: string[], deps: ModelsCliDeps = {}): Promise<number> {
  const env = deps.env ?? process.env;
  const out = deps.out ?? ((t: string) => void process.stdout.write(t));
  const err = deps.err ?? ((t: string) => void process.stderr.write(t));
  const doFetch = deps.fetch ?? fetch;
  let command: string | undefined;
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
        package: { type: 'string' },
        name: { type: 'string' },
        reason: { type: 'string' },
        alias: { type: 'string' },
        version: { type: 'string' },
        to: { type: 'string' },
        at: { type: 'string' },
        'expected-revision': { type: 'string' },
        force: { type: 'boolean', default: false },
        upload: { type: 'boolean', default: false },
        data: { type: 'string' },
        params: { type: 'string' },
        seed: { type: 'string' },
        label: { type: 'string' },
        index: { type: 'string' },
        model: { type: 'string' },
        window: { type: 'string' },
        ...IMPORT_OPTIONS,
      },
    });
    const [cmd, ...args] = positionals;
    command = cmd;
    if (cmd === undefined || cmd === 'help') {
      out(`${MODELS_USAGE}\n`);
      return values.help || cmd === 'help' ? 0 : 2;
    }
    if (!(cmd in HELP)) throw new UsageError(`unknown command '${cmd}'`);
    if (values.help) {
      out(`${HELP[cmd]}\n\n${COMMON}\n`);
      return 0;
    }
    const api = await client(values, env, doFetch);
    const print = (data: unknown, text: () => string) =>
      out(`${values.json ? JSON.stringify(data, null, 2) : text()}\n`);
    const model = () => encodeURIComponent(positional(args, 0, '<model>'));
    const reason = (required: boolean): Record<string, string> => {
      if (values.reason === undefined && required) throw new UsageError(`${cmd} needs --reason <text>`);
      return values.reason === undefined ? {} : { reason: values.reason };
    };
    const alias = encodeURIComponent(values.alias ?? PRODUCTION_ALIAS);

    switch (cmd) {
      case 'list': {
        noExtra(args, 0);
        const r = (await api('GET', '/v1/models')) as { models: ModelSummary[] };
        print(r, () =>
          r.models.length === 0
            ? 'No models registered.'
            : table(
                ['MODEL', 'LATEST', 'ALIASES', 'CREATED'],
                r.models.map((m) => [m.name, String(m.latestVersion), aliasList(m.aliases), m.createdAt]),
              ),
        );
        return 0;
      }
      case 'versions': {
        const m = model();
        noExtra(args, 1);
        const r = (await api('GET', `/v1/models/${m}/versions`)) as Described;
        const by = new Map<number, string[]>();
        for (const [a, v] of Object.entries(r.aliases))
          by.set(v, [...(by.get(v) ?? []), `${a}@r${r.revisions[a]}`]);
        print(r, () =>
          table(
            ['VERSION', 'APPROVAL', 'ALIASES', 'REGISTERED', 'BY', 'SHA256', 'URI'],
            r.versions.map((v) => [
              String(v.version),
              v.approval,
              (by.get(v.version) ?? []).join(','),
              v.registeredAt,
              v.registeredBy,
              v.sha256.slice(0, 12),
              v.artifactUri,
            ]),
          ),
        );
        return 0;
      }
      case 'register':
      case 'import': {
        noExtra(args, 0);
        let files: { manifest: Uint8Array; onnx: Uint8Array };
        let name: string;
        let built = '';
        if (cmd === 'import') {
          const imported = await buildImport(values);
          ({ files, name } = imported);
          built = `: ${describeImport(imported.pkg)}`;
        } else {
          if (!values.package) throw new UsageError('register needs --package <dir>');
          files = await readPackageFiles(values.package);
          name = values.name ?? manifestName(files.manifest, values.package);
        }
        const zip = zipFiles(files);
        const m = encodeURIComponent(name);
        let r: { created: boolean; version: ModelVersion };
        if (values.upload || zip.length > DIRECT_UPLOAD_MAX_BYTES) {
          const ticket = (await api('POST', `/v1/models/${m}/uploads`, {})) as {
            uploadUrl: string;
            headers: Record<string, string>;
            uri: string;
          };
          const put = await doFetch(ticket.uploadUrl, { method: 'PUT', headers: ticket.headers, body: zip });
          if (!put.ok) throw new ApiError(put.status, 'UploadFailed', `upload failed: ${await put.text()}`);
          r = (await api('POST', `/v1/models/${m}/versions`, {
            uri: ticket.uri,
            ...reason(false),
            ...(values.force ? { force: true } : {}),
          })) as typeof r;
        } else {
          const q = new URLSearchParams({
            ...reason(false),
            ...(values.force ? { force: 'true' } : {}),
          }).toString();
          r = (await api('POST', `/v1/models/${m}/versions${q ? `?${q}` : ''}`, zip)) as typeof r;
        }
        const v = r.version;
        print(r, () =>
          r.created
            ? `Registered ${v.name} version ${v.version} (${v.approval}) at ${v.artifactUri}${built}`
            : `Already registered: ${v.name} version ${v.version} (${v.approval}) has the same package (--force registers a new version)`,
        );
        return 0;
      }
      case 'approve':
      case 'reject': {
        const m = model();
        const version = versionFlag(positional(args, 1, '<version>'), '<version>');
        noExtra(args, 2);
        const v = (await api(
          'POST',
          `/v1/models/${m}/versions/${version}/${cmd}`,
          reason(true),
        )) as ModelVersion;
        print(v, () => `${v.name} version ${v.version} is now ${v.approval}`);
        return 0;
      }
      case 'retrain': {
        const m = model();
        noExtra(args, 1);
        let params: unknown;
        if (values.params !== undefined) {
          try {
            params = JSON.parse(values.params);
          } catch {
            throw new UsageError(
              `--params must be JSON such as '{"nEstimators":200}', got '${values.params}'`,
            );
          }
        }
        if (values.seed !== undefined && !/^\d{1,10}$/.test(values.seed))
          throw new UsageError(`--seed must be a non-negative integer, got '${values.seed}'`);
        const r = (await api('POST', `/v1/models/${m}/retrain`, {
          ...(values.data !== undefined ? { data: values.data } : {}),
          ...(params !== undefined ? { params } : {}),
          ...(values.seed !== undefined ? { seed: Number(values.seed) } : {}),
        })) as { executionArn: string; startDate: string };
        print(r, () => `Started retraining of ${decodeURIComponent(m)}: ${r.executionArn}`);
        return 0;
      }
      case 'retraining': {
        const m = model();
        noExtra(args, 2);
        if (args[1] !== undefined) {
          const r = (await api('GET', `/v1/models/${m}/retraining/${encodeURIComponent(args[1])}`)) as {
            name: string;
            status: string;
            error?: string;
            cause?: string;
            historyTruncated: boolean;
            steps: {
              name: string;
              type: string;
              outcome: string;
              enteredAt: string;
              exitedAt?: string;
              retries: number;
              error?: string;
              next?: string;
            }[];
          };
          print(r, () =>
            [
              `${r.name}: ${r.status}${r.error ? ` (${r.error}${r.cause ? `: ${r.cause}` : ''})` : ''}`,
              table(
                ['STEP', 'TYPE', 'OUTCOME', 'ENTERED', 'EXITED', 'RETRIES', 'ERROR'],
                r.steps.map((s) => [
                  s.name,
                  s.type,
                  s.outcome === 'caught' && s.next ? `caught -> ${s.next}` : s.outcome,
                  s.enteredAt,
                  s.exitedAt ?? '',
                  String(s.retries),
                  s.error ?? '',
                ]),
              ),
              ...(r.historyTruncated ? ['(history cut: only its first events were read)'] : []),
            ].join('\n'),
          );
          return 0;
        }
        const r = (await api('GET', `/v1/models/${m}/retraining`)) as {
          executions: {
            name: string;
            status: string;
            step?: string;
            trigger?: string;
            startDate: string;
            error?: string;
          }[];
        };
        print(r, () =>
          r.executions.length === 0
            ? 'No retraining executions.'
            : table(
                ['EXECUTION', 'STATUS', 'STEP', 'TRIGGER', 'STARTED', 'ERROR'],
                r.executions.map((e) => [
                  e.name,
                  e.status,
                  e.step ?? '',
                  e.trigger ?? '',
                  e.startDate,
                  e.error ?? '',
                ]),
              ),
        );
        return 0;
      }
      case 'feedback': {
        const requestId = positional(args, 0, '<requestId>');
        noExtra(args, 1);
        if (values.label !== 'anomaly' && values.label !== 'normal')
          throw new UsageError(`feedback needs --label anomaly or --label normal`);
        if (values.index !== undefined && !/^\d{1,5}$/.test(values.index))
          throw new UsageError(`--index must be a row number from 0, got '${values.index}'`);
        const r = (await api('POST', '/v1/feedback', {
          requestId,
          label: values.label,
          ...(values.index !== undefined ? { index: Number(values.index) } : {}),
          ...(values.model !== undefined ? { model: values.model } : {}),
          ...(values.version !== undefined ? { version: versionFlag(values.version, '--version') } : {}),
        })) as {
          outcome: string;
          model: string;
          version?: number;
          index: number;
          label: string;
          capture: string;
          previous?: string;
        };
        const what = `${r.model}${r.version !== undefined ? ` v${r.version}` : ''} ${requestId}#${r.index}`;
        print(r, () =>
          r.outcome === 'created'
            ? `Labelled ${what} ${r.label} (${r.capture})`
            : r.outcome === 'changed'
              ? `Changed the label of ${what}: ${r.previous} -> ${r.label} (${r.capture})`
              : `Already labelled ${what} ${r.label}: nothing changed`,
        );
        return 0;
      }
      case 'quality': {
        const m = model();
        noExtra(args, 1);
        const q = values.window !== undefined ? `?window=${encodeURIComponent(values.window)}` : '';
        type Row = {
          version: number | null;
          labels: number;
          anomalies: number;
          captured: number;
          precision: number | null;
          recall: number | null;
          rocAuc: number | null;
          averagePrecision: number | null;
        };
        const r = (await api('GET', `/v1/models/${m}/quality${q}`)) as {
          from: string;
          to: string;
          labels: number;
          versions: Row[];
        };
        const f = (v: number | null) => (v === null ? '-' : v.toFixed(4));
        print(r, () =>
          r.versions.length === 0
            ? `No labels for predictions from ${r.from} to ${r.to}.`
            : table(
                [
                  'VERSION',
                  'LABELS',
                  'ANOMALIES',
                  'CAPTURED',
                  'PRECISION',
                  'RECALL',
                  'ROC_AUC',
                  'AVG_PRECISION',
                ],
                r.versions.map((v) => [
                  v.version === null ? '?' : String(v.version),
                  String(v.labels),
                  String(v.anomalies),
                  String(v.captured),
                  f(v.precision),
                  f(v.recall),
                  f(v.rocAuc),
                  f(v.averagePrecision),
                ]),
              ),
        );
        return 0;
      }
      case 'promote': {
        const m = model();
        noExtra(args, 1);
        if (values.version === undefined) throw new UsageError('promote needs --version <N>');
        const version = versionFlag(values.version, '--version');
        const expectedRevision =
          values['expected-revision'] !== undefined
            ? revisionFlag(values['expected-revision'])
            : (((await api('GET', `/v1/models/${m}/versions`)) as Described).revisions[
                decodeURIComponent(alias)
              ] ?? 0);
        const r = (await api('PUT', `/v1/models/${m}/aliases/${alias}`, {
          version,
          expectedRevision,
          ...reason(false),
        })) as Move;
        print(r, () => describeMove(r));
        return 0;
      }
      case 'rollback': {
        const m = model();
        noExtra(args, 1);
        const r = (await api('POST', `/v1/models/${m}/aliases/${alias}/rollback`, {
          ...reason(true),
          ...(values.to !== undefined ? { to: versionFlag(values.to, '--to') } : {}),
          ...(values['expected-revision'] !== undefined
            ? { expectedRevision: revisionFlag(values['expected-revision']) }
            : {}),
        })) as Move;
        print(r, () => describeMove(r));
        return 0;
      }
      case 'delete-alias': {
        const m = model();
        noExtra(args, 1);
        if (values.alias === undefined) throw new UsageError('delete-alias needs --alias <a>');
        const q = new URLSearchParams({
          ...reason(false),
          ...(values['expected-revision'] !== undefined
            ? { expectedRevision: String(revisionFlag(values['expected-revision'])) }
            : {}),
        }).toString();
        const r = (await api('DELETE', `/v1/models/${m}/aliases/${alias}${q ? `?${q}` : ''}`)) as Move;
        print(r, () => describeMove(r));
        return 0;
      }
      case 'history': {
        const m = model();
        noExtra(args, 1);
        if (values.at !== undefined && Number.isNaN(Date.parse(values.at)))
          throw new UsageError(`--at must be an ISO time such as 2025-01-31T12:00:00Z, got '${values.at}'`);
        const q = new URLSearchParams({
          ...(values.alias !== undefined ? { alias: values.alias } : {}),
          ...(values.at !== undefined ? { at: new Date(values.at).toISOString() } : {}),
        }).toString();
        const r = (await api('GET', `/v1/models/${m}/history${q ? `?${q}` : ''}`)) as {
          events: HistoryEvent[];
          alias?: string;
          at?: string;
          version?: number | null;
        };
        print(r, () => {
          const rows = table(
            ['AT', 'EVENT', 'ACTOR', 'WHAT', 'REASON'],
            r.events.map((e) => [e.at, e.type, e.actor, describeEvent(e), e.reason ?? '']),
          );
          if (r.at === undefined) return rows;
          const served = r.version === null ? 'nothing (unset)' : `version ${r.version}`;
          return `${r.alias} served ${served} at ${r.at}\n\n${rows}`;
        });
        return 0;
      }
      default:
        throw new UsageError(`unknown command '${cmd}'`);
    }
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      const help = command && command in HELP ? HELP[command] : MODELS_USAGE;
      err(`error: ${(e as Error).message}\n\n${help}\n`);
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

type Described = {
  model: string;
  aliases: Record<string, number>;
  revisions: Record<string, number>;
  versions: ModelVersion[];
};
type Move = {
  model: string;
  alias: string;
  version?: number;
  revision: number;
  changed: boolean;
  event?: HistoryEvent;
};

/** Builds the request function: base URL and key resolved once, errors turned into ApiError (also `vigil release`). */
export async function client(
  values: { url?: string; 'api-key'?: string; 'data-dir'?: string },
  env: NodeJS.ProcessEnv,
  doFetch: typeof fetch,
) {
  const base = (values.url ?? env.VIGIL_URL ?? DEFAULT_URL).replace(/\/+$/, '');
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new UsageError(`--url must be an http(s) URL, got '${base}'`);
  }
  let key = values['api-key'] ?? env.VIGIL_API_KEY;
  const keyFile = path.resolve(values['data-dir'] ?? env.VIGIL_DATA_DIR ?? '.vigil', 'local-api-key');
  // The local key file is only ever sent to a loopback address, never to a remote stack.
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (key === undefined && loopback && existsSync(keyFile)) key = (await readFile(keyFile, 'utf8')).trim();
  if (key === undefined) {
    throw new UsageError(
      loopback
        ? `no API key: pass --api-key or set VIGIL_API_KEY (no key file at ${keyFile}; start the twin with npm start)`
        : `no API key for ${base}: pass --api-key or set VIGIL_API_KEY`,
    );
  }
  return async (method: string, route: string, body?: unknown): Promise<unknown> => {
    const binary = body instanceof Uint8Array;
    let res: Response;
    try {
      res = await doFetch(`${base}${route}`, {
        method,
        headers: {
          'x-api-key': key,
          ...(body === undefined ? {} : { 'content-type': binary ? 'application/zip' : 'application/json' }),
        },
        ...(body === undefined ? {} : { body: binary ? body : JSON.stringify(body) }),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
      throw new Error(
        `cannot reach ${base} (${cause}); is the twin running (npm start), or pass --url / set VIGIL_URL`,
      );
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const e = (parsed as { error?: { code?: string; message?: string; details?: Record<string, unknown> } })
        ?.error;
      throw new ApiError(res.status, e?.code ?? 'Error', e?.message ?? (text || res.statusText), e?.details);
    }
    return parsed;
  };
}

async function readPackageFiles(dir: string): Promise<{ manifest: Uint8Array; onnx: Uint8Array }> {
  const read = async (file: string, flag: string) => {
    try {
      return new Uint8Array(await readFile(path.join(dir, file)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR')
        throw new UsageError(`${flag} '${dir}' has no ${file}`);
      throw e;
    }
  };
  return {
    manifest: await read(PACKAGE_FILES.manifest, '--package'),
    onnx: await read(PACKAGE_FILES.model, '--package'),
  };
}

function manifestName(manifest: Uint8Array, dir: string): string {
  try {
    const name = (JSON.parse(new TextDecoder().decode(manifest)) as { name?: unknown }).name;
    if (typeof name === 'string' && name !== '') return name;
  } catch {
    // Reported below: the server validates the manifest in full.
  }
  throw new UsageError(`--package '${dir}': manifest.json has no name; pass --name <model>`);
}

function positional(args: string[], i: number, what: string): string {
  const v = args[i];
  if (v === undefined) throw new UsageError(`missing ${what}`);
  return v;
}

function noExtra(args: string[], n: number): void {
  if (args.length > n) throw new UsageError(`unexpected argument '${args[n]}'`);
}

function versionFlag(s: string, flag: string): number {
  if (!/^[1-9]\d{0,8}$/.test(s)) throw new UsageError(`${flag} must be a positive integer, got '${s}'`);
  return Number(s);
}

function revisionFlag(s: string): number {
  if (!/^(0|[1-9]\d{0,8})$/.test(s))
    throw new UsageError(`--expected-revision must be a non-negative integer, got '${s}'`);
  return Number(s);
}

function aliasList(aliases: Readonly<Record<string, number>>): string {
  return Object.entries(aliases)
    .map(([a, v]) => `${a}=${v}`)
    .join(',');
}

function describeMove(m: Move): string {
  if (!m.changed)
    return `${m.model} ${m.alias} already points at version ${m.version} (revision ${m.revision})`;
  const from = m.event?.from === undefined ? '(unset)' : `version ${m.event.from}`;
  if (m.event?.type === 'alias-deleted')
    return `${m.model} ${m.alias} deleted (was ${from}, revision ${m.revision})`;
  const verb = m.event?.type === 'rolled-back' ? 'rolled back' : 'moved';
  return `${m.model} ${m.alias} ${verb}: ${from} -> version ${m.version} (revision ${m.revision})`;
}

function describeEvent(e: HistoryEvent): string {
  if (e.alias !== undefined) return `${e.alias}: ${e.from ?? '-'} -> ${e.to ?? '(deleted)'}`;
  return e.version === undefined ? '' : `version ${e.version}`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
