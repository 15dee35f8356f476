import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { runTrainingWorker } from '#app/retrain-job.ts';
import { retrainSteps } from '#runtime/retrain.ts';

/** `vigil retrain-worker`: the EKS training Job's command (see lambdas/app/retrain-job.ts). */
export async function retrainWorkerCommand(): Promise<number> {
  const sfn = new SFNClient({});
  return runTrainingWorker({
    train: (event, trainedOn) => retrainSteps().train(event, trainedOn),
    callback: {
      success: async (taskToken, output) => {
        await sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
      },
      failure: async (taskToken, error, cause) => {
        await sfn.send(new SendTaskFailureCommand({ taskToken, error, cause }));
      },
    },
    env: process.env,
  });
}
