import { retrainSteps } from '#runtime/retrain.ts';

/** Step Functions task `train` of the retraining state machine (DESIGN.md §8; see lambdas/app/retrain.ts). */
export const handler = (event: unknown) => retrainSteps().train(event);
