import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Post,
  Req,
  Res,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { ZodValidationPipe } from '@push/service-kit';
import { CONSOLE_CONFIG } from '../tokens';
import type { ConsoleConfig } from '../config';
import { Sessions, refuseOtherOrigin } from './sessions';

const signInBody = z.strictObject({
  api_key: z
    .string({ error: 'expected the API key as a string' })
    .trim()
    .min(1, 'must not be empty')
    .max(512, 'is longer than any API key'),
});

/** Any authenticated read proves a key: an unknown user's devices is a cheap, empty answer. */
const KEY_CHECK_PATH = '/users/console-sign-in-check/devices';

@Controller('session')
export class SessionController {
  constructor(
    private readonly sessions: Sessions,
    @Inject(CONSOLE_CONFIG) private readonly config: ConsoleConfig,
  ) {}

  /** Sign-in: the key is checked against token-registry before it is kept, so a wrong key never gets a session. */
  @Post()
  @HttpCode(200)
  async signIn(
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
    @Body(new ZodValidationPipe(signInBody)) body: z.infer<typeof signInBody>,
  ) {
    refuseOtherOrigin(request);
    const status = await this.checkKey(body.api_key);
    if (status === 401 || status === 403)
      throw new UnauthorizedException('api_key: the services do not accept this API key');
    if (status !== 200)
      throw new ServiceUnavailableException(
        `api_key: could not be checked (token-registry answered ${status ?? 'nothing'}); retry when it is up`,
      );
    const workspaceId = this.config.apiKeys.get(body.api_key) ?? null;
    return { workspace_id: workspaceId, ...this.sessions.start(request, response, body.api_key, workspaceId) };
  }

  @Get()
  me(@Req() request: Request) {
    const session = this.sessions.require(request);
    return { workspace_id: session.workspaceId, csrf_token: session.csrfToken };
  }

  @Delete()
  @HttpCode(204)
  signOut(@Req() request: Request, @Res({ passthrough: true }) response: Response) {
    this.sessions.require(request);
    this.sessions.end(response);
  }

  private async checkKey(apiKey: string): Promise<number | null> {
    try {
      const answer = await fetch(this.config.services['token-registry'] + KEY_CHECK_PATH, {
        headers: { Authorization: `Bearer ${apiKey}` },
        signal: AbortSignal.timeout(5000),
      });
      await answer.body?.cancel();
      return answer.status;
    } catch {
      return null;
    }
  }
}
