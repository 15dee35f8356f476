import type { HANDLERS } from '#contracts';
import { handler as authorizer } from '#handlers/authorizer.ts';
import { handler as driftEvaluate } from '#handlers/drift-evaluate.ts';
import { handler as driftReports } from '#handlers/drift-reports.ts';
import { handler as explain } from '#handlers/explain.ts';
import { handler as health } from '#handlers/health.ts';
import { handler as models } from '#handlers/models.ts';
import { handler as score } from '#handlers/score.ts';

/**
 * Every Lambda entry point, imported statically so the container bundle
 * (esbuild) contains them. Keys are `HANDLERS`' keys; a test checks they match.
 * Each handler builds its adapters lazily on first call, so importing is cheap.
 */
export const HANDLER_MODULES: Record<keyof typeof HANDLERS, unknown> = {
  score,
  explain,
  models,
  driftReports,
  driftEvaluate,
  authorizer,
  health,
};
