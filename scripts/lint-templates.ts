/**
 * `npm run lint:templates`: runs `cfn-lint` over every template `npm run synth` wrote to
 * `cdk.out/<env>`, where cfn-lint is installed (it is a Python tool: not a dependency of Vigil,
 * and not packaged by Debian 12; `pip install cfn-lint` adds it). Without it this prints that it
 * skipped and exits 0, so a clone without Python still passes `npm test`.
 *
 * Known false positives are filtered here, each with its reason; anything else fails.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENV_NAMES } from '../lib/config.ts';
import { REPO_ROOT } from '../lib/constructs/model-function.ts';

import { type LintFinding, unexpectedFindings } from './cfn-lint-filter.ts';

const main = (): number => {
  if (spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' }).status !== 0) {
    console.log('lint:templates: cfn-lint is not installed here, skipped (pip install cfn-lint to run it).');
    return 0;
  }
  const files = ENV_NAMES.flatMap((env) => {
    const dir = join(REPO_ROOT, 'cdk.out', env);
    if (!existsSync(dir)) throw new Error(`lint:templates: ${dir} is missing; run npm run synth first`);
    return readdirSync(dir)
      .filter((f) => f.endsWith('.template.json'))
      .map((f) => join(dir, f));
  });
  const result = spawnSync('cfn-lint', ['--format', 'json', '--', ...files], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status === null || !result.stdout.trim().startsWith('[')) {
    console.error(`lint:templates: cfn-lint failed to run:\n${result.stderr}`);
    return 1;
  }
  const findings = JSON.parse(result.stdout) as LintFinding[];
  const templates = new Map<string, Record<string, { Type: string }>>();
  const typeOf = (file: string, id: string) => {
    if (!templates.has(file)) templates.set(file, JSON.parse(readFileSync(file, 'utf8')).Resources);
    return templates.get(file)?.[id]?.Type;
  };
  const unexpected = unexpectedFindings(findings, typeOf);
  for (const f of unexpected) {
    console.error(`${f.Rule.Id} ${f.Level} ${f.Filename} ${f.Location.Path.join('/')}: ${f.Message}`);
  }
  console.log(
    `lint:templates: cfn-lint over ${files.length} templates: ${findings.length} findings, ` +
      `${findings.length - unexpected.length} known false positives, ${unexpected.length} unexpected.`,
  );
  return unexpected.length === 0 ? 0 : 1;
};

process.exit(main());
