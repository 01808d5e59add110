import { once } from 'node:events';
import { IncomingHttpHeaders, Server, createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { loadConsoleConfig } from './config';
import { createConsoleApp } from './console-app';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * The console's server over HTTP, with a stand-in for the services that records what reaches it and answers like
 * token-registry's key check (200 for key-a, 401 otherwise). The real services are in console.e2e.spec.ts.
 */
describe("the console's server", () => {
  let upstream: Server;
  let app: INestApplication;
  let staticDir: string;
  const seen: Seen[] = [];

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        const authorised = req.headers.authorization === 'Bearer key-a';
        res.statusCode = authorised ? 200 : 401;
        res.setHeader('content-type', 'application/json');
        res.setHeader('set-cookie', 'upstream=1');
        res.end(JSON.stringify(authorised ? { ok: true } : { statusCode: 401, message: 'no key' }));
      });
    }).listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const base = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
    staticDir = mkdtempSync(join(tmpdir(), 'console-static-'));
    writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>t</title>');
    const config = loadConsoleConfig({
      API_KEYS: 'key-a=ws-a',
      TOKEN_REGISTRY_URL: base,
      SUBSCRIPTION_STATE_URL: base,
      SEGMENTATION_URL: base,
      CONSOLE_STATIC_DIR: staticDir,
      CONSOLE_SESSION_SECRET: 's'.repeat(32),
      LOG_LEVEL: 'silent',
    });
    app = await createConsoleApp(config);
    await app.init();
  });

  afterAll(async () => {
    await app.close();
    upstream.close();
    rmSync(staticDir, { recursive: true, force: true });
  });

  const signIn = async () => {
    const response = await request(app.getHttpServer()).post('/session').send({ api_key: 'key-a' });
    return { cookie: response.headers['set-cookie'][0].split(';')[0], csrf: response.body.csrf_token as string };
  };

  it('defaults to port 3000 and the five services on 127.0.0.1:3001–3005', () => {
    const config = loadConsoleConfig({});
    expect(config.port).toBe(3000);
    expect(Object.values(config.services)).toEqual([3001, 3002, 3003, 3004, 3005].map((p) => `http://127.0.0.1:${p}`));
    expect(() => loadConsoleConfig({ SEGMENTATION_URL: 'ftp://x' })).toThrow(
      'SEGMENTATION_URL: expected an http(s) URL',
    );
  });

  it('sign-in: 400 naming api_key for a bad body, 401 for a key the services refuse, a session cookie for a good one', async () => {
    const http = request(app.getHttpServer());
    const empty = await http.post('/session').send({ api_key: '' });
    const wrong = await http.post('/session').send({ api_key: 'key-b' });
    const good = await http.post('/session').send({ api_key: 'key-a' });

    expect(empty.status).toBe(400);
    expect(empty.body.issues).toEqual([{ field: 'api_key', problem: 'must not be empty' }]);
    expect(wrong.status).toBe(401);
    expect(wrong.headers['set-cookie']).toBeUndefined();
    expect(good.status).toBe(200);
    expect(good.body).toEqual({ workspace_id: 'ws-a', csrf_token: expect.any(String) });
    expect(good.headers['set-cookie'][0]).toMatch(
      /^console_session=[^;]+; Max-Age=43200; Path=\/; Expires=[^;]+; HttpOnly; SameSite=Strict$/,
    );
    expect(good.headers['set-cookie'][0]).not.toContain('key-a');
  });

  it("forwards with the session's key as the bearer, the body streamed, and neither the browser's cookie nor the service's back", async () => {
    const { cookie, csrf } = await signIn();
    seen.length = 0;

    const response = await request(app.getHttpServer())
      .put('/api/subscription-state/users/k%C3%AFm/subscription?x=1')
      .set('Cookie', cookie)
      .set('X-CSRF-Token', csrf)
      .send({ push_subscribe: 'unsubscribed' });

    expect(response.status).toBe(200);
    expect(response.headers['set-cookie']).toBeUndefined();
    expect(response.headers['cache-control']).toBe('no-store');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      method: 'PUT',
      url: '/users/k%C3%AFm/subscription?x=1',
      body: '{"push_subscribe":"unsubscribed"}',
    });
    expect(seen[0].headers.authorization).toBe('Bearer key-a');
    expect(seen[0].headers.cookie).toBeUndefined();
    expect(seen[0].headers['x-csrf-token']).toBeUndefined();
  });

  it('refuses without a session (401), a state change without its CSRF token or from another origin (403), an unknown service (404)', async () => {
    const { cookie, csrf } = await signIn();
    const http = request(app.getHttpServer());
    seen.length = 0;

    expect((await http.get('/api/token-registry/users/kim/devices')).status).toBe(401);
    expect((await http.post('/api/segmentation/segments/size').set('Cookie', cookie).send({})).status).toBe(403);
    expect(
      (
        await http
          .post('/api/segmentation/segments/size')
          .set('Cookie', cookie)
          .set('X-CSRF-Token', csrf)
          .set('Origin', 'https://evil.example')
          .send({})
      ).status,
    ).toBe(403);
    expect((await http.get('/api/payments/anything').set('Cookie', cookie)).status).toBe(404);
    expect((await http.delete('/session').set('Cookie', cookie)).status).toBe(403);
    expect(seen).toEqual([]);
  });

  it('a service that does not answer is a 502 naming it, never a 500', async () => {
    const { cookie } = await signIn();
    const response = await request(app.getHttpServer()).get('/api/dispatcher/dispatches/d1').set('Cookie', cookie);

    expect(response.status).toBe(502);
    expect(response.body.message).toBe('dispatcher: not answering');
  });
});
