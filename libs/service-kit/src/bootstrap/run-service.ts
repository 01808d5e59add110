import { DynamicModule, INestApplication, Module, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import { DataSource } from 'typeorm';
import { ALL_EVENT_TOPICS } from '@push/contracts';
import { provisionTopics } from '@push/event-bus';
import { ConfigError, ServiceConfig, ServiceName, loadConfig } from '../config/load-config';
import { DatabaseOptions, openDatabase } from '../database/database';
import { createLogger } from '../logging/logger';
import { metricsRegistry } from '../metrics/metrics';
import { ServiceKitModule } from './service-kit.module';

export interface ServiceDefinition {
  name: ServiceName;
  description: string;
  /** The service's own Nest modules (controllers, projections, consumers). */
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
 */
export async function createServiceApp(
  definition: ServiceDefinition,
  config: ServiceConfig,
  dataSource: DataSource,
  logDestination?: DestinationStream,
): Promise<INestApplication> {
  const logger = createLogger(definition.name, config.logLevel, logDestination);
  metricsRegistry.setDefaultLabels({ service: definition.name });
  const root: DynamicModule = {
    module: ServiceRootModule,
    imports: [ServiceKitModule.forRoot({ config, dataSource, logger }), ...definition.imports],
  };
  const app = await NestFactory.create(root, { bufferLogs: true });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  const document = new DocumentBuilder()
    .setTitle(definition.name)
    .setDescription(definition.description)
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'an API key from API_KEYS; it sees only its workspace' })
    .addSecurityRequirements('bearer')
    .build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, document));
  return app;
}

/**
 * The whole start of a service: validate configuration (exit 1 naming the bad variable), create the database and
 * migrate, provision the topics, build the app and listen. SIGTERM/SIGINT run the shutdown hooks: consumers stop
 * after their batch, then connections close.
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
  try {
    const dataSource = await openDatabase({ url: config.databaseUrl, entities: definition.entities, migrations: definition.migrations });
    await provisionTopics({
      brokers: config.kafkaBrokers,
      partitions: config.topicPartitions,
      topics: ALL_EVENT_TOPICS.map((topic) => config.topicPrefix + topic),
    });
    const app = await createServiceApp(definition, config, dataSource);
    await app.listen(config.port, config.host);
    app.get(Logger).log(`${definition.name} listening on http://127.0.0.1:${config.port}`);
    return app;
  } catch (error) {
    createLogger(definition.name).fatal({ err: error }, `${definition.name} could not start`);
    process.exit(1);
  }
}
