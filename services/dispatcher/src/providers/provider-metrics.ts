import { Counter, Registry } from 'prom-client';
import type { Provider } from '@push/providers';
import type { SendResult } from './push-provider';

/** What a device's result is counted as. */
export function outcomeOf(result: SendResult): string {
  return result.kind === 'failed' ? `failed_${result.category.toLowerCase()}` : result.kind;
}

/** The adapters' metrics: results by provider and outcome, retries, and the pauses configuration errors cause. */
export class ProviderMetrics {
  private readonly sends: Counter<'provider' | 'outcome'>;
  private readonly retries: Counter<'provider'>;
  private readonly pauses: Counter<'provider' | 'workspace_id' | 'app_id'>;

  constructor(registry: Registry) {
    this.sends = new Counter({
      name: 'dispatcher_provider_sends_total',
      help: 'Devices sent to by the provider adapters, by provider and outcome (sent, bounced, failed_retry_exhausted, failed_configuration, failed_payload)',
      labelNames: ['provider', 'outcome'],
      registers: [registry],
    });
    this.retries = new Counter({
      name: 'dispatcher_provider_retries_total',
      help: 'Requests sent again after a retryable answer (429, 5xx, timeout, connection error), by provider',
      labelNames: ['provider'],
      registers: [registry],
    });
    this.pauses = new Counter({
      name: 'dispatcher_provider_pauses_total',
      help: "An app's provider paused after a configuration error (once per burst, not per device)",
      labelNames: ['provider', 'workspace_id', 'app_id'],
      registers: [registry],
    });
    for (const provider of ['FCM', 'APNS', 'WEB_PUSH']) {
      this.retries.inc({ provider }, 0);
      for (const outcome of ['sent', 'bounced', 'failed_retry_exhausted', 'failed_configuration', 'failed_payload'])
        this.sends.inc({ provider, outcome }, 0);
    }
  }

  result(provider: Provider, result: SendResult): void {
    this.sends.inc({ provider, outcome: outcomeOf(result) });
  }

  retry(provider: Provider): void {
    this.retries.inc({ provider });
  }

  paused(provider: Provider, workspaceId: string, appId: string): void {
    this.pauses.inc({ provider, workspace_id: workspaceId, app_id: appId });
  }
}
