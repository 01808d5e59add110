import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { Module, Provider } from '@nestjs/common';
import { z } from 'zod';
import { SERVICE_CONFIG } from '../tokens';
import { ConfigError, ServiceConfig } from './load-config';

/**
 * The apps file (`APPS_CONFIG`, DESIGN §6): the apps of every workspace, their platform, the automatic push opt-in
 * switch (S3) and the provider settings the dispatcher sends with. Values are never echoed in an error (the file holds
 * the VAPID private key): a problem names the field's path and what was expected.
 */

export type AppPlatform = 'ios' | 'android' | 'web';

export interface ApnsSettings {
  team_id: string;
  key_id: string;
  /** Absolute: a relative path in the file is resolved against the apps file's folder. */
  key_file: string;
  topic: string;
  production: boolean;
  host: string | null;
  port: number | null;
}

export interface FcmSettings {
  project_id: string;
  /** Absolute when given: a relative path in the file is resolved against the apps file's folder. */
  service_account_file: string | null;
  endpoint: string | null;
}

export interface WebPushSettings {
  vapid_public_key: string;
  vapid_private_key: string;
  subject: string;
}

export interface AppConfig {
  workspace_id: string;
  app_id: string;
  name: string | null;
  platform: AppPlatform;
  /** S3: a device of the app becoming AUTHORIZED opts its user in. Default true. */
  opt_in_when_push_authorized: boolean;
  apns: ApnsSettings | null;
  fcm: FcmSettings | null;
  webpush: WebPushSettings | null;
}

/** The apps file could not be read or is invalid; `problems` name the file and each field (`apps[2].apns.key_id`). */
export class AppsFileError extends ConfigError {
  constructor(problems: string[]) {
    super(problems);
    this.name = 'AppsFileError';
  }
}

const PLATFORMS = ['ios', 'android', 'web'] as const;
/** Which settings block each platform needs. */
const BLOCK_OF = { ios: 'apns', android: 'fcm', web: 'webpush' } as const;

const expected = (what: string) => (issue: { input: unknown }) =>
  issue.input === undefined ? 'is required' : `expected ${what}`;

const text = z.string({ error: expected('a string') }).min(1, 'must not be empty');
const optionalText = text.nullish().transform((v) => v ?? null);
const url = text.refine((value) => {
  try {
    const protocol = new URL(value).protocol;
    return protocol === 'https:' || protocol === 'http:';
  } catch {
    return false;
  }
}, 'expected an http(s) URL');

const apns = z.strictObject(
  {
    team_id: text,
    key_id: text,
    key_file: text,
    topic: text,
    production: z.boolean({ error: expected('true or false') }).default(false),
    host: optionalText,
    port: z
      .number({ error: expected('an integer 1-65535') })
      .int('expected an integer 1-65535')
      .min(1, 'expected an integer 1-65535')
      .max(65535, 'expected an integer 1-65535')
      .nullish()
      .transform((v) => v ?? null),
  },
  { error: expected('an object') },
);

const fcm = z.strictObject(
  {
    project_id: text,
    service_account_file: optionalText,
    endpoint: url.nullish().transform((v) => v ?? null),
  },
  { error: expected('an object') },
);

const webpush = z.strictObject(
  {
    vapid_public_key: text,
    vapid_private_key: text,
    subject: text.refine(
      (value) => value.startsWith('mailto:') || value.startsWith('https://'),
      'expected a mailto: or https:// URL',
    ),
  },
  { error: expected('an object') },
);

const app = z
  .strictObject(
    {
      workspace_id: text,
      app_id: text,
      name: optionalText,
      platform: z.enum(PLATFORMS, {
        error: (issue) =>
          issue.input === undefined
            ? 'is required'
            : `expected one of ${PLATFORMS.join('|')}, got ${JSON.stringify(issue.input)}`,
      }),
      opt_in_when_push_authorized: z.boolean({ error: expected('true or false') }).default(true),
      apns: apns.nullish().transform((v) => v ?? null),
      fcm: fcm.nullish().transform((v) => v ?? null),
      webpush: webpush.nullish().transform((v) => v ?? null),
    },
    { error: expected('an object') },
  )
  .superRefine((entry, ctx) => {
    const block = BLOCK_OF[entry.platform];
    if (entry[block] === null)
      ctx.addIssue({ code: 'custom', path: [block], message: `is required for platform ${entry.platform}` });
  });

