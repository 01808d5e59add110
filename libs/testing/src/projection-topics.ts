import type { INestApplication } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, ModulesContainer } from '@nestjs/core';
import { PATTERN_METADATA } from '@nestjs/microservices/constants';
import type { TopicName } from '@push/contracts';
import { PROJECTION_GROUP } from '@push/service-kit';

/**
 * The projections of a built application: each `@ProjectionController`'s consumer group and the topics of its
 * `@ProjectionHandler` methods, read from the metadata the decorators left (as the kit's transport finds them).
 * Loaded by the harness once the service is built, so that unit tests importing `@push/testing` load no Nest.
 */
export function projectionTopicsOf(app: INestApplication): Map<string, TopicName[]> {
  const scanner = new MetadataScanner();
  const projections = new Map<string, TopicName[]>();
  for (const { metatype, instance } of new DiscoveryService(app.get(ModulesContainer)).getControllers()) {
    const group: unknown = typeof metatype === 'function' ? Reflect.getMetadata(PROJECTION_GROUP, metatype) : undefined;
    if (typeof group !== 'string' || !instance) continue;
    const prototype = Object.getPrototypeOf(instance) as Record<string, unknown>;
    const topics = scanner
      .getAllMethodNames(prototype)
      .flatMap((method) => (Reflect.getMetadata(PATTERN_METADATA, prototype[method] as object) ?? []) as TopicName[]);
    projections.set(group, [...new Set(topics)]);
  }
  return projections;
}
