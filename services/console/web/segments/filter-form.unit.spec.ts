import { EMPTY_FORM, EVERYONE, FilterForm, fieldOfIssue, filterToForm, formToFilter } from './filter-form';

describe('the segment form and its filter JSON (DESIGN §5)', () => {
  it('an empty form is every user of the workspace: the or of the three subscription states (G5)', () => {
    expect(formToFilter(EMPTY_FORM)).toEqual({ filter: EVERYONE, fields: [] });
    expect(filterToForm(EVERYONE)).toEqual(EMPTY_FORM);
  });

  it('G2, G5: each field set becomes one operand of an and, in the form order, and its field is remembered', () => {
    const form: FilterForm = { ...EMPTY_FORM, push_enabled: 'true', platform: 'ios', user_ids: 'kim, alex\nsam' };

    expect(formToFilter(form)).toEqual({
      filter: { and: [{ push_enabled: true }, { platform: 'ios' }, { user_ids: ['kim', 'alex', 'sam'] }] },
      fields: ['push_enabled', 'platform', 'user_ids'],
    });
  });

  it('every form round-trips through its JSON', () => {
    const forms: FilterForm[] = [
      { ...EMPTY_FORM, foreground_push_enabled: 'false' },
      { ...EMPTY_FORM, background_push_enabled: 'true', push_subscription: 'opted_in' },
      { ...EMPTY_FORM, push_enabled_for_app: 'ios-app', push_enabled: 'false', platform: 'web' },
      {
        push_enabled: 'true',
        foreground_push_enabled: 'true',
        background_push_enabled: 'false',
        push_subscription: 'unsubscribed',
        platform: 'android',
        push_enabled_for_app: 'android-app',
        user_ids: 'a, b',
      },
    ];
    for (const form of forms) expect(filterToForm(formToFilter(form).filter)).toEqual(form);
  });

  it('a single predicate without an and is shown in the form too', () => {
    expect(filterToForm({ push_subscription: 'unsubscribed' })).toEqual({
      ...EMPTY_FORM,
      push_subscription: 'unsubscribed',
    });
  });

  it('leaves to the JSON editor what the form cannot show: or, not, a predicate twice, unknown keys or values', () => {
    expect(filterToForm({ or: [{ platform: 'ios' }, { platform: 'web' }] })).toBeNull();
    expect(filterToForm({ not: { push_enabled: true } })).toBeNull();
    expect(filterToForm({ and: [{ platform: 'ios' }, { platform: 'web' }] })).toBeNull();
    expect(filterToForm({ and: [{ platfrom: 'ios' }] })).toBeNull();
    expect(filterToForm({ and: [{ push_enabled: 'yes' }] })).toBeNull();
    expect(filterToForm({ and: [{ platform: 'ios', push_enabled: true }] })).toBeNull();
    expect(filterToForm({ user_ids: ['has space'] })).toBeNull();
    expect(filterToForm([])).toBeNull();
  });

  it("puts a 400's problem on the field whose operand its path names, else on the form", () => {
    const { fields } = formToFilter({ ...EMPTY_FORM, push_enabled: 'true', push_enabled_for_app: 'nope' });

    expect(fieldOfIssue({ field: 'filter.and.1.push_enabled_for_app', problem: 'unknown app' }, fields)).toBe(
      'push_enabled_for_app',
    );
    expect(fieldOfIssue({ field: 'filter.and.0', problem: 'x' }, fields)).toBe('push_enabled');
    expect(fieldOfIssue({ field: 'filter', problem: 'x' }, fields)).toBeNull();
    expect(fieldOfIssue({ field: 'filter.and.7.platform', problem: 'x' }, fields)).toBeNull();
  });
});
