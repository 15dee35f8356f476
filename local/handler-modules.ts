import type { HANDLERS } from '../lambdas/contracts.ts';
import { handler as authorizer } from '../lambdas/handlers/authorizer.ts';
import { handler as driftEvaluate } from '../lambdas/handlers/drift-evaluate.ts';
import { handler as driftReports } from '../lambdas/handlers/drift-reports.ts';
import { handler as explain } from '../lambdas/handlers/explain.ts';
import { handler as health } from '../lambdas/handlers/health.ts';
import { handler as models } from '../lambdas/handlers/models.ts';
import { handler as score } from '../lambdas/handlers/score.ts';

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
