import { z } from 'zod';
import { ServiceConfig, loadConfig } from '@push/service-kit';

/** The five services the console forwards to, by the path segment the front end calls them with (`/api/<name>/…`). */
export const FORWARDED_SERVICES = [
  'token-registry',
  'subscription-state',
  'segmentation',
  'dispatcher',
  'bounce-processor',
] as const;
export type ForwardedService = (typeof FORWARDED_SERVICES)[number];

const DEFAULT_PORTS: Record<ForwardedService, number> = {
  'token-registry': 3001,
  'subscription-state': 3002,
  segmentation: 3003,
  dispatcher: 3004,
  'bounce-processor': 3005,
};

const envName = (service: ForwardedService) => `${service.toUpperCase().replace(/-/g, '_')}_URL`;

const baseUrl = z
  .string()
  .trim()
  .refine((value) => {
    try {
      return ['http:', 'https:'].includes(new URL(value).protocol);
    } catch {
      return false;
    }
  }, 'expected an http(s) URL')
  .transform((value) => value.replace(/\/+$/, ''));

const consoleVariables = {
  ...Object.fromEntries(
    FORWARDED_SERVICES.map((service) => [
      envName(service),
      baseUrl.prefault(`http://127.0.0.1:${DEFAULT_PORTS[service]}`),
    ]),
  ),
  /** Seals the session cookies; unset, a random one per process (every session ends when the console restarts). */
  CONSOLE_SESSION_SECRET: z.string().min(32, 'expected at least 32 characters').optional(),
  /** The built front end (`npm run build` writes it); tests point it at their own build. */
  CONSOLE_STATIC_DIR: z.string().trim().min(1).optional(),
} as const;

export interface ConsoleConfig {
  port: number;
  host: string;
  logLevel: ServiceConfig['logLevel'];
  /** API key → workspace, when the console shares the services' API_KEYS: only to show the workspace's name and apps. */
  apiKeys: ReadonlyMap<string, string>;
  appsConfigPath: string | null;
  services: Record<ForwardedService, string>;
  sessionSecret: string | null;
  staticDir: string | null;
}

/**
 * The console's configuration through the kit's one loader. The kit knows the five services' names and ports only
 * (`SERVICE_PORTS`), so the console borrows one name and brings its own default port, 3000 (DESIGN §9): `PORT` still
 * overrides it. Its own variables: each service's base URL (`TOKEN_REGISTRY_URL`, … default 127.0.0.1:3001–3005),
 * `CONSOLE_SESSION_SECRET`, `CONSOLE_STATIC_DIR`.
 */
export function loadConsoleConfig(env: NodeJS.ProcessEnv = process.env): ConsoleConfig {
  const config = loadConfig('token-registry', consoleVariables, { ...env, PORT: env.PORT || '3000' });
  const extra = config.extra as Record<string, string | undefined>;
  return {
    port: config.port,
    host: config.host,
    logLevel: config.logLevel,
    apiKeys: config.apiKeys,
    appsConfigPath: config.appsConfigPath,
    services: Object.fromEntries(FORWARDED_SERVICES.map((s) => [s, extra[envName(s)]!])) as Record<
      ForwardedService,
      string
    >,
    sessionSecret: extra.CONSOLE_SESSION_SECRET ?? null,
    staticDir: extra.CONSOLE_STATIC_DIR ?? null,
  };
}
