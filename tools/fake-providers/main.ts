// The fake push providers as a process, for the demo, the e2e suite and the benchmark:
//   npm run fake-providers -- [--dir .data/fake-providers] [--apns-port 8443] [--fcm-port 8444] [--web-push-port 8445]
//                             [--admin-port 8440] [--latency-ms 20] [--jitter-ms 5] [--reuse]
// Starts the fake APNs, FCM and Web Push on loopback, writes into --dir the CA (for NODE_EXTRA_CA_CERTS), the APNs
// .p8 key, the FCM service account and the VAPID keys the fakes trust, prints the apps file settings that send to them
// and serves the admin endpoint (see admin.ts). With --reuse, the files of an earlier run in --dir are used again, so
// an apps file written for it stays valid. Stops on SIGINT/SIGTERM.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import webpush from 'web-push';
import {
  ApnsProviderKey,
  ServiceAccountJson,
  TestCertificates,
  createTestCertificates,
  startFakeProviders,
} from '@push/fake-providers';
import { adminPort, startAdmin } from './admin';

const port = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port 0-65535');
  return n;
};
const nonNegative = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number ≥ 0');
  return n;
};

interface Options {
  dir: string;
  host: string;
  apnsPort: number;
  fcmPort: number;
  webPushPort: number;
  adminPort: number;
  latencyMs: number;
  jitterMs: number;
  keepLast: number;
  webPushDecryptEvery: number;
  topic: string;
  projectId: string;
  reuse: boolean;
}

const program = new Command('fake-providers')
  .description('Fake APNs, FCM (with its OAuth token endpoint) and Web Push on loopback, with an admin endpoint.')
  .option('--dir <path>', 'where the CA, keys and apps settings are written', '.data/fake-providers')
  .option('--host <host>', 'the address to listen on', '127.0.0.1')
  .option('--apns-port <port>', 'fake APNs (HTTP/2)', port, 8443)
  .option('--fcm-port <port>', 'fake FCM v1 API and OAuth token endpoint (HTTP/2 and HTTP/1.1)', port, 8444)
  .option('--web-push-port <port>', 'fake Web Push service (HTTPS)', port, 8445)
  .option('--admin-port <port>', 'admin endpoint (HTTP): counters, answers, latency, subscriptions', port, 8440)
  .option('--latency-ms <ms>', 'fixed latency of every answer', nonNegative, 0)
  .option('--jitter-ms <ms>', 'random extra latency, uniform 0…ms', nonNegative, 0)
  .option(
    '--web-push-decrypt-every <n>',
    'decrypt one web push in n (1: all; a benchmark may sample, the decryption costs the fake what encryption costs the sender)',
    (v) => Math.max(1, Math.floor(nonNegative(v))),
    1,
  )
  .option('--keep-last <n>', 'requests kept decoded per fake', (v) => Math.floor(nonNegative(v)), 1000)
  .option('--topic <bundle id>', 'the apns-topic the APNs key may push to', 'com.example.app')
  .option('--project-id <id>', 'the FCM project of the service account', 'demo-project')
  .option('--reuse', 'use the CA and keys an earlier run wrote in --dir', false);

async function main(options: Options): Promise<void> {
  const dir = resolve(options.dir);
  mkdirSync(dir, { recursive: true });
  const file = (name: string) => join(dir, name);
  const reuse = options.reuse && existsSync(file('state.json'));
  const state = reuse
    ? (JSON.parse(readFileSync(file('state.json'), 'utf8')) as {
        certificates: TestCertificates;
        apnsKey: ApnsProviderKey;
        serviceAccount: ServiceAccountJson;
        vapid: { publicKey: string; privateKey: string };
      })
    : null;

  const fakes = await startFakeProviders({
    host: options.host,
    ports: { apns: options.apnsPort, fcm: options.fcmPort, webPush: options.webPushPort },
    latency: { fixedMs: options.latencyMs, jitterMs: options.jitterMs },
    keepLast: options.keepLast,
    certificates: state?.certificates ?? createTestCertificates(),
  });
  fakes.webPush.decryptEvery = options.webPushDecryptEvery;
  let apnsKey: ApnsProviderKey;
  let serviceAccount: ServiceAccountJson;
  if (state) {
    apnsKey = state.apnsKey;
    serviceAccount = state.serviceAccount;
    fakes.apns.trustKey(apnsKey);
    fakes.fcm.trustServiceAccount(serviceAccount);
  } else {
    apnsKey = fakes.apns.providerKey([options.topic]);
    serviceAccount = fakes.fcm.serviceAccount(options.projectId);
  }
  const vapid = state?.vapid ?? webpush.generateVAPIDKeys();

  fakes.writeCa(file('ca.pem'));
  writeFileSync(file('apns-key.p8'), apnsKey.key, { mode: 0o600 });
  writeFileSync(file('fcm-service-account.json'), JSON.stringify(serviceAccount, null, 2), { mode: 0o600 });
  writeFileSync(
    file('state.json'),
    JSON.stringify({ certificates: fakes.certificates, apnsKey, serviceAccount, vapid }),
    { mode: 0o600 },
  );
  const apps = {
    apns: {
      team_id: apnsKey.teamId,
      key_id: apnsKey.keyId,
      key_file: file('apns-key.p8'),
      topic: apnsKey.topics[0],
      production: false,
      host: fakes.apns.host,
      port: fakes.apns.port,
    },
    fcm: {
      project_id: serviceAccount.project_id,
      service_account_file: file('fcm-service-account.json'),
      endpoint: fakes.fcm.origin,
    },
    webpush: {
      vapid_public_key: vapid.publicKey,
      vapid_private_key: vapid.privateKey,
      subject: 'mailto:ops@example.com',
    },
  };
  writeFileSync(file('apps-settings.json'), JSON.stringify(apps, null, 2), { mode: 0o600 });

  const admin = await startAdmin(fakes, apps, options.adminPort, options.host);
  const ready = {
    ready: true,
    caFile: file('ca.pem'),
    apns: fakes.apns.origin,
    fcm: fakes.fcm.origin,
    webPush: fakes.webPush.origin,
    admin: `http://${options.host}:${adminPort(admin)}`,
    appsSettings: file('apps-settings.json'),
  };
  process.stdout.write(
    [
      'fake providers listening:',
      `  APNs      ${ready.apns}   (POST /3/device/<token>)`,
      `  FCM       ${ready.fcm}   (POST /v1/projects/${serviceAccount.project_id}/messages:send, POST /token)`,
      `  Web Push  ${ready.webPush}   (subscriptions: POST ${ready.admin}/subscriptions)`,
      `  admin     ${ready.admin}   (GET /counters, PUT /answers/<apns|fcm|webPush>, PUT /latency, POST /reset)`,
      '',
      `Trust the CA in the sending process: NODE_EXTRA_CA_CERTS=${ready.caFile}`,
      `Apps file blocks (also in ${ready.appsSettings}; the VAPID private key is a secret of the fake's own):`,
      JSON.stringify(apps, null, 2),
      JSON.stringify(ready),
      '',
    ].join('\n'),
  );

  const stop = async () => {
    admin.close();
    await fakes.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

program.action((options: Options) =>
  main(options).catch((error) => {
    process.stderr.write(`fake-providers: ${(error as Error).message}\n`);
    process.exit(1);
  }),
);
void program.parseAsync();
