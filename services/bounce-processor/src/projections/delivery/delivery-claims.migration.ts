import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `delivery_device_claims`: one row per device key any batch has touched, so that two concurrent batches (a device's
 * outcomes and its registrations come on two topics) lock a device that has no `delivery_devices` row yet
 * (`lockDeliveryDevices`). Filled from the devices already stored.
 */
export class DeliveryDeviceClaims1796083200006 implements MigrationInterface {
  name = 'DeliveryDeviceClaims1796083200006';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      create table delivery_device_claims (
        workspace_id text not null,
        app_id text not null,
        device_id text not null,
        primary key (workspace_id, app_id, device_id)
      )`);
    await queryRunner.query(`
      insert into delivery_device_claims (workspace_id, app_id, device_id)
      select workspace_id, app_id, device_id from delivery_devices`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('drop table delivery_device_claims');
  }
}
