import { Catch, Controller, ExceptionFilter, SetMetadata, Type, UseFilters, applyDecorators } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import type { EntityManager } from 'typeorm';
import type { TopicName } from '@push/contracts';
import type { ConsumedEvent, OutgoingEvent } from '@push/event-bus';

/** The Nest transport of projection handlers (`ProjectionTransport`): another transport would leave them alone. */
export const PROJECTION_TRANSPORT = Symbol('projections');
/** Class metadata: the consumer group of a `@ProjectionController`. */
export const PROJECTION_GROUP = 'push:projection-group';
/** Class metadata: the name of the method `@ProjectionValidator` marks. */
export const PROJECTION_VALIDATOR = 'push:projection-validator';
/** The key, in a handler's `@EventPattern` extras, of where the handler is declared. */
export const PROJECTION_HANDLER_EXTRAS = 'projectionHandler';

/** Where a projection handler is declared, for the transport to find its class (its group) and name it in errors. */
export interface ProjectionHandlerDeclaration {
  declaredIn: Type<unknown>;
  method: string;
}

/** What a handler gets with its batch, besides the events. */
export interface ProjectionContext {
  /**
   * The batch's transaction: everything written through it commits together with the batch's stored offsets, its
   * outputs and its dead letters, or not at all.
   */
  readonly tx: EntityManager;
}

/**
 * A projection handler: applies a batch of one topic-partition (in offset order) and returns the events to publish
 * (written to the outbox in the same transaction; each with a deterministic `event_id`). Throw `RejectedEventError`
 * for an event that breaks the contract in a way only the read model shows: the transaction rolls back, that event is
 * dead-lettered and the batch applied again without it. Any other error is the runner's to classify (retry, or
 * isolate and dead-letter a message whose data fails the store).
 */
export type ProjectionHandlerMethod<T extends TopicName> = (
  events: ConsumedEvent<T>[],
  context: ProjectionContext,
) => Promise<readonly OutgoingEvent[] | void>;

/**
 * A projection validator: contract checks beyond the schema that need no database. A reason dead-letters the event
 * (`CONTRACT_VIOLATION`) before the handler sees it, without a rollback; null lets it through. It sees every event of
 * the class's topics and may use the class's injected dependencies.
 */
export type ProjectionValidatorMethod<T extends TopicName> = (consumed: ConsumedEvent<T>) => string | null;

/**
 * Gives a projection handler's error, unchanged, back to the runner that called it. Nest's RPC pipeline would log it
 * and replace it with `{ status: 'error', message: 'Internal server error' }`, and the runner decides from the error
 * itself — `RejectedEventError`, a Postgres SQLSTATE, a `RangeError` — whether to dead-letter, isolate or retry.
 */
@Catch()
class ErrorsToTheRunner implements ExceptionFilter {
  catch(error: unknown): never {
    throw error;
  }
}

/**
 * A projection: a class Nest builds (with its injected dependencies) whose `@ProjectionHandler` methods apply the
 * events of one consumer group. `groupId` is also the key of its stored offsets. List the class in its module's
 * `controllers` (Nest finds event handlers in controllers only); it serves no HTTP route.
 */
export function ProjectionController(groupId: string): ClassDecorator {
  return applyDecorators(
    Controller(),
    UseFilters(new ErrorsToTheRunner()),
    SetMetadata(PROJECTION_GROUP, groupId),
  ) as ClassDecorator;
}

/**
 * Marks the method that applies batches of `topics` (contract topics) for its class's group: Nest's `@EventPattern`
 * with the batch as payload and the `ProjectionContext` as context. A batch is always from one topic-partition; each
 * topic of a group has one handler.
 */
export function ProjectionHandler<T extends TopicName>(...topics: [T, ...T[]]) {
  // Generic over the method, so that the compiler checks it takes the batch of these topics and the context.
  return <M extends ProjectionHandlerMethod<T>>(
    target: object,
    method: string | symbol,
    descriptor: TypedPropertyDescriptor<M>,
  ): void => {
    // Nest passes a handler only the arguments its parameters are decorated for (by default the payload alone).
    Payload()(target, method, 0);
    Ctx()(target, method, 1);
    const declaration: ProjectionHandlerDeclaration = {
      declaredIn: target.constructor as Type<unknown>,
      method: String(method),
    };
    EventPattern(topics, PROJECTION_TRANSPORT, { [PROJECTION_HANDLER_EXTRAS]: declaration })(
      target,
      method,
      descriptor,
    );
  };
}

/** Marks the method that validates every event of its class's topics before the handlers see them. At most one. */
export function ProjectionValidator() {
  return <M extends ProjectionValidatorMethod<never>>(
    target: object,
    method: string | symbol,
    // Unused at run time: typing it makes the compiler check the method's signature.
    _descriptor: TypedPropertyDescriptor<M>,
  ): void => {
    const existing: unknown = Reflect.getMetadata(PROJECTION_VALIDATOR, target.constructor);
    if (existing !== undefined)
      throw new Error(
        `${target.constructor.name}: two @ProjectionValidator methods (${String(existing)}, ${String(method)}); a projection has at most one`,
      );
    Reflect.defineMetadata(PROJECTION_VALIDATOR, method, target.constructor);
  };
}
