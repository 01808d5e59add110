import { writeFileSync } from 'node:fs';
import { FakeApns } from './apns';
import { LatencySettings } from './answers';
import { TestCertificates, createTestCertificates } from './certificates';
import { FakeFcm } from './fcm';
import { FakeWebPush } from './web-push';

export * from './answers';
export * from './apns';
export * from './certificates';
export * from './fcm';
export * from './web-push';
export { decodeJwt } from './jwt';

export interface FakeProvidersOptions {
  /** Ports of the three fakes (default: free ports). */
  ports?: { apns?: number; fcm?: number; webPush?: number };
  host?: string;
  /** Latency of every answer of the three (default none). */
  latency?: Partial<LatencySettings>;
  /** Requests kept decoded per fake (default 1000). */
  keepLast?: number;
  /** Reuse these certificates (default: a new CA and server certificate). */
  certificates?: TestCertificates;
}

export interface FakeProviders {
  certificates: TestCertificates;
  apns: FakeApns;
  fcm: FakeFcm;
  webPush: FakeWebPush;
  /** Writes the CA certificate to `path`, for `NODE_EXTRA_CA_CERTS` of a process that sends to the fakes. */
  writeCa(path: string): void;
  close(): Promise<void>;
}

/** Starts the three fakes on loopback with one throwaway CA. */
export async function startFakeProviders(options: FakeProvidersOptions = {}): Promise<FakeProviders> {
  const certificates = options.certificates ?? createTestCertificates();
  const listen = (port?: number) => ({ host: options.host, port, keepLast: options.keepLast });
  const apns = new FakeApns(certificates, listen(options.ports?.apns));
  const fcm = new FakeFcm(certificates, listen(options.ports?.fcm));
  const webPush = new FakeWebPush(certificates, listen(options.ports?.webPush));
  try {
    await Promise.all([apns.start(), fcm.start(), webPush.start()]);
  } catch (error) {
    await Promise.all([apns.close(), fcm.close(), webPush.close()]);
    throw error;
  }
  if (options.latency) for (const fake of [apns, fcm, webPush]) fake.answers.setLatency(options.latency);
  return {
    certificates,
    apns,
    fcm,
    webPush,
    writeCa: (path) => writeFileSync(path, certificates.ca),
    close: async () => {
      await Promise.all([apns.close(), fcm.close(), webPush.close()]);
    },
  };
}
export * from './firebase-admin-redirect';
