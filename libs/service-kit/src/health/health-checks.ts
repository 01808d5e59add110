import { Controller, Get, Injectable } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { ApiTags } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { Public } from '../auth/api-key.guard';

export interface ProbeResult {
  up: boolean;
  details?: Record<string, unknown>;
}

export type HealthProbe = () => Promise<ProbeResult> | ProbeResult;

/** A probe that does not answer in time counts as down, so that a hung dependency cannot hang `/health`. */
const PROBE_TIMEOUT_MS = 3000;

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
    private readonly dataSource: DataSource,
  ) {}

  /** 200 when the database answers and every registered check (consumers connected, …) is up; 503 otherwise. */
  @Get()
  @Public()
  @HealthCheck()
  check() {
    const database: HealthProbe = async () => ({ up: (await this.dataSource.query('select 1 as up'))[0]?.up === 1 });
    return this.health.check(
      [['database', database] as const, ...this.checks.entries()].map(
        ([name, probe]) =>
          () =>
            this.probe(name, probe),
      ),
    );
  }

  private async probe(name: string, probe: HealthProbe): Promise<HealthIndicatorResult> {
    const session = this.indicator.check(name);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS);
    });
    try {
      const { up, details } = await Promise.race([Promise.resolve().then(probe), timeout]);
      return up ? session.up(details ?? {}) : session.down(details ?? {});
    } catch (error) {
      return session.down({ message: error instanceof Error ? error.message : String(error) });
    } finally {
      clearTimeout(timer);
    }
  }
}
