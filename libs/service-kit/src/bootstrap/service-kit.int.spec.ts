import { Controller, Get, INestApplication, Inject, Module, NotFoundException, Param, Post } from '@nestjs/common';
import type { Logger } from 'pino';
import { Counter, Registry } from 'prom-client';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { LogCapture, dropDatabase, uniqueDatabaseUrl } from '@push/testing';
import { WorkspaceId } from '../auth/api-key.guard';
import { loadConfig } from '../config/load-config';
import { openDatabase } from '../database/database';
import { ZodBody } from '../errors/http-errors';
import { HealthChecks } from '../health/health-checks';
import { PINO_LOGGER } from '../tokens';
import { createServiceApp } from './run-service';

const TOKEN = 'fcm-token-abcdefghijklmnopqrstuvwxyz-0123456789';
const KEY_A = 'key-for-workspace-a-7f3e9c';
const KEY_B = 'key-for-workspace-b-51d0aa';
const DB_PASSWORD = 'db-password-5bd2e1';

const notesByWorkspace: Record<string, Record<string, string>> = {
  'ws-a': { n1: 'note of A' },
  'ws-b': { n2: 'note of B' },
};

const usersTrack = z.object({
  attributes: z
    .array(
      z.object({ external_id: z.string().min(1), push_subscribe: z.enum(['opted_in', 'subscribed', 'unsubscribed']) }),
    )
    .min(1),
});

let featureUp = true;

@Controller()
class SpecController {
  private readonly tracked: Counter;

  constructor(
    @Inject(HealthChecks) checks: HealthChecks,
    registry: Registry,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
  ) {
    checks.register('feature', () => ({ up: featureUp }));
    this.tracked = new Counter({
      name: 'spec_users_tracked_total',
      help: 'users tracked by the spec',
      registers: [registry],
    });
  }

  @Get('notes/:id')
  note(@WorkspaceId() workspaceId: string, @Param('id') id: string) {
    const note = notesByWorkspace[workspaceId]?.[id];
    if (!note) throw new NotFoundException(`no note ${id}`);
    return { id, note };
  }

  @Post('users/track')
  track(@WorkspaceId() workspaceId: string, @ZodBody(usersTrack) body: z.infer<typeof usersTrack>) {
    this.tracked.inc(body.attributes.length);
    this.logger.info({ workspaceId, device: { token: TOKEN }, devices: [{ push_token: TOKEN }] }, 'tracked');
    return { message: 'success', attributes_processed: body.attributes.length };
  }

  @Get('broken')
  broken(): never {
    throw Object.assign(new Error('relation "secret_internal_table" does not exist'), {
      detail: `Key (token)=(${TOKEN}) already exists.`,
    });
  }
}

@Module({ controllers: [SpecController] })
class SpecModule {}

