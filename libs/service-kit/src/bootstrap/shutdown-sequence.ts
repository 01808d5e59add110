import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { PINO_LOGGER } from '../tokens';

/** Things that must stop before the database closes register here (Kafka consumers finish their batch). */
@Injectable()
export class ShutdownSequence implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly stoppers: (() => Promise<void>)[] = [];

  constructor(
    private readonly dataSource: DataSource,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
  ) {}

  beforeStop(stop: () => Promise<void>): void {
    this.stoppers.push(stop);
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    if (signal) this.logger.info({ signal }, 'stopping');
    await Promise.all(this.stoppers.map((stop) => stop()));
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}
