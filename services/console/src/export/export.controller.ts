import { BadRequestException, Controller, Inject, Logger, Post, Req, Res } from '@nestjs/common';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Request, Response } from 'express';
import { CONSOLE_CONFIG } from '../tokens';
import type { ConsoleConfig } from '../config';
import { Sessions } from '../session/sessions';

/**
 * Export CSV as a real download: the page submits a form here (a navigation the browser saves to disk as it arrives),
 * and segmentation's CSV stream is piped straight through, so neither the console nor the browser holds the export
 * in memory. A form cannot set headers, so its CSRF token comes as a field; the filter comes as JSON text.
 */
@Controller('console')
export class ExportController {
  private readonly logger = new Logger(ExportController.name);

  constructor(
    private readonly sessions: Sessions,
    @Inject(CONSOLE_CONFIG) private readonly config: ConsoleConfig,
  ) {}

  @Post('export.csv')
  exportCsv(@Req() request: Request, @Res() response: Response): void {
    const form = (request.body ?? {}) as { filter?: unknown; csrf_token?: unknown };
    const session = this.sessions.require(request, typeof form.csrf_token === 'string' ? form.csrf_token : undefined);
    let filter: unknown;
    try {
      filter = JSON.parse(typeof form.filter === 'string' ? form.filter : '');
    } catch {
      throw new BadRequestException('filter: expected the filter as JSON text');
    }
    const body = JSON.stringify({ filter });
    const target = new URL(`${this.config.services.segmentation}/users/export/segment`);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const upstream = send(
      target,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${session.apiKey}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          accept: 'text/csv',
        },
      },
      (answer) => {
        response.status(answer.statusCode ?? 502);
        response.setHeader('Content-Type', answer.headers['content-type'] ?? 'application/octet-stream');
        response.setHeader('Cache-Control', 'no-store');
        if (answer.statusCode === 200)
          response.setHeader('Content-Disposition', 'attachment; filename="segment-users.csv"');
        answer.pipe(response);
        answer.once('error', () => response.destroy());
      },
    );
    upstream.once('error', (error) => {
      if (response.headersSent) return response.destroy();
      this.logger.warn(`segmentation did not answer: ${error.message}`);
      response.status(502).json({ statusCode: 502, error: 'Bad Gateway', message: 'segmentation: not answering' });
    });
    response.once('close', () => {
      if (!response.writableFinished) upstream.destroy();
    });
    upstream.end(body);
  }
}
