import { Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { parseFilter, segmentFilterSchema } from '@push/segments';
import { AppsFile, InvalidInputException, WorkspaceId, ZodBody } from '@push/service-kit';
import { appsSeen, segmentSizeSql } from '../projections/audience/segment-size-sql';

/** The body of `POST /segments/size`: a §5 filter, every problem a 400 naming its path (`filter.and.0.platform`). */
export const segmentBody = z.strictObject({ filter: segmentFilterSchema() });
type SegmentBody = z.infer<typeof segmentBody>;

@ApiTags('segments')
@Controller()
export class SegmentsController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly apps: AppsFile,
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
    return segmentSizeSql(this.dataSource, workspaceId, body.filter);
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