const appsFile = z.strictObject(
  { apps: z.array(app, { error: expected('an array of apps') }) },
  { error: expected('an object {"apps": [...]}') },
);

/** `apps[2].apns.key_id`, from zod's path. */
function fieldOf(path: readonly PropertyKey[]): string {
  let field = '';
  for (const part of path)
    field += typeof part === 'number' ? `[${part}]` : `${field === '' ? '' : '.'}${String(part)}`;
  return field === '' ? '(file)' : field;
}

function describe(error: z.ZodError): string[] {
  return error.issues.map((issue) =>
    issue.code === 'unrecognized_keys'
      ? `${fieldOf(issue.path)}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`
      : `${fieldOf(issue.path)}: ${issue.message}`,
  );
}

const keyOf = (workspaceId: string, appId: string) => `${workspaceId}\u0000${appId}`;

/** The validated apps file; inject it by its class (`AppsFileModule`). */
export class AppsFile {
  private readonly byKey = new Map<string, AppConfig>();

  constructor(readonly apps: readonly AppConfig[]) {
    for (const entry of apps) this.byKey.set(keyOf(entry.workspace_id, entry.app_id), entry);
  }

  /** The app's entry, or undefined for an app the file does not list. */
  app(workspaceId: string, appId: string): AppConfig | undefined {
    return this.byKey.get(keyOf(workspaceId, appId));
  }

  /**
   * Validates the file's parsed JSON. `baseDir` resolves relative key file paths (the apps file's folder). Throws
   * `AppsFileError` naming every bad field, and every (workspace_id, app_id) listed twice.
   */
  static parse(json: unknown, source = 'APPS_CONFIG', baseDir = process.cwd()): AppsFile {
    const parsed = appsFile.safeParse(json);
    if (!parsed.success) throw new AppsFileError(describe(parsed.error).map((p) => `${source} ${p}`));

    const problems: string[] = [];
    const firstIndex = new Map<string, number>();
    const apps = parsed.data.apps.map((entry, index): AppConfig => {
      const key = keyOf(entry.workspace_id, entry.app_id);
      const first = firstIndex.get(key);
      if (first !== undefined)
        problems.push(
          `${source} apps[${index}]: app ${JSON.stringify(entry.app_id)} of workspace ${JSON.stringify(entry.workspace_id)} is already listed at apps[${first}]`,
        );
      else firstIndex.set(key, index);
      const file = (path: string) => (isAbsolute(path) ? path : resolve(baseDir, path));
      return {
        ...entry,
        apns: entry.apns && { ...entry.apns, key_file: file(entry.apns.key_file) },
        fcm: entry.fcm && {
          ...entry.fcm,
          service_account_file: entry.fcm.service_account_file && file(entry.fcm.service_account_file),
        },
      };
    });
    if (problems.length > 0) throw new AppsFileError(problems);
    return new AppsFile(apps);
  }

  /** Reads and validates the file at `path`; no path (APPS_CONFIG unset) is a file without apps. */
  static load(path: string | null): AppsFile {
    if (path === null) return new AppsFile([]);
    let content: string;
    try {
      content = readFileSync(path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new AppsFileError([`APPS_CONFIG: cannot read ${path} (${code})`]);
    }
    let json: unknown;
    try {
      json = JSON.parse(content);
    } catch (error) {
      // JSON.parse's message quotes a few characters of the text: keep only where it failed.
      const at = /position \d+(?: \(line \d+ column \d+\))?/.exec((error as Error).message)?.[0];
      throw new AppsFileError([`APPS_CONFIG: ${path} is not valid JSON${at ? ` (at ${at})` : ''}`]);
    }
    return AppsFile.parse(json, `APPS_CONFIG (${path})`, dirname(resolve(path)));
  }
}

/** `AppsFile` for injection, loaded once from the service's `APPS_CONFIG`. */
export const appsFileProvider: Provider = {
  provide: AppsFile,
  useFactory: (config: ServiceConfig) => AppsFile.load(config.appsConfigPath),
  inject: [SERVICE_CONFIG],
};

/** Import it in a service's module to inject `AppsFile`. */
@Module({ providers: [appsFileProvider], exports: [AppsFile] })
export class AppsFileModule {}
