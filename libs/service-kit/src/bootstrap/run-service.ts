import { DynamicModule, INestApplication, Module, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import type { DestinationStream, Logger as PinoLogger } from 'pino';
import { DataSource } from 'typeorm';
import { ALL_EVENT_TOPICS } from '@push/contracts';
import { provisionTopics } from '@push/event-bus';
import { ConfigError, ServiceConfig, ServiceName, loadConfig } from '../config/load-config';
import { DatabaseOptions, openDatabase } from '../database/database';
import { createLogger } from '../logging/logger';
import { NestPinoLogger } from '../logging/nest-logger';
import { metricsRegistry } from '../metrics/metrics';
import { ServiceEventBus } from './event-bus.provider';
import { ServiceKitModule } from './service-kit.module';

export interface ServiceDefinition {
  name: ServiceName;
  description: string;
  /** The service's own Nest modules: HTTP controllers, `@ProjectionController` classes (in `controllers`), providers. */
  imports: (Type<unknown> | DynamicModule)[];
  /** TypeORM entities and migrations of the service's database; libraries' migrations are concatenated here. */
  entities?: DatabaseOptions['entities'];
  migrations?: DatabaseOptions['migrations'];
}

@Module({})
class ServiceRootModule {}

/**
 * Builds the Nest application of a service around an open database, without listening (tests use this).
 * nestjs-pino keeps one HTTP logger per process: build one application per process (per jest test file).
 * The projections are checked here (a misconfigured one fails the build, naming the problem) and start in the
 * background once the application is initialised (`app.init()`; see `ServiceEventBus`).
 */
export async function createServiceApp(
  definition: ServiceDefinition,
  config: ServiceConfig,
  dataSource: DataSource,
  logDestination?: DestinationStream,
): Promise<INestApplication> {
  return buildServiceApp(
    definition,
    config,
    dataSource,
    createLogger(definition.name, config.logLevel, logDestination),
  );
}

async function buildServiceApp(
  definition: ServiceDefinition,
  config: ServiceConfig,
  dataSource: DataSource,
  logger: PinoLogger,
  provisionTopics?: () => Promise<unknown>,
): Promise<INestApplication> {
  metricsRegistry.setDefaultLabels({ service: definition.name });
  const root: DynamicModule = {
    module: ServiceRootModule,
    imports: [ServiceKitModule.forRoot({ config, dataSource, logger, provisionTopics }), ...definition.imports],
  };
  // Nest's own start-up logs are written through pino as they happen (not buffered until the app is up: a process that
  // dies first would lose them), and an error while building the app is thrown to the caller instead of aborting.
  const app = await NestFactory.create(root, { logger: new NestPinoLogger(logger), abortOnError: false });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  const document = new DocumentBuilder()
    .setTitle(definition.name)
    .setDescription(definition.description)
    .addBearerAuth({
      type: 'http',
      scheme: 'bearer',
      description: 'an API key from API_KEYS; it sees only its workspace',
    })
    .addSecurityRequirements('bearer')
    .build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, document));
  // Projections are Nest-built handlers served by a microservice transport, which hands them to ServiceEventBus (it
  // starts their runners once the app is initialised). The transport does not inherit the HTTP app's configuration:
  // the global API-key guard, error filter, pipes and interceptors are HTTP's and never see a batch or its outputs.
  app.connectMicroservice({ strategy: app.get(ServiceEventBus).transport }, { inheritAppConfig: false });
  try {
    await app.startAllMicroservices();
  } catch (error) {
    await app.close();
    throw error;
  }
  return app;
}

/**
 * The whole start of a service: validate configuration (exit 1 naming the bad variable), create the database and
 * migrate, build the app and listen — within seconds, whatever Kafka does: topic provisioning and the projections
 * start in the background (retried with backoff while the broker is down; `/health` says 503 and why meanwhile).
 * Every step is logged as it happens. SIGTERM/SIGINT run the shutdown hooks: consumers stop after their batch and
 * leave their group, then connections close.
 */
export async function runService(definition: ServiceDefinition): Promise<INestApplication> {
  let config: ServiceConfig;
  try {
    config = loadConfig(definition.name);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`${definition.name}: ${error.message}`);
    process.exit(1);
  }
  const logger = createLogger(definition.name, config.logLevel);
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  try {
    logger.info({ pid: process.pid, node: process.version }, `${definition.name} starting`);
    const dataSource = await openDatabase({
      url: config.databaseUrl,
      entities: definition.entities,
      migrations: definition.migrations,
    });
    logger.info({ ms: ms() }, 'database ready (migrations run)');
    const provision = () =>
      provisionTopics({
        brokers: config.kafkaBrokers,
        partitions: config.topicPartitions,
        topics: ALL_EVENT_TOPICS.map((topic) => config.topicPrefix + topic),
      });
    const app = await buildServiceApp(definition, config, dataSource, logger, provision);
    await app.listen(config.port, config.host);
    logger.info({ ms: ms() }, `${definition.name} listening on http://127.0.0.1:${config.port}`);
    return app;
  } catch (error) {
    logger.fatal({ err: error, ms: ms() }, `${definition.name} could not start`);
    process.exit(1);
  }
}
