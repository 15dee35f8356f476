import { releaseSteps } from '#runtime/release.ts';

/** Step Functions task `Begin` of the release state machine (issue 11; see lambdas/app/release.ts). */
export const handler = (event: unknown) => releaseSteps().begin(event);
