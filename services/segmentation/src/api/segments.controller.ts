import { Controller, HttpCode, Logger, Post, Res } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import type { Response } from 'express';
import { exportUser, matches, parseFilter, segmentFilterSchema, type SegmentFilter } from '@push/segments';
import { AppsFile, InvalidInputException, WorkspaceId, ZodBody } from '@push/service-kit';
import { loadUserViews, userIdPages } from '../projections/audience/audience-queries';
import { AudienceIndexCache } from '../projections/audience/audience-index-cache';
import { appsSeen } from '../projections/audience/segment-size-sql';
import { writeNdjson } from './ndjson-writer';

/** The body of `POST /segments/size`: a §5 filter, every problem a 400 naming its path (`filter.and.0.platform`). */
export const segmentBody = z.strictObject({ filter: segmentFilterSchema() });
type SegmentBody = z.infer<typeof segmentBody>;

@ApiTags('segments')
@Controller()
export class SegmentsController {
  private readonly logger = new Logger('SegmentsController');

  constructor(
    private readonly dataSource: DataSource,
    private readonly apps: AppsFile,
    private readonly index: AudienceIndexCache,
  ) {}

  @Post('segments/size')
  @HttpCode(200)
  @ApiOperation({
    summary: "A segment's exact size and its reachable users per platform (G1–G6), in the key's workspace",
  })
  @ApiOkResponse({
    description: 'the exact counts',
    schema: {
      type: 'object',
      properties: {
        total: { type: 'integer' },
        reachable: {
          type: 'object',
          properties: {
            ios_push: { type: 'integer' },
            android_push: { type: 'integer' },
            web_push: { type: 'integer' },
          },
        },
      },
    },
  })
  @ApiBadRequestResponse({
    description:
      'a bad filter: the body names the JSON path of each problem (e.g. filter.and.0.platform), an unknown app too',
  })
  async size(@WorkspaceId() workspaceId: string, @ZodBody(segmentBody) body: SegmentBody) {
    await this.checkApps(workspaceId, body.filter);
    return (await this.index.size(workspaceId, body.filter)).size;
  }

  @Post('users/export/segment')
  @ApiOperation({
    summary:
      'The users of a segment as NDJSON, one export/ids user object a line (G7), of one committed snapshot, streamed with backpressure',
  })
  @ApiOkResponse({ description: 'application/x-ndjson: one user object per line, in user id order' })
  @ApiBadRequestResponse({ description: 'a bad filter: the body names the JSON path of each problem' })
  async exportSegment(
    @WorkspaceId() workspaceId: string,
    @ZodBody(segmentBody) body: SegmentBody,
    @Res() response: Response,
  ): Promise<void> {
    await this.checkApps(workspaceId, body.filter);
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.query('start transaction isolation level repeatable read read only');
      response.status(200).type('application/x-ndjson');
      await writeNdjson(segmentUsers(runner, workspaceId, body.filter), response);
      response.end();
    } catch (error) {
      // Headers are sent: the client sees a truncated stream, never a line of a half-read user.
      this.logger.error(`export/segment failed: ${error instanceof Error ? error.message : String(error)}`);
      response.destroy();
    } finally {
      await runner.query('rollback').catch(() => undefined);
      await runner.release();
    }
  }

  /** An app neither the apps file nor any device of the workspace names is a 400 at its path. */
  private async checkApps(workspaceId: string, filter: SegmentBody['filter']): Promise<void> {
    if (!JSON.stringify(filter).includes('"push_enabled_for_app"')) return;
    const known = new Set(await appsSeen(this.dataSource, workspaceId));
    for (const app of this.apps.apps) if (app.workspace_id === workspaceId) known.add(app.app_id);
    const parsed = parseFilter(filter, { knownApps: known });
    if (!parsed.ok)
      throw new InvalidInputException(
        parsed.issues.map((issue) => ({ field: ['filter', ...issue.path].join('.'), problem: issue.message })),
      );
  }
}

/** The export objects of the users of the segment, a page of views in memory at a time. */
async function* segmentUsers(db: Pick<DataSource, 'query'>, workspaceId: string, filter: SegmentFilter) {
  for await (const ids of userIdPages(db, workspaceId)) {
    const views = await loadUserViews(db, workspaceId, ids);
    for (const id of ids) {
      const view = views.get(id);
      if (view && matches(filter, view)) yield exportUser(view);
    }
  }
}
