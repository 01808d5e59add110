import type { Type } from '@nestjs/common';
import { DiscoveryService, ModulesContainer } from '@nestjs/core';
import { CustomTransportStrategy, MessageHandler, Server } from '@nestjs/microservices';
import { isObservable, lastValueFrom } from 'rxjs';
import { ALL_EVENT_TOPICS, TopicName } from '@push/contracts';
import type { ConsumedEvent, OutgoingEvent, Projection } from '@push/event-bus';
import {
  PROJECTION_GROUP,
  PROJECTION_HANDLER_EXTRAS,
  PROJECTION_TRANSPORT,
  PROJECTION_VALIDATOR,
  ProjectionContext,
  ProjectionHandlerDeclaration,
} from './projection.decorators';

/** Receives the projections once Nest built them (`ServiceEventBus` runs them). */
export type ProjectionsReceiver = (projections: Projection<TopicName>[]) => void;

interface RegisteredHandler {
  pattern: unknown;
  handle: MessageHandler;
  isEventHandler: boolean;
  declaration: ProjectionHandlerDeclaration | undefined;
}

/** A `@ProjectionController` class as Nest built it, and its handlers by topic. */
interface ProjectionClass {
  groupId: string;
  instance: Record<string, unknown>;
  handlers: Map<TopicName, { handle: MessageHandler; method: string }>;
}

/**
 * The Nest microservice transport of projections (`app.connectMicroservice({ strategy })`, done by `createServiceApp`).
 * Nest builds the `@ProjectionController` classes with their dependencies and hands their `@ProjectionHandler` methods
 * here through its RPC pipeline; `listen()` turns each class into the `Projection` of its consumer group — its topics,
 * its `@ProjectionValidator`, and an `apply` that calls the topic's handler once per batch — and gives them to the
 * receiver (`ServiceEventBus`, which owns the runners: start, health, retries, stop). A misconfiguration fails
 * `listen()` (and so the start) naming every problem.
 *
 * Per batch, a call goes through Nest's pipeline (the class's guards, interceptors and pipes — global ones are not
 * applied: the transport does not inherit the HTTP app's); per event nothing is added.
 */
export class ProjectionTransport extends Server implements CustomTransportStrategy {
  override readonly transportId = PROJECTION_TRANSPORT;
  /** The runner awaits every handler call and classifies its error itself. */
  override readonly propagatesEventHandlerErrors = true;
  private readonly registered: RegisteredHandler[] = [];

  constructor(
    private readonly modules: ModulesContainer,
    private readonly receive: ProjectionsReceiver,
  ) {
    super();
  }

  /**
   * Nest hands over every pattern handler of the application here. They are kept in a list, not in Nest's map by
   * pattern: two groups may consume one topic, and Nest would chain handlers of one pattern into one call.
   */
  override addHandler(
    pattern: unknown,
    handle: MessageHandler,
    isEventHandler = false,
    extras: Record<string, unknown> = {},
  ): void {
    const declaration = extras[PROJECTION_HANDLER_EXTRAS] as ProjectionHandlerDeclaration | undefined;
    this.registered.push({ pattern, handle, isEventHandler, declaration });
  }

  listen(callback: (error?: unknown) => void): void {
    try {
      this.receive(this.projections());
    } catch (error) {
      callback(error);
      return;
    }
    callback();
  }

  /** Nothing to do: `ServiceEventBus` stops the runners, before Nest closes its transports and then the database. */
  close(): void {}

  on(): never {
    throw new Error('the projection transport emits no events');
  }

  unwrap<T>(): T {
    throw new Error('the projection transport wraps no client: ServiceEventBus owns the runners');
  }

