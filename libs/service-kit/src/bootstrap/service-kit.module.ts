import { BeforeApplicationShutdown, DynamicModule, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { LoggerModule } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import type { Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { ApiKeyGuard } from '../auth/api-key.guard';
import type { ServiceConfig } from '../config/load-config';
import { HttpErrorFilter } from '../errors/http-errors';
import { HealthChecks, HealthController } from '../health/health-checks';
import { loggerOptions } from '../logging/logger';
import { MetricsController } from '../metrics/metrics';
import { DATA_SOURCE, METRICS_REGISTRY, SERVICE_CONFIG } from '../tokens';

export interface ServiceKitOptions {
  config: ServiceConfig;
  dataSource: DataSource;
  registry: Registry;
  /** Where logs go (stdout by default); tests pass a stream to read what was logged. */
  logDestination?: DestinationStream;
}

/** Things that must stop before the database closes register here (Kafka consumers finish their batch). */
@Injectable()
export class ShutdownSequence implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly stoppers: (() => Promise<void>)[] = [];

  constructor(@Inject(DATA_SOURCE) private readonly dataSource: DataSource) {}

  beforeStop(stop: () => Promise<void>): void {
    this.stoppers.push(stop);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all(this.stoppers.map((stop) => stop()));
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

/** What every service has: config, database, metrics, health, logging with redaction, API-key auth, JSON errors. */
@Module({})
export class ServiceKitModule {
  static forRoot(options: ServiceKitOptions): DynamicModule {
    const { config } = options;
    const httpLogger = { ...loggerOptions(config.serviceName, config.logLevel), autoLogging: { ignore: isProbe } };
    return {
      module: ServiceKitModule,
      global: true,
      imports: [
        TerminusModule.forRoot({ logger: false }),
        LoggerModule.forRoot({ pinoHttp: options.logDestination ? [httpLogger, options.logDestination] : httpLogger }),
      ],
      controllers: [HealthController, MetricsController],
      providers: [
        { provide: SERVICE_CONFIG, useValue: config },
        { provide: DATA_SOURCE, useValue: options.dataSource },
        { provide: DataSource, useValue: options.dataSource },
        { provide: METRICS_REGISTRY, useValue: options.registry },
        HealthChecks,
        ShutdownSequence,
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        { provide: APP_FILTER, useClass: HttpErrorFilter },
      ],
      exports: [SERVICE_CONFIG, DATA_SOURCE, DataSource, METRICS_REGISTRY, HealthChecks, ShutdownSequence],
    };
  }
}

function isProbe(req: { url?: string }): boolean {
  return req.url === '/health' || req.url === '/metrics';
}
