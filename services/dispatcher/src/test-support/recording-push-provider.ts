import { Module } from '@nestjs/common';
import type { PushMessage } from '@push/contracts';
import type { AppConfig } from '@push/service-kit';
import { PUSH_PROVIDER, type PushProvider, type PushTarget, type SendResult } from '../providers/push-provider';

/** One call of `send` as the double saw it. */
export interface RecordedSend {
  app: AppConfig;
  message: PushMessage;
  targets: PushTarget[];
}

/**
 * A test double of the provider seam for the core's specs: it records every `send` and answers each target with
 * `answer(target)` (sent by default) after `delayMs`. The adapters and their fakes are tested on their own.
 */
export class RecordingPushProvider implements PushProvider {
  readonly sends: RecordedSend[] = [];
  answer: (target: PushTarget) => SendResult = () => ({ kind: 'sent', providerMessageId: null });
  delayMs = 0;
  /** When set, `send` rejects with it (an adapter's bug) after recording the call. */
  failWith: Error | null = null;

  async send(app: AppConfig, message: PushMessage, targets: readonly PushTarget[]): Promise<SendResult[]> {
    this.sends.push({ app, message, targets: [...targets] });
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    if (this.failWith) throw this.failWith;
    return targets.map((target) => this.answer(target));
  }

  async close(): Promise<void> {}

  /** Every device sent to, as `app_id/device_id`, once per send. */
  devicesSent(): string[] {
    return this.sends.flatMap((s) => s.targets.map((t) => `${t.appId}/${t.deviceId}`));
  }
}

/** The one double of a test file (one Nest application per file). */
export const recordingProvider = new RecordingPushProvider();

@Module({ providers: [{ provide: PUSH_PROVIDER, useValue: recordingProvider }], exports: [PUSH_PROVIDER] })
export class RecordingProviderModule {}
