import { Controller, Get, Inject, Injectable } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { ApiTags } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { Public } from '../auth/api-key.guard';
import { DATA_SOURCE } from '../tokens';

export type HealthProbe = () => Promise<{ up: boolean; details?: Record<string, unknown> }> | { up: boolean; details?: Record<string, unknown> };

/** Named checks other parts of a service add (Kafka consumers, provider credentials); all must be up. */
@Injectable()
export class HealthChecks {
  private readonly probes = new Map<string, HealthProbe>();

  register(name: string, probe: HealthProbe): void {
    this.probes.set(name, probe);
  }

  entries(): [string, HealthProbe][] {
    return [...this.probes];
  }
}

@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    private readonly checks: HealthChecks,
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
  ) {}

  /** 200 when the database answers and every registered check (consumers connected, …) is up; 503 otherwise. */
  @Get()
  @Public()
  @HealthCheck()
  check() {
    return this.health.check([
      () => this.database(),
      ...this.checks.entries().map(([name, probe]) => () => this.probe(name, probe)),
    ]);
  }

  private async database(): Promise<HealthIndicatorResult> {
    const session = this.indicator.check('database');
    try {
      await this.dataSource.query('select 1');
      return session.up();
    } catch (error) {
      return session.down({ message: error instanceof Error ? error.message : String(error) });
    }
  }

  private async probe(name: string, probe: HealthProbe): Promise<HealthIndicatorResult> {
    const session = this.indicator.check(name);
    try {
      const { up, details } = await probe();
      return up ? session.up(details ?? {}) : session.down(details ?? {});
    } catch (error) {
      return session.down({ message: error instanceof Error ? error.message : String(error) });
    }
  }
}
