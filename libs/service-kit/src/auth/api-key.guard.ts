import {
  CanActivate,
  ExecutionContext,
  Inject,
  Injectable,
  SetMetadata,
  UnauthorizedException,
  createParamDecorator,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import { SERVICE_CONFIG } from '../tokens';
import type { ServiceConfig } from '../config/load-config';

const IS_PUBLIC = 'push:is-public';

/** Marks a route (health, metrics, docs) as reachable without an API key. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

interface AuthenticatedRequest extends Request {
  workspaceId?: string;
}

/** The workspace the request's API key is bound to; every query of a handler is scoped by it. */
export const WorkspaceId = createParamDecorator((_: unknown, ctx: ExecutionContext): string => {
  const workspaceId = ctx.switchToHttp().getRequest<AuthenticatedRequest>().workspaceId;
  if (!workspaceId) throw new UnauthorizedException('no workspace bound to this request');
  return workspaceId;
});

/**
 * `Authorization: Bearer <key>` → the key's workspace (API_KEYS). Keys are compared as SHA-256 digests with
 * timingSafeEqual, over every configured key, so response time does not reveal how much of a key matched.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly keys: { digest: Buffer; workspaceId: string }[];

  constructor(
    private readonly reflector: Reflector,
    @Inject(SERVICE_CONFIG) config: ServiceConfig,
  ) {
    this.keys = [...config.apiKeys].map(([key, workspaceId]) => ({ digest: digest(key), workspaceId }));
  }

  canActivate(context: ExecutionContext): boolean {
    // API keys are HTTP's; a projection handler (Nest's `rpc` context) is fed by the service's own consumer.
    if (context.getType() !== 'http') return true;
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()]);
    if (isPublic) return true;

    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
    if (!match) throw new UnauthorizedException('missing API key: send Authorization: Bearer <key>');

    const presented = digest(match[1]);
    let workspaceId: string | undefined;
    for (const key of this.keys) if (timingSafeEqual(key.digest, presented)) workspaceId = key.workspaceId;
    if (!workspaceId) throw new UnauthorizedException('unknown API key');
    request.workspaceId = workspaceId;
    return true;
  }
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}
