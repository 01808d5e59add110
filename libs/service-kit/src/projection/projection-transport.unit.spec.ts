import { Controller, ExecutionContext, Module, Type } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { EventPattern } from '@nestjs/microservices';
import { Topics, TopicName } from '@push/contracts';
import type { ConsumedEvent } from '@push/event-bus';
import { LogCapture } from '@push/testing';
import { ApiKeyGuard } from '../auth/api-key.guard';
import { createServiceApp } from '../bootstrap/run-service';
import { loadConfig } from '../config/load-config';
import { createDataSource } from '../database/database';
import { ProjectionController, ProjectionHandler, ProjectionValidator } from './projection.decorators';

type DeviceEvents = typeof Topics.DeviceEvents;

/** Builds a service of these modules; the start checks the projections before anything connects. */
async function start(...modules: Type<unknown>[]): Promise<unknown> {
  const config = loadConfig('token-registry', undefined, { LOG_LEVEL: 'silent' });
  const dataSource = createDataSource({ url: config.databaseUrl }); // never connected: the start fails first
  const app = await createServiceApp(
    { name: 'token-registry', description: 'spec', imports: modules },
    config,
    dataSource,
    new LogCapture(),
  );
  await app.close();
  return app;
}

@ProjectionController('spec.twice')
class SameTopicTwice {
  @ProjectionHandler(Topics.DeviceEvents)
  async first(_events: ConsumedEvent<DeviceEvents>[]): Promise<void> {}

  @ProjectionHandler(Topics.DeviceEvents)
  async second(_events: ConsumedEvent<DeviceEvents>[]): Promise<void> {}
}

@ProjectionController('spec.not-a-topic')
class NotATopic {
  @ProjectionHandler('sdk.device-events.v2' as TopicName)
  async apply(_events: ConsumedEvent[]): Promise<void> {}
}

@ProjectionController('spec.provider')
class ListedAsProvider {
  @ProjectionHandler(Topics.DeviceEvents)
  async apply(_events: ConsumedEvent<DeviceEvents>[]): Promise<void> {}
}

@ProjectionController('spec.no-handler')
class NoHandler {}

@ProjectionController('spec.shared')
class SharedGroupA {
  @ProjectionHandler(Topics.DeviceEvents)
  async apply(_events: ConsumedEvent<DeviceEvents>[]): Promise<void> {}
}

@ProjectionController('spec.shared')
class SharedGroupB {
  @ProjectionHandler(Topics.UserEvents)
  async apply(_events: ConsumedEvent<typeof Topics.UserEvents>[]): Promise<void> {}
}

@Controller()
class PlainEventHandler {
  @EventPattern(Topics.DeviceEvents)
  async apply(_events: unknown): Promise<void> {}
}

@Controller()
class HandlerOutsideProjection {
  @ProjectionHandler(Topics.DeviceEvents)
  async apply(_events: ConsumedEvent<DeviceEvents>[]): Promise<void> {}
}

@ProjectionController('spec.valid')
class ValidProjection {
  @ProjectionValidator()
  validate(_consumed: ConsumedEvent<DeviceEvents>): string | null {
    return null;
  }

  @ProjectionHandler(Topics.DeviceEvents)
  async apply(_events: ConsumedEvent<DeviceEvents>[]): Promise<void> {}
}

describe('projection declarations checked at start', () => {
  it('fails when one group has two handlers for one topic, naming both', async () => {
    @Module({ controllers: [SameTopicTwice] })
    class Twice {}

    await expect(start(Twice)).rejects.toThrow(
      'group spec.twice: sdk.device-events.v1 has two handlers, SameTopicTwice.first and SameTopicTwice.second',
    );
  });

  it('fails when a handler’s topic is not a contract topic', async () => {
    @Module({ controllers: [NotATopic] })
    class Unknown {}

    await expect(start(Unknown)).rejects.toThrow(
      'NotATopic.apply: "sdk.device-events.v2" is not a contract topic (one of sdk.device-events.v1, ',
    );
  });

  it('fails when a projection is listed in providers (it would never run) or declares no handler', async () => {
    @Module({ providers: [ListedAsProvider], controllers: [NoHandler] })
    class Misplaced {}

    const failure = start(Misplaced);

    await expect(failure).rejects.toThrow(
      'ListedAsProvider is listed in the providers of Misplaced: a projection is a controller (list it in controllers)',
    );
    await expect(failure).rejects.toThrow('NoHandler is a @ProjectionController with no @ProjectionHandler method');
  });

  it('fails when two classes declare one group, or a handler is not in a @ProjectionController', async () => {
    @Module({ controllers: [SharedGroupA, SharedGroupB, HandlerOutsideProjection] })
    class Shared {}

    const failure = start(Shared);

    await expect(failure).rejects.toThrow(
      'group spec.shared is declared by SharedGroupA and SharedGroupB; a group is one @ProjectionController',
    );
    await expect(failure).rejects.toThrow(
      'HandlerOutsideProjection.apply is a @ProjectionHandler, but HandlerOutsideProjection is not a @ProjectionController(groupId)',
    );
  });

  it('fails on a plain @EventPattern handler: the projection transport serves projection handlers only', async () => {
    @Module({ controllers: [PlainEventHandler] })
    class Plain {}

    await expect(start(Plain)).rejects.toThrow(
      '"sdk.device-events.v1": a @EventPattern/@MessagePattern handler that is not a @ProjectionHandler',
    );
  });

  it('starts a well-declared projection', async () => {
    @Module({ controllers: [ValidProjection] })
    class Valid {}

    await expect(start(Valid)).resolves.toBeDefined();
  });

  it('refuses a second @ProjectionValidator in one class when the class is declared', () => {
    const declare = () => {
      class TwoValidators {
        @ProjectionValidator()
        first(_consumed: ConsumedEvent<DeviceEvents>): string | null {
          return null;
        }

        @ProjectionValidator()
        second(_consumed: ConsumedEvent<DeviceEvents>): string | null {
          return null;
        }
      }
      return TwoValidators;
    };

    expect(declare).toThrow(
      'TwoValidators: two @ProjectionValidator methods (first, second); a projection has at most one',
    );
  });
});

describe('the API-key guard', () => {
  it('lets a projection handler’s call (rpc context) through: API keys are HTTP’s', () => {
    const guard = new ApiKeyGuard(new Reflector(), loadConfig('token-registry', undefined, { API_KEYS: 'k=ws' }));
    const rpcCall = { getType: () => 'rpc' } as unknown as ExecutionContext;

    expect(guard.canActivate(rpcCall)).toBe(true);
  });
});
