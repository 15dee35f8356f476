import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { Notifier } from '#core/retrain/ports.ts';

/** SNS subjects are at most 100 printable ASCII characters. */
const subjectFor = (s: string) =>
  s
    .replace(/[^\x20-\x7e]/g, '?')
    .slice(0, 100)
    .trim() || 'Vigil';

/** Notifications on an SNS topic: the subject line and the body as pretty JSON. */
export class SnsNotifier implements Notifier {
  constructor(
    private readonly client: Pick<SNSClient, 'send'>,
    private readonly topicArn: string,
  ) {}

  async notify(m: { subject: string; body: Record<string, unknown> }): Promise<void> {
    await this.client.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Subject: subjectFor(m.subject),
        // SNS limits a message to 256 KB; the body carries summaries, never data.
        Message: JSON.stringify(m.body, null, 2),
      }),
    );
  }
}

/** The local twin's topic: one JSON line per notification, `{ time, subject, body }`. */
export class FileNotifier implements Notifier {
  constructor(
    private readonly file: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async notify(m: { subject: string; body: Record<string, unknown> }): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    await appendFile(this.file, `${JSON.stringify({ time: this.now().toISOString(), ...m })}\n`, 'utf8');
  }
}

/** Keeps notifications in memory (tests, and when nothing is configured: logged by `onNotify`). */
export class MemoryNotifier implements Notifier {
  readonly messages: { subject: string; body: Record<string, unknown> }[] = [];
  constructor(private readonly onNotify?: (m: { subject: string; body: Record<string, unknown> }) => void) {}

  async notify(m: { subject: string; body: Record<string, unknown> }): Promise<void> {
    this.messages.push(m);
    this.onNotify?.(m);
  }
}
