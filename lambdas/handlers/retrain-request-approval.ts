import { retrainSteps } from '#runtime/retrain.ts';

/** Step Functions task `WaitForApproval` (`waitForTaskToken`) of the retraining state machine (see lambdas/app/retrain.ts). */
export const handler = (event: unknown) => retrainSteps().requestApproval(event);
