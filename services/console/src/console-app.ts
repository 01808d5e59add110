import { Controller, Get, INestApplication, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { json, urlencoded } from 'express';
import { AppsFile, HttpErrorFilter, createLogger } from '@push/service-kit';
import { AppsController } from './apps/apps.controller';
import type { ConsoleConfig } from './config';
import { ExportController } from './export/export.controller';
import { ForwardController } from './forward/forward.controller';
import { securityHeaders } from './security/security-headers';
import { SessionController } from './session/session.controller';
import { Sessions } from './session/sessions';
import { CONSOLE_APPS, CONSOLE_CONFIG } from './tokens';
import { BUILT_STATIC_DIR } from './web-build/paths';

@Controller('health')
class HealthController {
  /** The console holds no state: up when it answers. The services' health is on the operations page. */
  @Get()
  health() {
    return { status: 'ok' };
  }
}

/**
 * The console's server: the built front end as static files, sign-in into a sealed session cookie, and `/api/<service>`
 * forwarding with the session's key. No database, no read model (DESIGN §9). Nest's body parser is off: forwarded
 * bodies stream through untouched, and only the sign-in body is parsed here.
 */
export async function createConsoleApp(config: ConsoleConfig): Promise<NestExpressApplication> {
  const staticDir = config.staticDir ?? BUILT_STATIC_DIR;
  if (!existsSync(join(staticDir, 'index.html')))
    throw new Error(
      `the console's front end is not built in ${staticDir}: run npm run build, then node dist/services/console/src/web-build/main.js`,
    );

  @Module({
    controllers: [HealthController, SessionController, AppsController, ExportController, ForwardController],
    providers: [
      { provide: CONSOLE_CONFIG, useValue: config },
      { provide: CONSOLE_APPS, useValue: AppsFile.load(config.appsConfigPath) },
      { provide: Sessions, useValue: new Sessions(config.sessionSecret) },
    ],
  })
  class ConsoleModule {}

  const app = await NestFactory.create<NestExpressApplication>(ConsoleModule, {
    bodyParser: false,
    // Nest's start-up lines are noise here (no modules of note); its errors and warnings still reach stderr.
    logger: config.logLevel === 'silent' ? false : ['error', 'warn'],
    abortOnError: false,
  });
  app.disable('x-powered-by');
  app.use(securityHeaders);
  app.use('/session', json({ limit: '4kb' }));
  // A filter of 10,000 user ids (§5's limit) fits.
  app.use('/console/export.csv', urlencoded({ extended: false, limit: '2mb' }));
  app.useStaticAssets(staticDir, { index: 'index.html', fallthrough: true });
  app.useGlobalFilters(new HttpErrorFilter());
  app.enableShutdownHooks();
  return app;
}

export async function runConsole(config: ConsoleConfig): Promise<INestApplication> {
  const app = await createConsoleApp(config);
  await app.listen(config.port, config.host);
  createLogger('console', config.logLevel).info(`console listening on http://127.0.0.1:${config.port}`);
  return app;
}
