import { Body, Controller, Get, INestApplication, Inject, Module, NotFoundException, Param, Post } from '@nestjs/common';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { LogCapture, dropDatabase, uniqueDatabaseUrl } from '@push/testing';
import { WorkspaceId } from '../auth/api-key.guard';
import { loadConfig } from '../config/load-config';
import { openDatabase } from '../database/database';
import { ZodValidationPipe } from '../errors/http-errors';
import { HealthChecks } from '../health/health-checks';
import { createLogger } from '../logging/logger';
import { createServiceApp } from './run-service';

const TOKEN = 'fcm-token-abcdefghijklmnopqrstuvwxyz-0123456789';
const SECRET_KEY = 'key-for-workspace-a-7f3e9c';

const notesByWorkspace: Record<string, Record<string, string>> = { 'ws-a': { n1: 'note of A' }, 'ws-b': { n2: 'note of B' } };

const registration = z.object({ device_id: z.string().min(1), token: z.string().min(1) });

@Controller('notes')
class NotesController {
  constructor(@Inject(HealthChecks) checks: HealthChecks) {
    checks.register('feature', () => ({ up: featureUp }));
  }

  @Get(':id')
  get(@WorkspaceId() workspaceId: string, @Param('id') id: string) {
    const note = notesByWorkspace[workspaceId]?.[id];
    if (!note) throw new NotFoundException(`no note ${id}`);
    return { id, note };
  }

  @Post()
  register(@Body(new ZodValidationPipe(registration)) body: z.infer<typeof registration>) {
    return { device_id: body.device_id };
  }
}

@Module({ controllers: [NotesController] })
class NotesModule {}

let featureUp = true;

describe('service kit over HTTP', () => {
  const url = uniqueDatabaseUrl('service_kit_spec');
  const logs = new LogCapture();
  let dataSource: DataSource;
  let app: INestApplication;

  beforeAll(async () => {
    const config = loadConfig('token-registry', { DATABASE_URL: url, API_KEYS: `${SECRET_KEY}=ws-a,key-b=ws-b`, LOG_LEVEL: 'debug' });
    dataSource = await openDatabase({ url });
    app = await createServiceApp({ name: 'token-registry', description: 'spec', imports: [NotesModule] }, config, dataSource, logs);
    await app.init();
  });

  afterAll(async () => {
    await app.close();
    await dropDatabase(url);
  });

  const server = () => app.getHttpServer();

  it('answers 401 without an API key', async () => {
    const response = await request(server()).get('/notes/n1');

    expect(response.status).toBe(401);
    expect(response.body.message).toMatch(/missing API key/);
  });

  it('answers 401 with an unknown API key', async () => {
    const response = await request(server()).get('/notes/n1').set('Authorization', 'Bearer not-a-key');

    expect(response.status).toBe(401);
    expect(response.body.message).toMatch(/unknown API key/);
  });

  it('serves the key’s own workspace with a valid key', async () => {
    const response = await request(server()).get('/notes/n1').set('Authorization', `Bearer ${SECRET_KEY}`);

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ id: 'n1', note: 'note of A' });
  });

  it('never lets a key for workspace A read workspace B', async () => {
    const asA = await request(server()).get('/notes/n2').set('Authorization', `Bearer ${SECRET_KEY}`);
    const asB = await request(server()).get('/notes/n2').set('Authorization', 'Bearer key-b');

    expect(asA.status).toBe(404);
    expect(asB.status).toBe(200);
    expect(asB.body.note).toBe('note of B');
  });

  it('answers a body that is not JSON with a 400 naming the parse error', async () => {
    const response = await request(server())
      .post('/notes')
      .set('Authorization', `Bearer ${SECRET_KEY}`)
      .set('Content-Type', 'application/json')
      .send('{"device_id": ');

    expect(response.status).toBe(400);
    expect(response.body.message).toMatch(/JSON/);
  });

  it('answers an invalid body with a 400 naming the field and the problem', async () => {
    const response = await request(server())
      .post('/notes')
      .set('Authorization', `Bearer ${SECRET_KEY}`)
      .send({ device_id: '', token: TOKEN });

    expect(response.status).toBe(400);
    expect(response.body.issues).toEqual([{ field: 'device_id', problem: expect.any(String) }]);
    expect(response.body.message).toMatch(/^device_id: /);
  });

  it('reports health 200 while every check is up and 503 when one is down', async () => {
    const healthy = await request(server()).get('/health');
    featureUp = false;
    const unhealthy = await request(server()).get('/health');
    featureUp = true;

    expect(healthy.status).toBe(200);
    expect(healthy.body.details).toMatchObject({ database: { status: 'up' }, feature: { status: 'up' } });
    expect(unhealthy.status).toBe(503);
    expect(unhealthy.body.details.feature.status).toBe('down');
  });

  it('serves Prometheus metrics and the OpenAPI document without a key', async () => {
    const metrics = await request(server()).get('/metrics');
    const docs = await request(server()).get('/docs-json');

    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/process_cpu_user_seconds_total\{service="token-registry"\}/);
    expect(docs.status).toBe(200);
    expect(Object.keys(docs.body.paths)).toEqual(expect.arrayContaining(['/notes/{id}', '/health']));
    expect(docs.body.components.securitySchemes.bearer.scheme).toBe('bearer');
  });

  it('never writes a push token or an API key to the logs', async () => {
    await request(server()).post('/notes').set('Authorization', `Bearer ${SECRET_KEY}`).send({ device_id: 'd1', token: TOKEN });
    await request(server()).post('/notes').set('Authorization', `Bearer ${SECRET_KEY}`).send({ device_id: '', token: TOKEN });
    const outside = createLogger('runner', 'debug', logs);
    outside.info({ event: { token: TOKEN, device: { push_token: TOKEN } }, config: { apiKeys: SECRET_KEY } }, 'applied');

    const text = logs.text();
    expect(text).toMatch(/"url":"\/notes"/);
    expect(text).toMatch(/applied/);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(SECRET_KEY);
  });
});
