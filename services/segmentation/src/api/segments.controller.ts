import { Controller, HttpCode, Logger, Post, Req, Res } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import type { Request, Response } from 'express';
import { Counter, Registry } from 'prom-client';
import {
  exportUser,
  matches,
  parseFilter,
  segmentFilterSchema,
  type SegmentFilter,
  type UserView,
} from '@push/segments';
import { AppsFile, InvalidInputException, WorkspaceId, ZodBody } from '@push/service-kit';
import { CSV_HEADER, csvUserRow } from '../domain/export-csv';
import { userViewPages } from '../projections/audience/audience-queries';
import { AudienceIndexCache } from '../projections/audience/audience-index-cache';
import { writeLines } from './ndjson-writer';

/** Users per page of an export (one range scan of users and one of devices each; the next is read meanwhile). */
const EXPORT_PAGE = 5000;

/** The body of `POST /segments/size`: a §5 filter, every problem a 400 naming its path (`filter.and.0.platform`). */
export const segmentBody = z.strictObject({ filter: segmentFilterSchema() });
type SegmentBody = z.infer<typeof segmentBody>;

@ApiTags('segments')
@Controller()
export class SegmentsController {
  private readonly logger = new Logger('SegmentsController');
  private readonly exported: Counter<'format'>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly apps: AppsFile,
    private readonly index: AudienceIndexCache,
    registry: Registry,
  ) {
    this.exported = new Counter({
      name: 'segmentation_export_users_total',
      help: 'Users streamed by POST /users/export/segment, by format (ndjson, csv)',
      labelNames: ['format'],
      registers: [registry],
    });
  }

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
      'The users of a segment, of one committed snapshot, streamed with backpressure: NDJSON (one export/ids user object a line, G7), or with Accept: text/csv the CSV user export of DESIGN §9',
  })
  @ApiProduces('application/x-ndjson', 'text/csv')
  @ApiOkResponse({
    description:
      'application/x-ndjson: one user object per line; text/csv: a header and one row per user (external_id, push_subscribe, push_opted_in_at, push_enabled, foreground_push_enabled, background_push_enabled, ios/android/web_push_reachable, push_tokens as app:platform:device_id:foreground|background joined by ;). In user id order.',
  })
  @ApiBadRequestResponse({ description: 'a bad filter: the body names the JSON path of each problem' })
  async exportSegment(
    @WorkspaceId() workspaceId: string,
    @ZodBody(segmentBody) body: SegmentBody,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    await this.checkApps(workspaceId, body.filter);
    const format = request.accepts(['application/x-ndjson', 'text/csv']) === 'text/csv' ? 'csv' : 'ndjson';
    await this.index.freshStatistics(); // the export's pages are range scans: planned as sorts on stale statistics
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.query('start transaction isolation level repeatable read read only');
      let written: number;
      if (format === 'csv') {
        response.status(200).type('text/csv; charset=utf-8').attachment('segment.csv');
        const rows = segmentLinePages(runner, workspaceId, body.filter, csvUserRow);
        written = await writeLines(withHeader(CSV_HEADER, rows), response);
      } else {
        response.status(200).type('application/x-ndjson');
        written = await writeLines(segmentLinePages(runner, workspaceId, body.filter, ndjsonLine), response);
      }
      this.exported.inc({ format }, format === 'csv' ? Math.max(0, written - 1) : written);
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
    const known = new Set(await this.index.appsSeen(workspaceId));
    for (const app of this.apps.apps) if (app.workspace_id === workspaceId) known.add(app.app_id);
    const parsed = parseFilter(filter, { knownApps: known });
    if (!parsed.ok)
      throw new InvalidInputException(
        parsed.issues.map((issue) => ({ field: ['filter', ...issue.path].join('.'), problem: issue.message })),
      );
  }
}

/**
 * The segment's users in user-id order, a page of views in memory at a time, each page made into its lines at once:
 * one await per page, not per user (a chain of per-user async generators cost more than the users' own lines).
 */
async function* segmentLinePages(
  db: Pick<DataSource, 'query'>,
  workspaceId: string,
  filter: SegmentFilter,
  line: (user: UserView) => string,
): AsyncGenerator<string[]> {
  for await (const page of userViewPages(db, workspaceId, EXPORT_PAGE)) {
    const lines: string[] = [];
    for (const view of page) if (matches(filter, view)) lines.push(line(view));
    yield lines;
  }
}

async function* withHeader(header: string, pages: AsyncIterable<string[]>): AsyncGenerator<string[]> {
  yield [header];
  yield* pages;
}

const ndjsonLine = (user: UserView) => `${JSON.stringify(exportUser(user))}\n`;
