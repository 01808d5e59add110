import { Controller, Get, Header } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { Public } from '../auth/api-key.guard';

/**
 * The one metrics registry of the process: the HTTP layer, the Kafka runner and the domain all register into it,
 * and `GET /metrics` serves it. Inject it by its class, `Registry`.
 */
export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry });

@ApiTags('operations')
@Controller('metrics')
export class MetricsController {
  constructor(private readonly registry: Registry) {}

  @Get()
  @Public()
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
