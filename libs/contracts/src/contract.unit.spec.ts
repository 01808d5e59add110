import { join } from 'node:path';
import { AvroComplexSchema, AvroSchema, SchemaVersion, loadSchemaVersions } from './schema-files';
import { Topics } from './topics';

const published = loadSchemaVersions(join(__dirname, '../../../schemas'));
const newest = (record: string) => published.filter((v) => v.record === record).at(-1) as SchemaVersion;
const fieldNames = (record: string) => newest(record).schema.fields.map((f) => f.name);

const deviceEvent = ['event_id', 'workspace_id', 'app_id', 'device_id', 'occurred_at'];
const deviceOutcome = [
  'event_id',
  'dispatch_id',
  'workspace_id',
  'app_id',
  'device_id',
  'user_id',
  'platform',
  'occurred_at',
];

/** DESIGN §3, record by record: topic, namespace and field names, exactly as the other teams build against them. */
const DESIGN: [record: string, topic: string, namespace: string, fields: string[]][] = [
  [
    'TokenRegistered',
    Topics.DeviceEvents,
    'push.sdk',
    [...deviceEvent, 'platform', 'token', 'os_version', 'push_permission', 'user_id'],
  ],
  [
    'SessionStarted',
    Topics.DeviceEvents,
    'push.sdk',
    [...deviceEvent, 'platform', 'os_version', 'push_permission', 'user_id'],
  ],
  ['ChangeUser', Topics.DeviceEvents, 'push.sdk', [...deviceEvent, 'user_id', 'previous_user_id']],
  ['UserLoggedOut', Topics.DeviceEvents, 'push.sdk', [...deviceEvent, 'user_id']],
  [
    'PushPermissionChanged',
    Topics.DeviceEvents,
    'push.sdk',
    [...deviceEvent, 'platform', 'os_version', 'push_permission', 'prompted'],
  ],
  ['AppUninstalled', Topics.DeviceEvents, 'push.sdk', deviceEvent],
  [
    'PushSubscriptionSet',
    Topics.UserEvents,
    'push.sdk',
    ['event_id', 'workspace_id', 'user_id', 'occurred_at', 'state', 'source'],
  ],
  [
    'DispatchRequested',
    Topics.DispatchRequests,
    'push.dispatch',
    ['dispatch_id', 'workspace_id', 'campaign_id', 'occurred_at', 'audience', 'message', 'options'],
  ],
  ['PushSent', Topics.DispatchOutcomes, 'push.dispatch', [...deviceOutcome, 'provider_message_id']],
  [
    'PushBounced',
    Topics.DispatchOutcomes,
    'push.dispatch',
    [...deviceOutcome, 'token', 'provider_reason', 'provider_timestamp'],
  ],
  ['PushFailed', Topics.DispatchOutcomes, 'push.dispatch', [...deviceOutcome, 'reason', 'category']],
  [
    'DispatchCompleted',
    Topics.DispatchOutcomes,
    'push.dispatch',
    [
      'dispatch_id',
      'workspace_id',
      'occurred_at',
      'targeted',
      'sent',
      'bounced',
      'failed',
      'skipped_unsubscribed',
      'skipped_not_push_enabled',
      'skipped_suppressed',
    ],
  ],
];

/** Every named or anonymous complex type in a schema, with the path of the field that holds it. */
function typesIn(
  type: AvroSchema,
  path: string,
  found: [string, AvroComplexSchema][] = [],
): [string, AvroComplexSchema][] {
  if (typeof type === 'string') return found;
  if (Array.isArray(type)) {
    type.forEach((branch) => typesIn(branch, path, found));
    return found;
  }
  found.push([path, type]);
  for (const field of type.fields ?? []) typesIn(field.type, `${path}.${field.name}`, found);
  if (type.items) typesIn(type.items, `${path}[]`, found);
  if (type.values) typesIn(type.values, `${path}{}`, found);
  return found;
}

const fieldsOf = (version: SchemaVersion) =>
  typesIn(version.schema, version.record).flatMap(([path, type]) =>
    (type.fields ?? []).map((field) => [`${path}.${field.name}`, field] as const),
  );

