import { All, Controller, Inject, Logger, NotFoundException, Req, Res } from '@nestjs/common';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import type { Request, Response } from 'express';
import { CONSOLE_CONFIG } from '../tokens';
import { ConsoleConfig, FORWARDED_SERVICES, ForwardedService } from '../config';
import { Sessions } from '../session/sessions';

/** What passes through besides the body: what it is and what the page accepts (text/csv for the CSV export). */
const REQUEST_HEADERS = ['content-type', 'content-length', 'accept'] as const;
const RESPONSE_HEADERS = ['content-type', 'content-length', 'content-disposition'] as const;

const isService = (name: string): name is ForwardedService => (FORWARDED_SERVICES as readonly string[]).includes(name);

/**
 * `/api/<service>/<path>` → `<service base URL>/<path>` with the session's key as the bearer. Bodies are streamed both
 * ways, so an export streams from segmentation to the browser with the services' own backpressure, and a page that
 * goes away stops the request upstream. Nothing is interpreted: the services' answers (401, 400 naming the field, …)
 * reach the page as they are.
 */
@Controller('api')
export class ForwardController {
  private readonly logger = new Logger(ForwardController.name);

  constructor(
    private readonly sessions: Sessions,
    @Inject(CONSOLE_CONFIG) private readonly config: ConsoleConfig,
  ) {}

  @All(':service/*path')
  forward(@Req() request: Request, @Res() response: Response): void {
    const service = request.params.service as string;
    if (!isService(service)) throw new NotFoundException(`service: expected one of ${FORWARDED_SERVICES.join(', ')}`);
    const session = this.sessions.require(request);
    const target = new URL(
      this.config.services[service] + request.originalUrl.slice(`/api/${service}`.length).replace(/^\/*/, '/'),
    );
    const headers: IncomingHttpHeaders = { authorization: `Bearer ${session.apiKey}` };
    for (const name of REQUEST_HEADERS) if (request.headers[name]) headers[name] = request.headers[name];

    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const upstream = send(target, { method: request.method, headers }, (answer) => {
      response.status(answer.statusCode ?? 502);
      for (const name of RESPONSE_HEADERS) if (answer.headers[name]) response.setHeader(name, answer.headers[name]!);
      response.setHeader('Cache-Control', 'no-store');
      answer.pipe(response);
      answer.once('error', () => response.destroy());
    });
    upstream.once('error', (error) => {
      if (response.headersSent) return response.destroy();
      this.logger.warn(`${service} did not answer: ${error.message}`);
      response.status(502).json({ statusCode: 502, error: 'Bad Gateway', message: `${service}: not answering` });
    });
    // The page went away (closed, navigated): stop the request, so an export stops reading upstream too.
    response.once('close', () => {
      if (!response.writableFinished) upstream.destroy();
    });
    request.pipe(upstream);
  }
}
