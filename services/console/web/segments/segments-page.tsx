import { useState } from 'preact/hooks';
import { ApiError, currentCsrfToken, sendJson, serviceUrl } from '../api';
import { useAppIds } from '../app-names';
import { formatCount } from '../format';
import {
  EMPTY_FORM,
  Filter,
  FilterForm,
  FilterIssue,
  FormField,
  fieldOfIssue,
  filterToForm,
  formToFilter,
} from './filter-form';

interface Size {
  total: number;
  reachable: { ios_push: number; android_push: number; web_push: number };
}

type Mode = 'form' | 'json';

/** What a failed request left to show: problems by form field, those of no field, and the raw issues for the editor. */
interface Problems {
  byField: Partial<Record<FormField, string>>;
  general: string[];
  issues: FilterIssue[];
}
const NO_PROBLEMS: Problems = { byField: {}, general: [], issues: [] };

const TRISTATE_FIELDS: {
  field: 'push_enabled' | 'foreground_push_enabled' | 'background_push_enabled';
  label: string;
}[] = [
  { field: 'push_enabled', label: 'Push Enabled' },
  { field: 'foreground_push_enabled', label: 'Foreground Push Enabled' },
  { field: 'background_push_enabled', label: 'Background Push Enabled' },
];

const PLATFORMS = [
  { key: 'ios_push', label: 'iOS Push' },
  { key: 'android_push', label: 'Android Push' },
  { key: 'web_push', label: 'Web Push' },
] as const;