describe('the wire contract (DESIGN §3) as written in schemas/', () => {
  it.each(DESIGN)('%s is on %s in namespace %s with the fields of DESIGN §3', (record, topic, namespace, fields) => {
    expect(newest(record).topic).toBe(topic);
    expect(newest(record).schema.namespace).toBe(namespace);
    expect(fieldNames(record)).toEqual(fields);
  });

  it('DispatchRequested: audience is a union of UserAudience, SegmentAudience and DeviceAudience; message and options as in §3.3', () => {
    const [audience, message, options] = ['audience', 'message', 'options'].map(
      (name) => newest('DispatchRequested').schema.fields.find((f) => f.name === name)!.type,
    );
    const fields = (type: AvroSchema) =>
      (type as AvroComplexSchema).fields!.map((f) => [f.name, 'default' in f ? f.default : '(required)']);

    expect((audience as AvroComplexSchema[]).map((branch) => [branch.name, fields(branch)])).toEqual([
      ['UserAudience', [['user_ids', '(required)']]],
      ['SegmentAudience', [['filter_json', '(required)']]],
      [
        'DeviceAudience',
        [
          ['app_id', '(required)'],
          ['device_id', '(required)'],
        ],
      ],
    ]);
    expect(fields(message)).toEqual([
      ['title', null],
      ['body', null],
      ['data', '(required)'],
      ['silent', false],
      ['ttl_seconds', null],
      ['collapse_key', null],
      ['priority', 'HIGH'],
    ]);
    expect(fields(options)).toEqual([
      ['include_unsubscribed', false],
      ['transactional', false],
      ['last_active_device_only', false],
      ['app_ids', []],
    ]);
  });

  it.each(published.map((v) => [v.file, v] as const))('%s: every record and field is documented', (_file, version) => {
    const undocumented = [
      ...typesIn(version.schema, version.record)
        .filter(([, type]) => type.type === 'record' && !type.doc)
        .map(([path]) => path),
      ...fieldsOf(version)
        .filter(([, field]) => !field.doc)
        .map(([path]) => path),
    ];

    expect(undocumented).toEqual([]);
  });

  it.each(published.map((v) => [v.file, v] as const))(
    '%s: upper-case enums, optional fields ["null", T] = null, timestamps in millis',
    (_file, version) => {
      const enums = typesIn(version.schema, version.record).filter(([, type]) => type.type === 'enum');
      const badEnums = enums
        .filter(([, type]) => !type.symbols!.every((s) => /^[A-Z][A-Z0-9_]*$/.test(s)))
        .map(([path]) => path);
      const unions = fieldsOf(version).filter(([, field]) => Array.isArray(field.type) && field.type.includes('null'));
      const badOptionals = unions
        .filter(([, field]) => (field.type as AvroSchema[])[0] !== 'null' || field.default !== null)
        .map(([path]) => path);
      const timestamps = fieldsOf(version).filter(([path]) => /(_at|_timestamp)$/.test(path));
      const isMillis = (type: AvroSchema): boolean =>
        Array.isArray(type)
          ? type.filter((b) => b !== 'null').every(isMillis)
          : typeof type === 'object' && type.type === 'long' && type.logicalType === 'timestamp-millis';
      const badTimestamps = timestamps.filter(([, field]) => !isMillis(field.type)).map(([path]) => path);

      expect({ badEnums, badOptionals, badTimestamps }).toEqual({ badEnums: [], badOptionals: [], badTimestamps: [] });
    },
  );

  it('enums shared between records (Platform, PushPermission) have one full name and the same symbols everywhere', () => {
    const definitions = new Map<string, Set<string>>();
    for (const version of published) {
      for (const [, type] of typesIn(version.schema, version.record)) {
        if (type.type !== 'enum') continue;
        const name = String(type.name).split('.').pop()!;
        const fullName = String(type.name).includes('.')
          ? type.name
          : `${type.namespace ?? version.schema.namespace}.${type.name}`;
        definitions.set(name, (definitions.get(name) ?? new Set()).add(`${fullName}: ${type.symbols!.join(',')}`));
      }
    }

    expect(definitions.get('Platform')).toEqual(new Set(['push.sdk.Platform: IOS,ANDROID,WEB']));
    expect(definitions.get('PushPermission')).toEqual(
      new Set(['push.sdk.PushPermission: AUTHORIZED,PROVISIONAL,DENIED,NOT_DETERMINED']),
    );
    for (const [name, variants] of definitions) expect([name, variants.size]).toEqual([name, 1]);
  });
});
