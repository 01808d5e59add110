import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { LoggerModule } from 'nestjs-pino';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { ApiKeyGuard } from '../auth/api-key.guard';
import type { ServiceConfig } from '../config/load-config';
import { PlannerStatisticsKeeper } from '../database/planner-statistics-keeper';
import { HttpErrorFilter } from '../errors/http-errors';
import { HealthChecks, HealthController } from '../health/health-checks';
import { httpLoggerOptions } from '../logging/logger';
import { MetricsController, metricsRegistry } from '../metrics/metrics';
import { PINO_LOGGER, SERVICE_CONFIG } from '../tokens';
import { ServiceEventBus, TOPIC_PROVISIONING, TopicProvisioning } from './event-bus.provider';
import { ShutdownSequence } from './shutdown-sequence';

export interface ServiceKitOptions {
  config: ServiceConfig;
  dataSource: DataSource;
  /** The process logger (`createLogger`); HTTP request logs go through it too. */
  logger: Logger;
  /** Provisions the topics in the background before the runners start (`runService`); tests create theirs. */
  provisionTopics?: TopicProvisioning;
}

/**
 * What every service has: config, database (with fresh planner statistics), metrics, health, logging with redaction,
 * API-key auth, JSON errors.
 */
@Module({})
export class ServiceKitModule {
  static forRoot(options: ServiceKitOptions): DynamicModule {
    const { config } = options;
    return {
      module: ServiceKitModule,
      global: true,
      imports: [
        TerminusModule.forRoot({ logger: false }),
        LoggerModule.forRoot({ pinoHttp: httpLoggerOptions(options.logger) }),
      ],
      controllers: [HealthController, MetricsController],
      providers: [
        { provide: SERVICE_CONFIG, useValue: config },
        { provide: DataSource, useValue: options.dataSource },
        { provide: Registry, useValue: metricsRegistry },
        { provide: PINO_LOGGER, useValue: options.logger },
        HealthChecks,
        ShutdownSequence,
        PlannerStatisticsKeeper,
        ServiceEventBus,
        ...(options.provisionTopics ? [{ provide: TOPIC_PROVISIONING, useValue: options.provisionTopics }] : []),
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        { provide: APP_FILTER, useClass: HttpErrorFilter },
      ],
      exports: [
        SERVICE_CONFIG,
        DataSource,
        Registry,
        PINO_LOGGER,
        HealthChecks,
        ShutdownSequence,
        PlannerStatisticsKeeper,
        ServiceEventBus,
      ],
    };
  }
}
