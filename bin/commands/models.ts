import { parseArgs } from 'node:util';
import { registerPackage } from '#app/models.ts';
import { readPackageDir } from '#app/package-dir.ts';
import { PRODUCTION_ALIAS } from '#contracts';
import { isVigilError } from '#core/errors.ts';
import type { ArtifactStore } from '#core/ports.ts';
import type { AliasMove, HistoryEvent, ModelRegistry } from '#core/registry/types.ts';

/** What the models command needs; `bin/vigil.ts` wires the local or AWS adapters. */
export interface ModelsCommandDeps {
  readonly registry: ModelRegistry;
  readonly store: ArtifactStore;
  /** @default process.stdout */
  readonly out?: (text: string) => void;
  /** @default process.stderr */
  readonly err?: (text: string) => void;
  /** Recorded on history events. @default `--actor`, else $USER, else 'cli' */
  readonly actor?: string;
}

export const MODELS_USAGE = `Usage: vigil models <command> [options]

  list                                      models, latest version, aliases
  versions <model>                          versions with approval and aliases
  register --package <dir> [--name <n>]     register a package (model.onnx + manifest.json)
  approve <model> <version> [--reason <r>]  PendingManualApproval -> Approved
  reject <model> <version> [--reason <r>]   PendingManualApproval -> Rejected
  promote <model> --version <N> [--alias production]
  rollback <model> [--alias production] [--to <N>]
  history <model> [--alias <a>]

Options: --json (machine-readable output), --reason <text>, --actor <name>
Exit codes: 0 ok, 1 refused by the registry (message says why), 2 usage error.`;

/** A usage mistake: exit code 2 with the usage text. */
class UsageError extends Error {}

/**
 * `vigil models …`. `argv` is what follows `models`.
 * @returns the process exit code: 0 ok, 1 refused/failed, 2 usage error.
 * @example await modelsCommand(['promote', 'default', '--version', '2'], { registry, store })
 */
export async function modelsCommand(argv: string[], deps: ModelsCommandDeps): Promise<number> {
  const out = deps.out ?? ((t: string) => void process.stdout.write(t));
  const err = deps.err ?? ((t: string) => void process.stderr.write(t));
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        package: { type: 'string' },
        name: { type: 'string' },
        reason: { type: 'string' },
        actor: { type: 'string' },
        alias: { type: 'string' },
        version: { type: 'string' },
        to: { type: 'string' },
      },
    });
    const [command, ...args] = positionals;
    if (values.help || command === undefined || command === 'help') {
      out(`${MODELS_USAGE}\n`);
      return command === undefined && !values.help ? 2 : 0;
    }
    const ctx = {
      actor: values.actor ?? deps.actor ?? process.env.USER ?? 'cli',
      ...(values.reason !== undefined ? { reason: values.reason } : {}),
    };
    const { registry } = deps;
    const print = (data: unknown, text: () => string) =>
      out(`${values.json ? JSON.stringify(data, null, 2) : text()}\n`);
    const model = () => arg(args, 0, '<model>');

    switch (command) {
      case 'list': {
        noExtra(args, 0);
        const models = await registry.listModels();
        print(models, () =>
          models.length === 0
            ? 'No models registered.'
            : table(
                ['MODEL', 'LATEST', 'ALIASES', 'CREATED'],
                models.map((m) => [m.name, String(m.latestVersion), aliasList(m.aliases), m.createdAt]),
              ),
        );
        return 0;
      }
      case 'versions': {
        const name = model();
        noExtra(args, 1);
        const [versions, aliases] = await Promise.all([
          registry.listVersions(name),
          registry.listAliases(name),
        ]);
        const by = new Map<number, string[]>();
        for (const a of aliases) by.set(a.version, [...(by.get(a.version) ?? []), a.alias]);
        print({ model: name, aliases, versions }, () =>
          table(
            ['VERSION', 'APPROVAL', 'ALIASES', 'REGISTERED', 'BY', 'SHA256', 'URI'],
            versions.map((v) => [
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
      case 'register': {
        noExtra(args, 0);
        if (!values.package) throw new UsageError('register needs --package <dir>');
        const v = await registerPackage(deps, await readPackageDir(values.package), {
          ...ctx,
          ...(values.name !== undefined ? { name: values.name } : {}),
        });
        print(v, () => `Registered ${v.name} version ${v.version} (${v.approval}) at ${v.artifactUri}`);
        return 0;
      }
      case 'approve':
      case 'reject': {
        const name = model();
        const version = versionArg(arg(args, 1, '<version>'));
        noExtra(args, 2);
        const v =
          command === 'approve'
            ? await registry.approve(name, version, ctx)
            : await registry.reject(name, version, ctx);
        print(v, () => `${v.name} version ${v.version} is now ${v.approval}`);
        return 0;
      }
      case 'promote': {
        const name = model();
        noExtra(args, 1);
        if (values.version === undefined) throw new UsageError('promote needs --version <N>');
        const alias = values.alias ?? PRODUCTION_ALIAS;
        const move = await registry.setAlias(name, alias, versionArg(values.version), ctx);
        print(move, () => describeMove(name, move));
        return 0;
      }
      case 'rollback': {
        const name = model();
        noExtra(args, 1);
        const move = await registry.rollback(name, values.alias ?? PRODUCTION_ALIAS, {
          ...ctx,
          ...(values.to !== undefined ? { to: versionArg(values.to) } : {}),
        });
        print(move, () => describeMove(name, move));
        return 0;
      }
      case 'history': {
        const name = model();
        noExtra(args, 1);
        const all = await registry.history(name);
        const events = values.alias ? all.filter((e) => e.alias === values.alias) : all;
        print({ model: name, events }, () =>
          table(
            ['AT', 'EVENT', 'ACTOR', 'WHAT', 'REASON'],
            events.map((e) => [e.at, e.type, e.actor, describeEvent(e), e.reason ?? '']),
          ),
        );
        return 0;
      }
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      err(`error: ${(e as Error).message}\n\n${MODELS_USAGE}\n`);
      return 2;
    }
    if (isVigilError(e)) {
      err(`error: ${e.message}\n`);
      return 1;
    }
    err(`error: unexpected failure: ${(e as Error).message}\n`);
    return 1;
  }
}

function arg(args: string[], i: number, what: string): string {
  const v = args[i];
  if (v === undefined) throw new UsageError(`missing ${what}`);
  return v;
}

function noExtra(args: string[], n: number): void {
  if (args.length > n) throw new UsageError(`unexpected argument '${args[n]}'`);
}

function versionArg(s: string): number {
  if (!/^[1-9]\d{0,8}$/.test(s)) throw new UsageError(`version must be a positive integer, got '${s}'`);
  return Number(s);
}

function aliasList(aliases: Readonly<Record<string, number>>): string {
  return Object.entries(aliases)
    .map(([a, v]) => `${a}=${v}`)
    .join(',');
}

function describeMove(model: string, m: AliasMove): string {
  const { alias, version, revision } = m.state;
  if (!m.changed) return `${model} ${alias} already points at version ${version} (revision ${revision})`;
  const from = m.event?.from === undefined ? '(unset)' : `version ${m.event.from}`;
  const verb = m.event?.type === 'rolled-back' ? 'rolled back' : 'moved';
  return `${model} ${alias} ${verb}: ${from} -> version ${version} (revision ${revision})`;
}

function describeEvent(e: HistoryEvent): string {
  if (e.alias !== undefined) return `${e.alias}: ${e.from ?? '-'} -> ${e.to}`;
  return e.version === undefined ? '' : `version ${e.version}`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
