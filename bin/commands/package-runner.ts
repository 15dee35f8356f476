import type { MetricsSink } from '#core/ports.ts';

/** The CLI prints the API's answer on stdout; EMF lines there would corrupt it, and nobody collects them. */
export const NO_METRICS: MetricsSink = { emit: () => undefined };

/** The cores of `vigil score` / `vigil explain`, which print exactly what the HTTP API would. */
export { singlePackageCache } from '#app/serve.ts';
export { runOnBody } from '../../local/run-on-body.ts';

/** Reads all of stdin as text. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