describe('service kit over HTTP', () => {
  const url = uniqueDatabaseUrl('service_kit_spec');
  const urlWithPassword = Object.assign(new URL(url), { password: DB_PASSWORD }).toString();
  const logs = new LogCapture();
  let dataSource: DataSource;
  let app: INestApplication;

  beforeAll(async () => {
    const config = loadConfig('token-registry', undefined, {
      DATABASE_URL: urlWithPassword,
      API_KEYS: `${KEY_A}=ws-a,${KEY_B}=ws-b`,
      LOG_LEVEL: 'debug',
    });
    dataSource = await openDatabase({ url: config.databaseUrl });
    app = await createServiceApp(
      { name: 'token-registry', description: 'spec', imports: [SpecModule] },
      config,
      dataSource,
      logs,
    );
    await app.init();
    app.get<Logger>(PINO_LOGGER).info({ config }, 'configuration');
  });

  afterAll(async () => {
    await app.close();
    await dropDatabase(url);
  });

  const server = () => app.getHttpServer();
  const asA = (r: request.Test) => r.set('Authorization', `Bearer ${KEY_A}`);

  describe('API keys', () => {
    it('answers 401 JSON without an API key', async () => {
      const response = await request(server()).get('/notes/n1');

      expect(response.status).toBe(401);
      expect(response.body).toEqual({
        statusCode: 401,
        error: 'Unauthorized',
        message: expect.stringMatching(/missing API key/),
      });
    });

    it('answers 401 with an unknown API key', async () => {
      const response = await request(server()).get('/notes/n1').set('Authorization', 'Bearer not-a-key');

      expect(response.status).toBe(401);
      expect(response.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'unknown API key' });
    });

    it('serves the key’s own workspace with a valid key', async () => {
      const response = await asA(request(server()).get('/notes/n1'));

      expect(response.status).toBe(200);
      expect(response.body).toEqual({ id: 'n1', note: 'note of A' });
    });

    it('never lets a key for workspace A read workspace B', async () => {
      const byA = await asA(request(server()).get('/notes/n2'));
      const byB = await request(server()).get('/notes/n2').set('Authorization', `Bearer ${KEY_B}`);

      expect(byA.status).toBe(404);
      expect(byB.status).toBe(200);
      expect(byB.body.note).toBe('note of B');
    });
  });

  describe('errors', () => {
    it('answers a body that is not JSON with a 400 naming the parse error', async () => {
      const response = await asA(request(server()).post('/users/track'))
        .set('Content-Type', 'application/json')
        .send('{"attributes": [');

      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({
        statusCode: 400,
        error: 'Bad Request',
        message: expect.stringMatching(/JSON/),
      });
    });

    it('answers an invalid body with a 400 naming the field and the problem', async () => {
      const response = await asA(request(server()).post('/users/track')).send({
        attributes: [{ external_id: '', push_subscribe: 'opted_in' }],
      });

      expect(response.status).toBe(400);
      expect(response.body).toEqual({
        statusCode: 400,
        error: 'Bad Request',
        message: expect.stringMatching(/^attributes\.0\.external_id: /),
        issues: [{ field: 'attributes.0.external_id', problem: expect.stringMatching(/>=1 characters/) }],
      });
    });

    it('passes a valid body, parsed, to the handler', async () => {
      const response = await asA(request(server()).post('/users/track')).send({
        attributes: [{ external_id: 'u1', push_subscribe: 'subscribed' }],
      });

      expect(response.status).toBe(201);
      expect(response.body).toEqual({ message: 'success', attributes_processed: 1 });
    });

    it('answers an unexpected error with a 500 that reveals nothing and logs it', async () => {
      const response = await asA(request(server()).get('/broken'));

      expect(response.status).toBe(500);
      expect(response.body).toEqual({ statusCode: 500, error: 'Internal Server Error', message: 'internal error' });
      expect(logs.text()).toContain('secret_internal_table');
    });
  });

  describe('operations endpoints', () => {
    it('reports health 200 while the database and every registered check are up, 503 when one is down', async () => {
      const healthy = await request(server()).get('/health');
      featureUp = false;
      const unhealthy = await request(server()).get('/health');
      featureUp = true;

      expect(healthy.status).toBe(200);
      expect(healthy.body.details).toEqual({ database: { status: 'up' }, feature: { status: 'up' } });
      expect(unhealthy.status).toBe(503);
      expect(unhealthy.body.details.feature.status).toBe('down');
    });

    it('serves Prometheus text from the process registry, with default and service metrics', async () => {
      await asA(request(server()).post('/users/track')).send({
        attributes: [{ external_id: 'u2', push_subscribe: 'opted_in' }],
      });

      const metrics = await request(server()).get('/metrics');

      expect(metrics.status).toBe(200);
      expect(metrics.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(metrics.text).toMatch(/process_cpu_user_seconds_total\{service="token-registry"\}/);
      expect(metrics.text).toMatch(/spec_users_tracked_total\{service="token-registry"\} [1-9]/);
    });

    it('serves the OpenAPI UI and document, with bearer auth and zod-described bodies', async () => {
      const ui = await request(server()).get('/docs');
      const docs = await request(server()).get('/docs-json');

      expect(ui.status).toBe(200);
      expect(ui.text).toMatch(/swagger-ui/);
      expect(docs.status).toBe(200);
      expect(Object.keys(docs.body.paths)).toEqual(
        expect.arrayContaining(['/notes/{id}', '/users/track', '/health', '/metrics']),
      );
      expect(docs.body.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
      expect(docs.body.security).toEqual([{ bearer: [] }]);
      const body = docs.body.paths['/users/track'].post.requestBody.content['application/json'].schema;
      expect(body.properties.attributes.items.required).toEqual(['external_id', 'push_subscribe']);
    });
  });

  it('never writes a push token, an API key or the database password to the logs', async () => {
    await asA(request(server()).post(`/users/track?token=${TOKEN}`))
      .set('X-Push-Token', TOKEN)
      .send({ attributes: [{ external_id: 'u1', push_subscribe: 'subscribed' }], token: TOKEN });
    await asA(request(server()).post('/users/track')).send({ attributes: [{ external_id: '', push_token: TOKEN }] });
    await asA(request(server()).get('/broken'));
    const uniqueViolation = Object.assign(new Error('duplicate key value violates unique constraint "device_token"'), {
      detail: `Key (token)=(${TOKEN}) already exists.`,
      parameters: ['d1', TOKEN],
    });
    app.get<Logger>(PINO_LOGGER).error({ err: uniqueViolation }, 'projection failed');

    const text = logs.text();
    expect(text).toMatch(/"url":"\/users\/track"/);
    expect(text).toMatch(/"msg":"tracked"/);
    expect(text).toMatch(/"msg":"configuration"/);
    expect(text).toMatch(/duplicate key value/);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(KEY_A);
    expect(text).not.toContain(DB_PASSWORD);
  });
});
