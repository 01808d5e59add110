import { Controller, Get, Inject, Req } from '@nestjs/common';
import type { Request } from 'express';
import type { AppsFile } from '@push/service-kit';
import { CONSOLE_APPS } from '../tokens';
import { Sessions } from '../session/sessions';

/**
 * The apps of the session's workspace from the apps file (DESIGN §6): the names "Push Registered For" shows. Only the
 * id, name and platform leave the server (the file also holds provider secrets).
 */
@Controller('console/apps')
export class AppsController {
  constructor(
    private readonly sessions: Sessions,
    @Inject(CONSOLE_APPS) private readonly apps: AppsFile,
  ) {}

  @Get()
  list(@Req() request: Request) {
    const { workspaceId } = this.sessions.require(request);
    return {
      workspace_id: workspaceId,
      apps: this.apps.apps
        .filter((app) => app.workspace_id === workspaceId)
        .map((app) => ({ app_id: app.app_id, name: app.name, platform: app.platform })),
    };
  }
}
