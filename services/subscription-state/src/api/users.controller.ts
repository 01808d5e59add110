import {
  Controller,
  Get,
  HttpCode,
  Logger,
  NotFoundException,
  Param,
  Post,
  Put,
  ServiceUnavailableException,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { MessageKeys, SdkUserEvent } from '@push/contracts';
import { ExactIdPipe, WorkspaceId, ZodBody } from '@push/service-kit';
import { MAX_ID_BYTES } from '../domain/validation';
import { SubscriptionsQueries } from '../projections/subscriptions/subscriptions-queries';
import { TrackPublisher } from './track-publisher';
import {
  PUSH_SUBSCRIBE,
  SubscriptionBody,
  UsersTrackBody,
  dashboardEventOf,
  pushSubscribeOf,
  subscriptionBody,
  subscriptionEventsOf,
  usersTrackBody,
} from './users-track';

const id = new ExactIdPipe(MAX_ID_BYTES);

const SUBSCRIPTION_SCHEMA = {
  type: 'object',
  properties: {
    user_id: { type: 'string' },
    push_subscribe: { type: 'string', enum: [...PUSH_SUBSCRIBE] },
    push_opted_in_at: {
      type: 'string',
      format: 'date-time',
      nullable: true,
      description: 'when the user last became opted_in (kept afterwards); null if never',
    },
    history: {
      type: 'array',
      description: 'every change, oldest (first applied) first',
      items: {
        type: 'object',
        properties: {
          from: { type: 'string', enum: [...PUSH_SUBSCRIBE], nullable: true, description: 'null: first sighting' },
          to: { type: 'string', enum: [...PUSH_SUBSCRIBE] },
          source: { type: 'string', enum: ['first_seen', 'sdk', 'rest', 'dashboard', 'auto_opt_in'] },
          at: { type: 'string', format: 'date-time', description: "the cause's occurred_at" },
        },
      },
    },
  },
};

@ApiTags('users')
@Controller()
export class UsersController {
  private readonly logger = new Logger(UsersController.name);
  private readonly queries: SubscriptionsQueries;

  constructor(
    dataSource: DataSource,
    private readonly publisher: TrackPublisher,
  ) {
    this.queries = new SubscriptionsQueries(dataSource);
  }

  @Post('users/track')
  @HttpCode(201)
  @ApiOperation({
    summary:
      "Braze's /users/track: each attributes object's push_subscribe is published as a PushSubscriptionSet (source REST); other attributes, events and purchases are accepted and ignored",
  })
  @ApiCreatedResponse({
    description: 'every event acknowledged by Kafka',
    schema: {
      type: 'object',
      properties: { message: { type: 'string', enum: ['success'] }, attributes_processed: { type: 'integer' } },
    },
  })
  @ApiBadRequestResponse({
    description:
      'a bad attributes object (the body names its index and field, e.g. attributes.3.push_subscribe), more than 75 objects, or a body that is not JSON or too large: nothing of the request is published',
  })
  @ApiServiceUnavailableResponse({ description: 'Kafka did not acknowledge the events; retry the request' })
  async track(@WorkspaceId() workspaceId: string, @ZodBody(usersTrackBody) body: UsersTrackBody) {
    await this.publish(workspaceId, subscriptionEventsOf(body, workspaceId, Date.now()));
    return {
      message: 'success',
      attributes_processed: body.attributes?.length ?? 0,
      ...(body.events ? { events_processed: body.events.length } : {}),
      ...(body.purchases ? { purchases_processed: body.purchases.length } : {}),
    };
  }

  @Put('users/:user_id/subscription')
  @ApiOperation({
    summary:
      "The console's change of a user's push subscription: published as a PushSubscriptionSet (source DASHBOARD); answered once Kafka acknowledged it",
  })
  @ApiParam({ name: 'user_id', description: `exact external id; 1 to ${MAX_ID_BYTES} bytes of UTF-8` })
  @ApiOkResponse({
    description: 'the state set (the read model has it once the projection applied it)',
    schema: {
      type: 'object',
      properties: { user_id: { type: 'string' }, push_subscribe: { type: 'string', enum: [...PUSH_SUBSCRIBE] } },
    },
  })
  @ApiBadRequestResponse({
    description: 'a push_subscribe that is not one of the three, or a user id that cannot exist',
  })
  @ApiServiceUnavailableResponse({ description: 'Kafka did not acknowledge the change; retry the request' })
  async setSubscription(
    @WorkspaceId() workspaceId: string,
    @Param('user_id', id) userId: string,
    @ZodBody(subscriptionBody) body: SubscriptionBody,
  ) {
    await this.publish(workspaceId, [dashboardEventOf(body, workspaceId, userId, Date.now())]);
    return { user_id: userId, push_subscribe: body.push_subscribe };
  }

  /** Publishes the events (all acknowledged, or a 503: retrying is safe, the same preference again changes nothing). */
  private async publish(workspaceId: string, events: SdkUserEvent[]): Promise<void> {
    if (events.length === 0) return;
    try {
      await this.publisher.publish(
        events.map((event) => ({ key: MessageKeys.user(workspaceId, event.data.user_id), event })),
      );
    } catch (error) {
      this.logger.warn(`publishing ${events.length} subscription changes failed: ${(error as Error).message}`);
      throw new ServiceUnavailableException(
        'the subscription changes could not be published (Kafka did not acknowledge them); retry the request',
      );
    }
  }

  @Get('users/:user_id/subscription')
  @ApiOperation({ summary: "The user's push subscription state and its history, oldest first" })
  @ApiParam({ name: 'user_id', description: `exact external id; 1 to ${MAX_ID_BYTES} bytes of UTF-8` })
  @ApiOkResponse({ description: 'the subscription', schema: SUBSCRIPTION_SCHEMA })
  @ApiNotFoundResponse({ description: 'this workspace never saw the user' })
  @ApiBadRequestResponse({ description: 'a user id that cannot exist (blank, a NUL character, too long)' })
  async subscription(@WorkspaceId() workspaceId: string, @Param('user_id', id) userId: string) {
    const [user, history] = await Promise.all([
      this.queries.user(workspaceId, userId),
      this.queries.history(workspaceId, userId),
    ]);
    if (!user) throw new NotFoundException(`no user ${userId} in this workspace`);
    return {
      user_id: userId,
      push_subscribe: pushSubscribeOf(user.state),
      push_opted_in_at: user.opted_in_at_ms === null ? null : new Date(user.opted_in_at_ms).toISOString(),
      history: history.map((h) => ({
        from: h.from_state === null ? null : pushSubscribeOf(h.from_state),
        to: pushSubscribeOf(h.to_state),
        source: h.source.toLowerCase(),
        at: h.at.toISOString(),
      })),
    };
  }
}
