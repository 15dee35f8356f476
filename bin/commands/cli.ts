import { type ParseArgsConfig, parseArgs } from 'node:util';

/** A mistake on the command line: printed as one sentence plus the usage, exit code 2. */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Options every command takes: `--help`, and `--data-dir` (the twin's state directory). */
export const COMMON_OPTIONS = {
  help: { type: 'boolean', short: 'h', default: false },
  'data-dir': { type: 'string', default: process.env.VIGIL_DATA_DIR ?? '.vigil' },
} as const satisfies Options;

/**
 * `parseArgs` with the common options and errors that name the flag: Node's own messages
 * ("Unknown option '--tres'") are kept, anything else is rephrased as a UsageError.
 */
export function parseCli<O extends Options>(argv: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({
      args: argv,
      options: { ...COMMON_OPTIONS, ...options },
      allowPositionals,
      strict: true,
    });
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
}

/** A flag's value as an integer in [min, max], or a UsageError naming the flag. */
export function intFlag(
  value: string | undefined,
  flag: string,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value.trim()) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`--${flag} must be an integer from ${min} to ${max}, got '${value}'`);
  }
  return Number(value);
}

/** A comma-separated list flag (`--features a,b`), trimmed, empty entries refused. */
export function listFlag(value: string | undefined, flag: string): string[] | undefined {
  if (value === undefined) return undefined;
  const items = value.split(',').map((s) => s.trim());
  if (items.length === 0 || items.some((s) => s === '')) {
    throw new UsageError(`--${flag} takes a comma-separated list of column names, got '${value}'`);
  }
  return items;
}

/**
 * Runs a command body, printing `--help` and turning a UsageError into its sentence plus the
 * usage on stderr (exit 2). Other errors propagate (the entry point prints them, exit 1).
 */
export async function runCommand(
  usage: string,
  argv: string[],
  body: () => Promise<number>,
  io: { out: (s: string) => void; err: (s: string) => void } = {
    out: (s) => void process.stdout.write(s),
    err: (s) => void process.stderr.write(s),
  },
): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(`${usage.trimEnd()}\n`);
    return 0;
  }
  try {
    return await body();
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`${e.message}\n\n${usage.trimEnd()}\n`);
      return 2;
    }
    throw e;
  }
}
