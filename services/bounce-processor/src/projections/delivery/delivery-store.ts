import type { EntityManager } from 'typeorm';
import type { DeviceDeliveryEvent, DeviceTokenEvent, DispatchOutcomeEvent } from '@push/contracts';
import type { ReasonClassification } from '@push/providers';
import { AppRef, BounceProcessor, OperatorCommand } from '../../domain/bounce-processor';
import type { BurstSettings } from '../../domain/burst-window';
import {
  DeviceKey,
  deliveryOf,
  deviceRefOf,
  lockDeliveryDevices,
  upsertDeliveryDevices,
} from './delivery-devices-table';
import { loadWindows, saveShardWatermark, saveWindows, shardWatermark } from './burst-tables';
import { WaitingRow, bounceOf, loadPending, lockHeld, saveWaiting } from './waiting-bounces';

export interface Applied {
  events: DeviceDeliveryEvent[];
  unknownReasons: ReasonClassification[];
}

const deviceKeyOf = (data: DeviceKey): DeviceKey => ({
  workspace_id: data.workspace_id,
  app_id: data.app_id,
  device_id: data.device_id,
});

async function putDevices(tx: EntityManager, processor: BounceProcessor, keys: readonly DeviceKey[]): Promise<void> {
  for (const row of await lockDeliveryDevices(tx, keys)) processor.putDevice(deviceRefOf(row), deliveryOf(row));
}

function putRows(processor: BounceProcessor, rows: readonly WaitingRow[]): void {
  for (const row of rows) processor.putWaiting(bounceOf(row), row.state);
}

async function save(tx: EntityManager, processor: BounceProcessor): Promise<void> {
  await upsertDeliveryDevices(tx, processor.changedDevices());
  await saveWindows(tx, processor.shard, processor.changedWindows());
  await saveWaiting(tx, processor.shard, processor.changed.waiting);
  if (processor.watermark !== null) await saveShardWatermark(tx, processor.shard, processor.watermark);
}

/**
 * One batch of one `dispatch.outcomes.v1` partition (the B4 shard), in its transaction: loads the shard's time, the
 * batch's devices, the pending bounces the batch may decide (its apps' and those its time passes) with their devices,
 * and the windows of all those apps; applies the domain; writes back what changed.
 */
export async function applyOutcomes(
  tx: EntityManager,
  shard: number,
  settings: BurstSettings,
  inputs: readonly DispatchOutcomeEvent[],
): Promise<Applied> {
  const outcomes = inputs.flatMap((input) => (input.type === 'DispatchCompleted' ? [] : [input.data]));
  const stored = await shardWatermark(tx, shard);
  const latest = outcomes.reduce<number | null>(
    (max, d) => (max === null ? d.occurred_at : Math.max(max, d.occurred_at)),
    stored,
  );
  const apps: AppRef[] = outcomes.map((d) => ({ workspaceId: d.workspace_id, appId: d.app_id }));
  const pending = await loadPending(tx, shard, apps, latest === null ? null : latest - settings.settleMs);

  const processor = new BounceProcessor(shard, settings, stored);
  await putDevices(tx, processor, [...outcomes.map(deviceKeyOf), ...pending.map(deviceKeyOf)]);
  const windowApps = [...apps, ...pending.map((row) => ({ workspaceId: row.workspace_id, appId: row.app_id }))];
  for (const { ref, window } of await loadWindows(tx, shard, windowApps)) processor.putWindow(ref, window);
  putRows(processor, pending);

  const events = inputs.flatMap((input) => processor.handle(input));
  await save(tx, processor);
  return { events, unknownReasons: processor.unknownReasons };
}

/** One batch of `token-registry.device-tokens.v1`: B2 on the registrations' devices. */
export async function applyRegistrations(
  tx: EntityManager,
  shard: number,
  inputs: readonly DeviceTokenEvent[],
): Promise<Applied> {
  const processor = new BounceProcessor(shard);
  const registrations = inputs.filter(
    (input) =>
      input.type === 'TokenAssigned' ||
      input.type === 'TokenReplaced' ||
      input.type === 'TokenRenewed' ||
      input.type === 'DeviceUserChanged',
  );
  await putDevices(
    tx,
    processor,
    registrations.map((input) => deviceKeyOf(input.data)),
  );
  const events = registrations.flatMap((input) => processor.handle(input));
  await upsertDeliveryDevices(tx, processor.changedDevices());
  return { events, unknownReasons: [] };
}

/** An operator's release or discard of an app's held bounces (B4), in the caller's transaction. */
export async function applyOperatorCommand(
  tx: EntityManager,
  command: OperatorCommand,
): Promise<Applied & { bounces: number }> {
  const app: AppRef = { workspaceId: command.data.workspace_id, appId: command.data.app_id };
  const held = await lockHeld(tx, app);
  // The shard is not used: a release or discard decides nothing about windows.
  const processor = new BounceProcessor(-1);
  await putDevices(tx, processor, held.map(deviceKeyOf));
  putRows(processor, held);
  const events = processor.handle(command);
  await upsertDeliveryDevices(tx, processor.changedDevices());
  await saveWaiting(tx, processor.shard, processor.changed.waiting);
  return { events, unknownReasons: [], bounces: held.length };
}