  private projections(): Projection<TopicName>[] {
    const problems: string[] = [];
    const classes = this.projectionClasses(problems);
    for (const { pattern, handle, isEventHandler, declaration } of this.registered) {
      if (!declaration || !isEventHandler) {
        problems.push(
          `${JSON.stringify(pattern)}: a @EventPattern/@MessagePattern handler that is not a @ProjectionHandler; a projection handler is declared with @ProjectionHandler(topic) in a @ProjectionController(groupId) class`,
        );
        continue;
      }
      const where = `${declaration.declaredIn.name}.${declaration.method}`;
      const projection = classes.get(declaration.declaredIn);
      if (!projection) {
        problems.push(
          `${where} is a @ProjectionHandler, but ${declaration.declaredIn.name} is not a @ProjectionController(groupId)`,
        );
        continue;
      }
      if (typeof pattern !== 'string' || !(ALL_EVENT_TOPICS as readonly string[]).includes(pattern)) {
        problems.push(
          `${where}: ${JSON.stringify(pattern)} is not a contract topic (one of ${ALL_EVENT_TOPICS.join(', ')})`,
        );
        continue;
      }
      const topic = pattern as TopicName;
      const other = projection.handlers.get(topic);
      if (other) {
        problems.push(
          `group ${projection.groupId}: ${topic} has two handlers, ${declaration.declaredIn.name}.${other.method} and ${where}; a group applies each topic with one handler`,
        );
        continue;
      }
      projection.handlers.set(topic, { handle, method: declaration.method });
    }

    const byGroup = new Map<string, string>();
    for (const [type, { groupId, handlers }] of classes) {
      if (handlers.size === 0)
        problems.push(`${type.name} is a @ProjectionController with no @ProjectionHandler method`);
      const other = byGroup.get(groupId);
      if (other !== undefined)
        problems.push(
          `group ${groupId} is declared by ${other} and ${type.name}; a group is one @ProjectionController`,
        );
      byGroup.set(groupId, type.name);
    }
    if (problems.length > 0) throw new Error(`projections misconfigured:\n- ${problems.join('\n- ')}`);

    return [...classes].map(([type, projection]) => projectionOf(type, projection));
  }

  /** The `@ProjectionController` classes Nest built; a projection class listed where it cannot run is a problem. */
  private projectionClasses(problems: string[]): Map<Type<unknown>, ProjectionClass> {
    const discovery = new DiscoveryService(this.modules);
    const groupOf = (metatype: unknown): string | undefined =>
      typeof metatype === 'function' ? Reflect.getMetadata(PROJECTION_GROUP, metatype) : undefined;
    for (const wrapper of discovery.getProviders()) {
      if (groupOf(wrapper.metatype) !== undefined)
        problems.push(
          `${wrapper.name} is listed in the providers of ${wrapper.host?.name}: a projection is a controller (list it in controllers)`,
        );
    }
    const classes = new Map<Type<unknown>, ProjectionClass>();
    for (const wrapper of discovery.getControllers()) {
      const type = wrapper.metatype as Type<unknown>;
      const groupId = groupOf(type);
      if (groupId === undefined) continue;
      if (classes.has(type)) {
        problems.push(`${type.name} is a controller of two modules; a projection is built once`);
        continue;
      }
      if (!wrapper.isDependencyTreeStatic()) {
        problems.push(`${type.name} depends on a request-scoped provider; a projection is built once, at start`);
        continue;
      }
      classes.set(type, { groupId, instance: wrapper.instance as Record<string, unknown>, handlers: new Map() });
    }
    return classes;
  }
}

/** The runner's view of a projection class: its group, its topics, its validator, one handler call per batch. */
function projectionOf(type: Type<unknown>, { groupId, instance, handlers }: ProjectionClass): Projection<TopicName> {
  const validatorName: string | symbol | undefined = Reflect.getMetadata(PROJECTION_VALIDATOR, type);
  const validator =
    validatorName === undefined
      ? undefined
      : (instance[validatorName as string] as (consumed: ConsumedEvent) => string | null).bind(instance);
  const handlerOf = new Map([...handlers].map(([topic, { handle }]) => [topic, handle]));
  return {
    groupId,
    topics: [...handlerOf.keys()],
    validate: validator,
    async apply(events, tx) {
      // A batch is always from one topic-partition.
      const handle = handlerOf.get(events[0].topic)!;
      const context: ProjectionContext = { tx };
      const result: unknown = await handle(events, context);
      // An interceptor on the class makes Nest return an observable of the handler's result.
      const outputs = isObservable(result) ? await lastValueFrom(result, { defaultValue: undefined }) : result;
      return outputs as readonly OutgoingEvent[] | void;
    },
  };
}
