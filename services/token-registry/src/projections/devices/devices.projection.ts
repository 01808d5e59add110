import { DeviceTokenEvent, MessageKeys, Topics } from '@push/contracts';
import type { ConsumedEvent, OutgoingEvent } from '@push/event-bus';
import { ProjectionContext, ProjectionController, ProjectionHandler, ProjectionValidator } from '@push/service-kit';
import { inputProblem } from '../../domain/validation';
import { DevicesStore } from './devices-store';

type Consumed = typeof Topics.DeviceEvents | typeof Topics.DeviceDelivery;

/**
 * token-registry's rules: SDK device events and token invalidations in, the devices read model out, and what changed
 * published on `token-registry.device-tokens.v1` (through the outbox, in the same transaction as the offsets). The
 * token changelog is not written here: it is projected from what was published (`TokenChangelogProjection`). Built by
 * Nest; its group's runner is started by the service kit.
 */
@ProjectionController('token-registry.devices')
export class DevicesProjection {
  @ProjectionValidator()
  validate({ event }: ConsumedEvent<Consumed>): string | null {
    return inputProblem(event);
  }

  @ProjectionHandler(Topics.DeviceEvents, Topics.DeviceDelivery)
  async apply(
    consumed: ConsumedEvent<Consumed>[],
    { tx }: ProjectionContext,
  ): Promise<OutgoingEvent<typeof Topics.DeviceTokens>[]> {
    const inputs = consumed.map((c) => c.event);
    const store = await DevicesStore.load(tx, inputs);
    const published: DeviceTokenEvent[] = inputs.flatMap((input) => store.registry.handle(input));
    await store.save();
    return published.map((event) => ({
      topic: Topics.DeviceTokens,
      key: MessageKeys.device(event.data.workspace_id, event.data.app_id, event.data.device_id),
      event,
    }));
  }
}
