import { Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { exportUser, type ExportedUser } from '@push/segments';
import { WorkspaceId, ZodBody } from '@push/service-kit';
import { loadUserViews } from '../projections/audience/audience-queries';

/** Braze's limit of identifiers per `/users/export/ids` request. */
export const MAX_EXPORT_IDS = 50;
const EXPORT_FIELDS = ['external_id', 'push_subscribe', 'push_opted_in_at', 'push_tokens'] as const;

/**
 * The body of `POST /users/export/ids`: 1 to 50 non-empty `external_ids`; `fields_to_export` limits each user's
 * fields (Braze names this service does not hold are accepted and yield nothing; `external_id` is always there).
 */
export const exportIdsBody = z.strictObject({
  external_ids: z
    .array(z.string().min(1, 'must not be empty'))
    .min(1, 'must name at least one user')
    .max(MAX_EXPORT_IDS, `must name at most ${MAX_EXPORT_IDS} users`),
  fields_to_export: z.array(z.string()).optional(),
});
type ExportIdsBody = z.infer<typeof exportIdsBody>;

@ApiTags('users')
@Controller()
export class UsersExportController {
  constructor(private readonly dataSource: DataSource) {}

  @Post('users/export/ids')
  @HttpCode(200)
  @ApiOperation({
    summary:
      "Braze's /users/export/ids: each known user's push_subscribe, push_opted_in_at and push_tokens (G7, tokens unmasked), unknown ids in invalid_user_ids",
  })
  @ApiOkResponse({ description: '{message: "success", users: [...], invalid_user_ids: [...]}' })
  @ApiBadRequestResponse({ description: 'a bad body: the issue names the field (e.g. external_ids.3)' })
  async exportIds(@WorkspaceId() workspaceId: string, @ZodBody(exportIdsBody) body: ExportIdsBody) {
    const ids = [...new Set(body.external_ids)];
    const views = await loadUserViews(this.dataSource, workspaceId, ids);
    const fields = body.fields_to_export === undefined ? undefined : new Set(body.fields_to_export);
    return {
      message: 'success',
      users: ids.flatMap((id) => {
        const view = views.get(id);
        return view ? [selectFields(exportUser(view), fields)] : [];
      }),
      invalid_user_ids: ids.filter((id) => !views.has(id)),
    };
  }
}

function selectFields(user: ExportedUser, fields: ReadonlySet<string> | undefined): Partial<ExportedUser> {
  if (fields === undefined) return user;
  const selected: Partial<ExportedUser> = {};
  for (const field of EXPORT_FIELDS) {
    if (field === 'external_id' || fields.has(field)) (selected as Record<string, unknown>)[field] = user[field];
  }
  return selected;
}
