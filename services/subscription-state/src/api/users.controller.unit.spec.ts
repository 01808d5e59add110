import { ServiceUnavailableException } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import type { TrackPublisher } from './track-publisher';
import { UsersController } from './users.controller';

/** What the HTTP API answers when Kafka does not acknowledge (the broker tests cover the rest with a real broker). */
describe('UsersController when Kafka does not acknowledge', () => {
  const failing = { publish: () => Promise.reject(new Error('KafkaJSConnectionError: ECONNREFUSED')) };
  const controller = new UsersController({} as DataSource, failing as unknown as TrackPublisher);

  it('/users/track is a 503 saying to retry, never a 500 nor a 201', async () => {
    const answer = controller.track('acme', { attributes: [{ external_id: 'kim', push_subscribe: 'opted_in' }] });

    await expect(answer).rejects.toBeInstanceOf(ServiceUnavailableException);
    await expect(answer).rejects.toThrow('retry the request');
  });

  it('PUT /users/{id}/subscription is a 503 too', async () => {
    await expect(controller.setSubscription('acme', 'kim', { push_subscribe: 'unsubscribed' })).rejects.toBeInstanceOf(
      ServiceUnavailableException,
    );
  });

  it('/users/track without push_subscribe publishes nothing, so it needs no broker', async () => {
    await expect(controller.track('acme', { attributes: [{ external_id: 'kim', country: 'NZ' }] })).resolves.toEqual({
      message: 'success',
      attributes_processed: 1,
    });
  });
});
