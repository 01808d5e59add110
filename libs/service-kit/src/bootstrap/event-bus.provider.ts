import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import type { TopicName } from '@push/contracts';
import { EventProducer, Projection, ProjectionRunner } from '@push/event-bus';
import type { ServiceConfig } from '../config/load-config';
import { HealthChecks } from '../health/health-checks';
import { DATA_SOURCE, METRICS_REGISTRY, PINO_LOGGER, SERVICE_CONFIG } from '../tokens';
import { ShutdownSequence } from './shutdown-sequence';

/**
 * A service's Kafka side: the one producer (HTTP writes publish through it, runners drain their outbox through it) and
 * one projection runner per projection the service's modules register with `project()` while Nest builds them. Runners
 * start once the application is up, report on /health as `kafka:<group>`, and stop (finishing their batch) on SIGTERM
 * before the database closes.
 */
@Injectable()
export class ServiceEventBus implements OnApplicationBootstrap {
  readonly producer: EventProducer;
  private readonly projections: Projection<TopicName>[] = [];
  private readonly runners: ProjectionRunner<TopicName>[] = [];

  constructor(
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
    @Inject(METRICS_REGISTRY) private readonly metrics: Registry,
    private readonly health: HealthChecks,
    shutdown: ShutdownSequence,
  ) {
    this.producer = new EventProducer({ brokers: config.kafkaBrokers, clientId: config.serviceName, logger, topicPrefix: config.topicPrefix });
    shutdown.beforeStop(() => this.stop());
  }

  project<T extends TopicName>(projection: Projection<T>): void {
    this.projections.push(projection as unknown as Projection<TopicName>);
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.projections.length === 0) return;
    await this.producer.connect();
    for (const projection of this.projections) {
      const runner = new ProjectionRunner({
        projection,
        brokers: this.config.kafkaBrokers,
        dataSource: this.dataSource,
        logger: this.logger,
        metrics: this.metrics,
        producer: this.producer,
        topicPrefix: this.config.topicPrefix,
        ...this.config.consumer,
      });
      await runner.start();
      this.runners.push(runner);
      this.health.register(`kafka:${projection.groupId}`, () => ({ up: runner.isHealthy() }));
    }
  }

  private async stop(): Promise<void> {
    await Promise.all(this.runners.map((runner) => runner.stop()));
    await this.producer.disconnect();
  }
}
