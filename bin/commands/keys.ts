import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ApiKeySetSchema, generateApiKey } from '#core/auth.ts';
import { writeFileAtomic } from '../../local/files.ts';
import { parseCli, runCommand, UsageError } from './cli.ts';

export const KEYS_USAGE = `Usage: vigil keys create [--scope score|admin] [--local] [--data-dir .vigil]

Generates an API key. The key is printed once; only its SHA-256 is stored.

Options:
  --scope <score|admin>     what the key may do (default: score)
  --local                   add the record to the local twin's key file (<data-dir>/api-keys.json),
                            replaced atomically: the running twin sees the new key at once
  (default)                 print the record to add to the "keys" array of the Secrets Manager
                            secret (VIGIL_API_KEYS_SECRET); set "expiresAt" on the old record to
                            finish a rotation (README: "Revoking a key")
  --data-dir <dir>          the twin's state directory (default: .vigil)
  -h, --help                this text`;

/** `vigil keys create …`. Returns the exit code. */
export async function keysCommand(
  argv: string[],
  out: (text: string) => void = (t) => void process.stdout.write(t),
): Promise<number> {
  return runCommand(KEYS_USAGE, argv, () => keys(argv, out));
}

async function keys(argv: string[], out: (text: string) => void): Promise<number> {
  const { values, positionals } = parseCli(
    argv,
    { scope: { type: 'string', default: 'score' }, local: { type: 'boolean', default: false } },
    true,
  );
  if (positionals[0] !== 'create') {
    throw new UsageError(
      positionals[0] ? `unknown keys command '${positionals[0]}'` : 'say what to do: vigil keys create',
    );
  }
  if (values.scope !== 'score' && values.scope !== 'admin') {
    throw new UsageError(`--scope must be 'score' or 'admin', got '${values.scope}'`);
  }
  const { key, record } = generateApiKey(values.scope);
  if (values.local) {
    const file = path.resolve(values['data-dir'], 'api-keys.json');
    if (!existsSync(file)) {
      process.stderr.write(`no key file at ${file}: start the twin once (npm start) first\n`);
      return 1;
    }
    const set = ApiKeySetSchema.parse(JSON.parse(await readFile(file, 'utf8')));
    set.keys.push(record);
    // Atomic (temp + rename): the running twin reads this file per request.
    await writeFileAtomic(file, `${JSON.stringify(set, null, 2)}\n`);
    out(`${key}\n`);
    process.stderr.write(
      `added ${record.id} (${record.scope}) to ${file}; the key above is not stored anywhere\n`,
    );
    return 0;
  }
  out(`${JSON.stringify({ key, record }, null, 2)}\n`);
  process.stderr.write('store only "record" in the secret; give "key" to the client and do not keep it\n');
  return 0;
}
