import type { HANDLERS } from '#contracts';
import { handler as authorizer } from '#handlers/authorizer.ts';
import { handler as captureDrain } from '#handlers/capture-drain.ts';
import { handler as captures } from '#handlers/captures.ts';
import { handler as driftEvaluate } from '#handlers/drift-evaluate.ts';
import { handler as driftPlan } from '#handlers/drift-plan.ts';
import { handler as driftReduce } from '#handlers/drift-reduce.ts';
import { handler as driftReports } from '#handlers/drift-reports.ts';
import { handler as driftSummarize } from '#handlers/drift-summarize.ts';
import { handler as explain } from '#handlers/explain.ts';
import { handler as feedback } from '#handlers/feedback.ts';
import { handler as health } from '#handlers/health.ts';
import { handler as models } from '#handlers/models.ts';
import { handler as releaseAdvance } from '#handlers/release-advance.ts';
import { handler as releaseBegin } from '#handlers/release-begin.ts';
import { handler as releaseFinish } from '#handlers/release-finish.ts';
import { handler as releaseJudge } from '#handlers/release-judge.ts';
import { handler as releasePromote } from '#handlers/release-promote.ts';
import { handler as releaseRollback } from '#handlers/release-rollback.ts';
import { handler as releases } from '#handlers/releases.ts';
import { handler as retrainAcquireLock } from '#handlers/retrain-acquire-lock.ts';
import { handler as retrainEvaluate } from '#handlers/retrain-evaluate.ts';
import { handler as retrainGate } from '#handlers/retrain-gate.ts';
import { handler as retrainNotify } from '#handlers/retrain-notify.ts';
import { handler as retrainPrepareData } from '#handlers/retrain-prepare-data.ts';
import { handler as retrainRegister } from '#handlers/retrain-register.ts';
import { handler as retrainRequestApproval } from '#handlers/retrain-request-approval.ts';
import { handler as retrainSubmitJob } from '#handlers/retrain-submit-job.ts';
import { handler as retrainTrain } from '#handlers/retrain-train.ts';
import { handler as retrainValidateData } from '#handlers/retrain-validate-data.ts';
import { handler as score } from '#handlers/score.ts';
import { handler as scoreDeployHook } from '#handlers/score-deploy-hook.ts';
import { handler as seedDefaultModel } from '#handlers/seed-default-model.ts';

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
  captures,
  driftEvaluate,
  authorizer,
  health,
  seedDefaultModel,
  captureDrain,
  retrainAcquireLock,
  retrainPrepareData,
  retrainValidateData,
  retrainTrain,
  retrainEvaluate,
  retrainGate,
  retrainRegister,
  retrainNotify,
  retrainSubmitJob,
  retrainRequestApproval,
  driftPlan,
  driftSummarize,
  driftReduce,
  releases,
  releaseBegin,
  releaseJudge,
  releaseAdvance,
  releasePromote,
  releaseFinish,
  releaseRollback,
  feedback,
  scoreDeployHook,
};
