import type { Credential } from 'firebase-admin/app';
import type { PushMessage } from '@push/contracts';
import { Provider } from '@push/providers';
import type { AppConfig } from '@push/service-kit';
import { AppLane, PlatformSender, ProviderClosedError, WarnLogger } from './app-lane';
import { ApnsSender } from './apns-sender';
import { FcmSender } from './fcm-sender';
import { ProviderMetrics } from './provider-metrics';
import { ProviderSettings } from './provider-settings';
import type { PushProvider, PushTarget, SendResult } from './push-provider';
import { WebPushEncryption, webPushEncryption } from './web-push-encryption';
import { WebPushSender } from './web-push-sender';

export interface RoutingPushProviderOptions {
  settings: ProviderSettings;
  metrics: ProviderMetrics;
  logger: WarnLogger;
  /** A CA to trust besides Node's, for the three providers (tests; a process uses NODE_EXTRA_CA_CERTS). */
  ca?: string;
  /** The FCM credential of an app (tests); default its service account file or Google's application default. */
  fcmCredential?: (app: AppConfig) => Credential | undefined;
  /** The Web Push encryption (tests: a pool whose worker crashes); default from `webPushEncryptionThreads`. */
  webPushEncryption?: () => WebPushEncryption;
  now?: () => number;
}

const PROVIDER_OF = { ios: 'APNS', android: 'FCM', web: 'WEB_PUSH' } as const satisfies Record<string, Provider>;

const keyOf = (app: AppConfig) => `${app.workspace_id}\u0000${app.app_id}`;

/** The file or block a lane is made from, to name in a configuration error. */
const settingsFileOf = (app: AppConfig) =>
  app.platform === 'ios'
    ? `key_file ${app.apns?.key_file}`
    : app.platform === 'android'
      ? `service_account_file ${app.fcm?.service_account_file ?? '(application default)'}`
      : 'webpush';

/**
 * The dispatcher's `PushProvider`: one lane per app (its provider client, concurrency, rate limit, retries and
 * pause), chosen by the app's platform — APNs for ios, FCM for android, Web Push for web. A lane is made on the app's
 * first send; one that cannot be made (an unreadable key file, a bad key) fails the app's devices as CONFIGURATION,
 * logged once, and is tried again after the pause.
 */
export class RoutingPushProvider implements PushProvider {
  private readonly lanes = new Map<string, AppLane<unknown>>();
  private readonly broken = new Map<string, { reason: string; until: number }>();
  private closed = false;
  /** The process's Web Push encryption, shared by its web apps; made with the first web lane (none without one). */
  private encryption: WebPushEncryption | null = null;
  private readonly now: () => number;

  constructor(private readonly options: RoutingPushProviderOptions) {
    this.now = options.now ?? Date.now;
  }

  async send(app: AppConfig, message: PushMessage, targets: readonly PushTarget[]): Promise<SendResult[]> {
    if (this.closed) throw new ProviderClosedError();
    if (targets.length === 0) return [];
    const lane = this.laneOf(app);
    if (typeof lane === 'string') {
      const provider = PROVIDER_OF[app.platform];
      return targets.map(() => {
        const result: SendResult = { kind: 'failed', category: 'CONFIGURATION', reason: lane };
        this.options.metrics.result(provider, result);
        return result;
      });
    }
    return lane.send(message, targets);
  }

  /**
   * Makes the lanes of these apps now (reading their key files and credentials; no connection yet), so that an app
   * whose settings cannot be used is reported when the service starts rather than at its first dispatch.
   */
  warmUp(apps: readonly AppConfig[]): void {
    for (const app of apps) this.laneOf(app);
  }

  /** The app's lane, or why it cannot have one. */
  private laneOf(app: AppConfig): AppLane<unknown> | string {
    const key = keyOf(app);
    const lane = this.lanes.get(key);
    if (lane) return lane;
    const broken = this.broken.get(key);
    if (broken && broken.until > this.now()) return broken.reason;
    try {
      const created = new AppLane(
        app,
        this.senderOf(app),
        this.laneSettings(app),
        this.options.metrics,
        this.options.logger,
        this.now,
      );
      this.lanes.set(key, created);
      this.broken.delete(key);
      return created;
    } catch (error) {
      // Not the error's message: a parse error of a key or service account file may quote the file's content.
      const code = (error as NodeJS.ErrnoException).code;
      const reason = `cannot use the app's ${PROVIDER_OF[app.platform]} settings (${settingsFileOf(app)}): ${code ?? (error as Error).name}`;
      this.broken.set(key, { reason, until: this.now() + this.options.settings.pauseMs });
      this.options.metrics.paused(PROVIDER_OF[app.platform], app.workspace_id, app.app_id);
      this.options.logger.warn(
        { provider: PROVIDER_OF[app.platform], workspace_id: app.workspace_id, app_id: app.app_id, reason },
        "configuration error: the app's provider client cannot be made, its sends fail as CONFIGURATION",
      );
      return reason;
    }
  }

  private senderOf(app: AppConfig): PlatformSender<unknown> {
    const { settings, ca } = this.options;
    switch (app.platform) {
      case 'ios':
        return new ApnsSender(app, {
          connections: settings.apnsConnections,
          requestTimeoutMs: settings.requestTimeoutMs,
          ca,
          now: this.now,
        }) as PlatformSender<unknown>;
      case 'android':
        return new FcmSender(app, {
          sessions: settings.fcmSessions,
          requestTimeoutMs: settings.requestTimeoutMs,
          ca,
          credential: this.options.fcmCredential?.(app),
        }) as PlatformSender<unknown>;
      case 'web':
        return new WebPushSender(app, {
          concurrency: settings.webPushConcurrency,
          requestTimeoutMs: settings.requestTimeoutMs,
          vapidValidityS: settings.vapidValidityS,
          encryption: this.webPushEncryption(),
          ca,
          now: this.now,
        }) as PlatformSender<unknown>;
      default: {
        const never: never = app.platform;
        throw new Error(`unknown platform ${String(never)}`);
      }
    }
  }

  private webPushEncryption(): WebPushEncryption {
    this.encryption ??=
      this.options.webPushEncryption?.() ??
      webPushEncryption(this.options.settings.webPushEncryptionThreads, this.options.logger);
    return this.encryption;
  }

  private laneSettings(app: AppConfig) {
    const s = this.options.settings;
    const concurrency =
      app.platform === 'ios' ? s.apnsConcurrency : app.platform === 'android' ? s.fcmConcurrency : s.webPushConcurrency;
    return {
      concurrency,
      ratePerMinute: s.ratePerMinute,
      pauseMs: s.pauseMs,
      maxAttempts: s.maxAttempts,
      retryBaseMs: s.retryBaseMs,
      retryMaxMs: s.retryMaxMs,
      burstWindow: s.burstWindow,
      burstMinCount: s.burstMinCount,
      burstShare: s.burstShare,
    };
  }

  /** The reason an app's provider is paused, or null (tests, health). */
  pausedBy(app: AppConfig): string | null {
    return this.lanes.get(keyOf(app))?.pausedBy() ?? this.broken.get(keyOf(app))?.reason ?? null;
  }

  /** Closes the lanes, then the Web Push encryption: the pushes still waiting for it reject (ProviderClosedError). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.lanes.values()].map((lane) => lane.close()));
    this.lanes.clear();
    await this.encryption?.close();
    this.encryption = null;
  }
}
