import { randomUUID } from 'node:crypto';
import {
  ConflictException,
  Controller,
  Get,
  HttpCode,
  Logger,
  NotFoundException,
  Param,
  Post,
  Query,
  ServiceUnavailableException,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiQuery,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { MessageKeys, Topics } from '@push/contracts';
import { ExactIdPipe, InvalidInputException, ServiceEventBus, WorkspaceId, ZodBody } from '@push/service-kit';
import { MAX_ID_BYTES } from '../domain/validation';
import {
  TARGET_STATES,
  type TargetState,
  dispatchDevicePage,
  dispatchProgress,
  noteAccepted,
} from '../projections/dispatches/dispatch-queries';
import {
  DEFAULT_DEVICES_LIMIT,
  type DeviceCursor,
  MAX_DEVICES_LIMIT,
  devicesAfter,
  devicesLimit,
  devicesState,
  encodeDeviceCursor,
} from './device-page-query';
import { DispatchBody, dispatchBody, dispatchRequestedOf } from './dispatch-body';

const id = new ExactIdPipe(MAX_ID_BYTES);
const idParam = ApiParam({ name: 'id', description: `the dispatch id; 1 to ${MAX_ID_BYTES} bytes of UTF-8` });

const COUNT = { type: 'integer' };
const PROGRESS_SCHEMA = {
  type: 'object',
  properties: {
    dispatch_id: { type: 'string' },
    status: {
      type: 'string',
      enum: ['pending', 'running', 'completed'],
      description:
        'pending: accepted or recorded, nothing sent yet; running: pushes in flight; completed: every device has its outcome (DispatchCompleted published)',
    },
    targeted: { ...COUNT, description: 'devices considered: sent + bounced + failed + skipped + still pending' },
    sent: COUNT,
    bounced: COUNT,
    failed: COUNT,
    skipped: {
      type: 'object',
      properties: { unsubscribed: COUNT, not_push_enabled: COUNT, suppressed: COUNT },
    },
  },
};

const DEVICES_SCHEMA = {
  type: 'object',
  properties: {
    dispatch_id: { type: 'string' },
    devices: {
      type: 'array',
      description: 'a page of the devices the dispatch considers, in (app_id, device_id) order',
      items: {
        type: 'object',
        properties: {
          app_id: { type: 'string' },
          device_id: { type: 'string' },
          user_id: { type: 'string', nullable: true, description: 'null: an anonymous device (transactional)' },
          platform: { type: 'string', enum: ['ios', 'android', 'web'] },
          outcome: {
            type: 'string',
            enum: ['sent', 'bounced', 'failed', 'skipped'],
            nullable: true,
            description: 'null while the push is pending or in flight',
          },
          reason: {
            type: 'string',
            nullable: true,
            description:
              'skipped: unsubscribed | not_push_enabled | suppressed; bounced: the provider reason; failed: the failure reason; sent: null',
          },
          at: { type: 'string', format: 'date-time', nullable: true, description: 'when the outcome was recorded' },
        },
      },
    },
    next: {
      type: 'string',
      nullable: true,
      description: 'the ?after= of the next page; null: this page ends the devices (of the state asked for)',
    },
  },
};

@ApiTags('dispatches')
@Controller()
export class DispatchesController {
  private readonly logger = new Logger(DispatchesController.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly bus: ServiceEventBus,
  ) {}

  @Post('dispatches')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Publishes a DispatchRequested (for callers without a campaign service): the body mirrors its fields; answered once Kafka acknowledged it',
  })
  @ApiAcceptedResponse({
    description: 'published; follow it with GET /dispatches/{dispatch_id}',
    schema: { type: 'object', properties: { dispatch_id: { type: 'string' } } },
  })
  @ApiBadRequestResponse({ description: 'a bad body: the response names each field and its problem' })
  @ApiConflictResponse({ description: 'the dispatch_id is taken by another workspace' })
  @ApiServiceUnavailableResponse({ description: 'Kafka did not acknowledge the request; retrying is safe (D5)' })
  async request(@WorkspaceId() workspaceId: string, @ZodBody(dispatchBody) body: DispatchBody) {
    const dispatchId = body.dispatch_id ?? randomUUID();
    if (await this.takenElsewhere(workspaceId, dispatchId))
      throw new ConflictException(`dispatch_id ${dispatchId} is taken by another workspace`);
    const now = Date.now();
    const event = dispatchRequestedOf(body, workspaceId, dispatchId, now);
    try {
      await this.bus.producer.publish(Topics.DispatchRequests, [
        { key: MessageKeys.dispatch(dispatchId), event: { type: 'DispatchRequested', data: event } },
      ]);
    } catch (error) {
      this.logger.warn(`publishing dispatch ${dispatchId} failed: ${(error as Error).message}`);
      throw new ServiceUnavailableException(
        'the dispatch could not be published (Kafka did not acknowledge it); retry the request with the same dispatch_id',
      );
    }
    await noteAccepted(this.dataSource, workspaceId, dispatchId, now);
    return { dispatch_id: dispatchId };
  }

  @Get('dispatches/:id')
  @ApiOperation({ summary: "A dispatch's progress and counts (DispatchCompleted's, as they grow)" })
  @idParam
  @ApiOkResponse({ description: 'the dispatch', schema: PROGRESS_SCHEMA })
  @ApiNotFoundResponse({ description: 'no such dispatch in this workspace' })
  @ApiBadRequestResponse({ description: 'an id that cannot exist (blank, a NUL character, too long)' })
  async progress(@WorkspaceId() workspaceId: string, @Param('id', id) dispatchId: string) {
    const progress = await dispatchProgress(this.dataSource, workspaceId, dispatchId);
    if (!progress) throw new NotFoundException(`no dispatch ${dispatchId} in this workspace`);
    return progress;
  }

  @Get('dispatches/:id/devices')
  @ApiOperation({
    summary:
      "The devices of a dispatch and their outcomes, a page at a time in (app_id, device_id) order (the console's test send)",
  })
  @idParam
  @ApiQuery({
    name: 'limit',
    required: false,
    schema: { type: 'integer', minimum: 1, maximum: MAX_DEVICES_LIMIT, default: DEFAULT_DEVICES_LIMIT },
    description: 'devices in the page',
  })
  @ApiQuery({
    name: 'after',
    required: false,
    schema: { type: 'string' },
    description: "the previous page's next (an opaque cursor of this dispatch); absent: the first page",
  })
  @ApiQuery({
    name: 'state',
    required: false,
    schema: { type: 'string', enum: [...TARGET_STATES] },
    description: 'only the devices in this state (pending and in_flight have outcome null)',
  })
  @ApiOkResponse({ description: 'a page of the devices', schema: DEVICES_SCHEMA })
  @ApiNotFoundResponse({ description: 'no such dispatch in this workspace' })
  @ApiBadRequestResponse({
    description:
      'an id that cannot exist (blank, a NUL character, too long), or a bad limit, state or after (not a cursor, or one of another dispatch): the response names the parameter',
  })
  async devices(
    @WorkspaceId() workspaceId: string,
    @Param('id', id) dispatchId: string,
    @Query('limit', devicesLimit) limit: number,
    @Query('after', devicesAfter) after: DeviceCursor | undefined,
    @Query('state', devicesState) state: TargetState | undefined,
  ) {
    if (after && after.dispatch_id !== dispatchId)
      throw new InvalidInputException([{ field: 'after', problem: 'is a cursor of another dispatch' }]);
    const page = await dispatchDevicePage(this.dataSource, workspaceId, dispatchId, {
      limit,
      after: after ?? null,
      state: state ?? null,
    });
    if (!page) throw new NotFoundException(`no dispatch ${dispatchId} in this workspace`);
    return {
      dispatch_id: dispatchId,
      devices: page.devices,
      next: page.next && encodeDeviceCursor({ dispatch_id: dispatchId, ...page.next }),
    };
  }

  private async takenElsewhere(workspaceId: string, dispatchId: string): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      `select 1 from dispatches where dispatch_id = $1 and workspace_id <> $2
       union all select 1 from accepted_dispatches where dispatch_id = $1 and workspace_id <> $2`,
      [dispatchId, workspaceId],
    );
    return rows.length > 0;
  }
}