export function SegmentsPage() {
  const [mode, setMode] = useState<Mode>('form');
  const [form, setForm] = useState<FilterForm>(EMPTY_FORM);
  const [json, setJson] = useState(() => JSON.stringify(formToFilter(EMPTY_FORM).filter, null, 2));
  const [problems, setProblems] = useState<Problems>(NO_PROBLEMS);
  const [size, setSize] = useState<Size | null>(null);
  /** Answers shown so far: lets a reader (the benchmark) tell a new answer from an equal old one. */
  const [answers, setAnswers] = useState(0);
  const [busy, setBusy] = useState(false);
  const [exported, setExported] = useState<string | null>(null);
  const appIds = useAppIds();

  const update = (field: FormField, value: string) => {
    const next = { ...form, [field]: value };
    setForm(next);
    setJson(JSON.stringify(formToFilter(next).filter, null, 2));
  };

  const switchTo = (next: Mode) => {
    setProblems(NO_PROBLEMS);
    if (next === 'form') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(json);
      } catch {
        return setProblems({
          ...NO_PROBLEMS,
          general: ['The JSON is not valid: fix it before going back to the form.'],
        });
      }
      const shown = filterToForm(parsed);
      if (!shown)
        return setProblems({
          ...NO_PROBLEMS,
          general: ['The form shows an "and" of the common predicates only; this filter stays in the JSON editor.'],
        });
      setForm(shown);
    }
    setMode(next);
  };

  /** The filter to send and the form fields of its operands (none in JSON mode), or null after a local problem. */
  const current = (): { filter: Filter; fields: FormField[] } | null => {
    if (mode === 'form') return formToFilter(form);
    try {
      return { filter: JSON.parse(json) as Filter, fields: [] };
    } catch (error) {
      setProblems({ ...NO_PROBLEMS, issues: [{ field: 'filter', problem: `not JSON: ${(error as Error).message}` }] });
      return null;
    }
  };

  const failed = (error: unknown, fields: FormField[]) => {
    const issues = error instanceof ApiError ? (error.body?.issues ?? []) : [];
    if (issues.length === 0) return setProblems({ ...NO_PROBLEMS, general: [(error as Error).message] });
    const byField: Problems['byField'] = {};
    const general: string[] = [];
    for (const issue of issues) {
      const field = mode === 'form' ? fieldOfIssue(issue, fields) : null;
      if (field) byField[field] = issue.problem;
      else if (mode === 'form') general.push(`${issue.field}: ${issue.problem}`);
    }
    setProblems({ byField, general, issues: mode === 'json' ? issues : [] });
  };

  const showSize = async (event: Event) => {
    event.preventDefault();
    const sent = current();
    if (!sent) return;
    setBusy(true);
    setProblems(NO_PROBLEMS);
    try {
      setSize(await sendJson<Size>('POST', serviceUrl('segmentation', '/segments/size'), { filter: sent.filter }));
      setAnswers((n) => n + 1);
    } catch (error) {
      setSize(null);
      failed(error, sent.fields);
    } finally {
      setBusy(false);
    }
  };

  /**
   * The filter is checked (and its size shown) first, so that a bad one is a message at its field; then a form
   * submission downloads segmentation's CSV stream straight to disk (the console pipes it through).
   */
  const exportCsv = async () => {
    const sent = current();
    if (!sent) return;
    setProblems(NO_PROBLEMS);
    let checked: Size;
    try {
      checked = await sendJson<Size>('POST', serviceUrl('segmentation', '/segments/size'), { filter: sent.filter });
    } catch (error) {
      setExported(null);
      return failed(error, sent.fields);
    }
    setSize(checked);
    const form = document.createElement('form');
    form.method = 'POST';
    form.action = '/console/export.csv';
    form.hidden = true;
    for (const [name, value] of [
      ['filter', JSON.stringify(sent.filter)],
      ['csrf_token', currentCsrfToken() ?? ''],
    ]) {
      const input = document.createElement('input');
      input.type = 'hidden';
      input.name = name;
      input.value = value;
      form.append(input);
    }
    document.body.append(form);
    form.submit();
    form.remove();
    setExported(`Exporting ${formatCount(checked.total)} users to segment-users.csv…`);
  };

  const describedBy = (field: FormField) => (problems.byField[field] ? `${field}-problem` : undefined);
  const problemOf = (field: FormField) =>
    problems.byField[field] && (
      <span id={`${field}-problem`} class="field-error" role="alert">
        {problems.byField[field]}
      </span>
    );

  return (
    <>
      <h1>Segments</h1>
      <div class="tabs" role="group" aria-label="Filter editor">
        <button type="button" aria-pressed={mode === 'form'} onClick={() => switchTo('form')}>
          Form
        </button>
        <button type="button" aria-pressed={mode === 'json'} onClick={() => switchTo('json')}>
          JSON
        </button>
      </div>
      <form onSubmit={showSize} class="segment" aria-label="Segment filter">
        {mode === 'form' ? (
          <fieldset>
            <legend>All of these</legend>
            {TRISTATE_FIELDS.map(({ field, label }) => (
              <div class="field" key={field}>
                <label for={field}>{label}</label>
                <select
                  id={field}
                  value={form[field]}
                  aria-describedby={describedBy(field)}
                  onChange={(e) => update(field, (e.currentTarget as HTMLSelectElement).value)}
                >
                  <option value="any">any</option>
                  <option value="true">yes</option>
                  <option value="false">no</option>
                </select>
                {problemOf(field)}
              </div>
            ))}
            <div class="field">
              <label for="push_subscription">Push Subscription Status</label>
              <select
                id="push_subscription"
                value={form.push_subscription}
                aria-describedby={describedBy('push_subscription')}
                onChange={(e) => update('push_subscription', (e.currentTarget as HTMLSelectElement).value)}
              >
                <option value="any">any</option>
                <option value="subscribed">Subscribed</option>
                <option value="opted_in">Opted-In</option>
                <option value="unsubscribed">Unsubscribed</option>
              </select>
              {problemOf('push_subscription')}
            </div>
            <div class="field">
              <label for="platform">Has a token on</label>
              <select
                id="platform"
                value={form.platform}
                aria-describedby={describedBy('platform')}
                onChange={(e) => update('platform', (e.currentTarget as HTMLSelectElement).value)}
              >
                <option value="any">any platform</option>
                <option value="ios">iOS</option>
                <option value="android">Android</option>
                <option value="web">Web</option>
              </select>
              {problemOf('platform')}
            </div>
            <div class="field">
              <label for="push_enabled_for_app">Push Enabled for App</label>
              <input
                id="push_enabled_for_app"
                list="known-apps"
                value={form.push_enabled_for_app}
                placeholder="any app"
                aria-invalid={problems.byField.push_enabled_for_app !== undefined}
                aria-describedby={describedBy('push_enabled_for_app')}
                onInput={(e) => update('push_enabled_for_app', (e.currentTarget as HTMLInputElement).value)}
              />
              <datalist id="known-apps">
                {appIds.map((id) => (
                  <option key={id} value={id} />
                ))}
              </datalist>
              {problemOf('push_enabled_for_app')}
            </div>
            <div class="field">
              <label for="user_ids">External user ids</label>
              <textarea
                id="user_ids"
                rows={2}
                value={form.user_ids}
                placeholder="everyone"
                aria-describedby={describedBy('user_ids')}
                onInput={(e) => update('user_ids', (e.currentTarget as HTMLTextAreaElement).value)}
              />
              {problemOf('user_ids')}
            </div>
          </fieldset>
        ) : (
          <div class="field">
            <label for="filter-json">Filter (JSON, DESIGN §5)</label>
            <textarea
              id="filter-json"
              class="code"
              rows={12}
              spellcheck={false}
              value={json}
              aria-invalid={problems.issues.length > 0}
              aria-describedby={problems.issues.length > 0 ? 'filter-json-problems' : undefined}
              onInput={(e) => setJson((e.currentTarget as HTMLTextAreaElement).value)}
            />
            {problems.issues.length > 0 && (
              <ul id="filter-json-problems" class="field-error" role="alert">
                {problems.issues.map((issue, i) => (
                  <li key={i}>
                    <code>{issue.field}</code>: {issue.problem}
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
        {problems.general.length > 0 && (
          <ul class="error" role="alert">
            {problems.general.map((p, i) => (
              <li key={i}>{p}</li>
            ))}
          </ul>
        )}
        <div class="actions">
          <button type="submit" disabled={busy}>
            Show size
          </button>
          <button type="button" class="secondary" onClick={exportCsv}>
            Export CSV
          </button>
          {exported && (
            <span class="note" role="status" data-testid="export-status">
              {exported}
            </span>
          )}
        </div>
      </form>
      {size && <SizeView size={size} answer={answers} />}
    </>
  );
}

function SizeView({ size, answer }: { size: Size; answer: number }) {
  const largest = Math.max(1, ...PLATFORMS.map((p) => size.reachable[p.key]));
  return (
    <section aria-labelledby="size-title" class="size" data-testid="size" data-answer={answer}>
      <h2 id="size-title">
        Segment size: <span data-testid="segment-total">{formatCount(size.total)}</span> users
      </h2>
      <table data-testid="reachable">
        <caption>Reachable users</caption>
        <thead>
          <tr>
            <th scope="col">Platform</th>
            <th scope="col">Users</th>
            <th scope="col">
              <span class="visually-hidden">Bar chart</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {PLATFORMS.map((p) => (
            <tr key={p.key}>
              <th scope="row">{p.label}</th>
              <td class="number" data-testid={p.key}>
                {formatCount(size.reachable[p.key])}
              </td>
              <td class="bar-cell" aria-hidden="true">
                <div class="bar" style={{ width: `${(100 * size.reachable[p.key]) / largest}%` }} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="hint">A user can be reachable on several platforms, and a segment's total can exceed their sum (G6).</p>
    </section>
  );
}
