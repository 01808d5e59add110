/**
 * The segment form: an `and` of the common predicates of DESIGN §5, each optional, and its two-way translation to the
 * filter JSON. A filter the form cannot show (an `or`, a `not`, a predicate twice) is left to the JSON editor.
 */
export type Tristate = 'any' | 'true' | 'false';

export interface FilterForm {
  push_enabled: Tristate;
  foreground_push_enabled: Tristate;
  background_push_enabled: Tristate;
  push_subscription: 'any' | 'subscribed' | 'opted_in' | 'unsubscribed';
  platform: 'any' | 'ios' | 'android' | 'web';
  /** '' = any app. */
  push_enabled_for_app: string;
  /** Comma-, space- or line-separated external ids; '' = everyone. */
  user_ids: string;
}

export type FormField = keyof FilterForm;

export const EMPTY_FORM: FilterForm = {
  push_enabled: 'any',
  foreground_push_enabled: 'any',
  background_push_enabled: 'any',
  push_subscription: 'any',
  platform: 'any',
  push_enabled_for_app: '',
  user_ids: '',
};

export type Filter = Record<string, unknown>;

/**
 * Every user has exactly one of the three states (G5), so their `or` is the whole workspace: what an empty form
 * means. (§5 has no "everyone" predicate and refuses an empty `and`.)
 */
export const EVERYONE: Filter = {
  or: [{ push_subscription: 'subscribed' }, { push_subscription: 'opted_in' }, { push_subscription: 'unsubscribed' }],
};

const FIELD_ORDER: FormField[] = [
  'push_enabled',
  'foreground_push_enabled',
  'background_push_enabled',
  'push_subscription',
  'platform',
  'push_enabled_for_app',
  'user_ids',
];

export const splitUserIds = (text: string): string[] =>
  text
    .split(/[\s,]+/)
    .map((id) => id.trim())
    .filter((id) => id !== '');

/** The form's filter, and for each `and` operand the field it came from (to put a 400 on the right field). */
export function formToFilter(form: FilterForm): { filter: Filter; fields: FormField[] } {
  const leaves: Filter[] = [];
  const fields: FormField[] = [];
  for (const field of FIELD_ORDER) {
    const value = form[field];
    let leaf: Filter | null = null;
    if (field === 'push_enabled' || field === 'foreground_push_enabled' || field === 'background_push_enabled') {
      if (value !== 'any') leaf = { [field]: value === 'true' };
    } else if (field === 'user_ids') {
      const ids = splitUserIds(value);
      if (ids.length > 0) leaf = { user_ids: ids };
    } else if (field === 'push_enabled_for_app') {
      if (value.trim() !== '') leaf = { push_enabled_for_app: value.trim() };
    } else if (value !== 'any') leaf = { [field]: value };
    if (leaf) {
      leaves.push(leaf);
      fields.push(field);
    }
  }
  return { filter: leaves.length === 0 ? EVERYONE : { and: leaves }, fields };
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The form showing `filter`, or null when the form cannot express it (then only the JSON editor shows it). */
export function filterToForm(filter: unknown): FilterForm | null {
  if (JSON.stringify(filter) === JSON.stringify(EVERYONE)) return { ...EMPTY_FORM };
  if (!isRecord(filter)) return null;
  const leaves = Array.isArray(filter.and) && Object.keys(filter).length === 1 ? filter.and : [filter];
  const form: FilterForm = { ...EMPTY_FORM };
  const seen = new Set<string>();
  for (const leaf of leaves) {
    if (!isRecord(leaf)) return null;
    const keys = Object.keys(leaf);
    if (keys.length !== 1) return null;
    const [key] = keys;
    const value = leaf[key];
    if (seen.has(key)) return null;
    seen.add(key);
    switch (key) {
      case 'push_enabled':
      case 'foreground_push_enabled':
      case 'background_push_enabled':
        if (typeof value !== 'boolean') return null;
        form[key] = value ? 'true' : 'false';
        break;
      case 'push_subscription':
        if (value !== 'subscribed' && value !== 'opted_in' && value !== 'unsubscribed') return null;
        form.push_subscription = value;
        break;
      case 'platform':
        if (value !== 'ios' && value !== 'android' && value !== 'web') return null;
        form.platform = value;
        break;
      case 'push_enabled_for_app':
        if (typeof value !== 'string' || value.trim() === '') return null;
        form.push_enabled_for_app = value;
        break;
      case 'user_ids':
        if (
          !Array.isArray(value) ||
          value.length === 0 ||
          !value.every((id) => typeof id === 'string' && !/[\s,]/.test(id))
        )
          return null;
        form.user_ids = value.join(', ');
        break;
      default:
        return null;
    }
  }
  return form;
}

/** A problem of segmentation's 400 (`{field, problem}`, e.g. `filter.and.2.push_enabled_for_app`). */
export interface FilterIssue {
  field: string;
  problem: string;
}

/**
 * Where the form shows a 400's problem: the field whose `and` operand the path names, or null (the form-wide message)
 * when the path points elsewhere.
 */
export function fieldOfIssue(issue: FilterIssue, fields: FormField[]): FormField | null {
  const match = /^filter\.and\.(\d+)(\.|$)/.exec(issue.field);
  if (!match) return null;
  return fields[Number(match[1])] ?? null;
}
