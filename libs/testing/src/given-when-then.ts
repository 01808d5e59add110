/** What a given/when/then scenario drives: a pure model that takes inputs one by one and answers what each publishes. */
export interface EventHandler<Input, Output> {
  handle(input: Input): Output[];
}

type InputOf<Subject> = Subject extends EventHandler<infer Input, unknown> ? Input : never;
type OutputOf<Subject> = Subject extends EventHandler<never, infer Output> ? Output : never;

/** The outcome of `when`: what its inputs published, and the scenario's state and whole output so far. */
export type Outcome<Subject, Views> = {
  subject: Subject;
  /** What the `when` inputs published, in order. */
  events: OutputOf<Subject>[];
  /** What the scenario published since `given`, history included. */
  published: OutputOf<Subject>[];
} & Views;

/** The subject after the `given` history, with the views; `when` goes on from there. */
export type Scenario<Subject, Views> = {
  subject: Subject;
  /** What the scenario published so far (the history, then every `when`). */
  published: OutputOf<Subject>[];
  /** Applies more inputs to the same subject; may be called again, each time going on from where the last left off. */
  when(...inputs: InputOf<Subject>[]): Outcome<Subject, Views>;
} & Views;

/**
 * Given/when/then over a pure model: `given(...history)` applies the history to a fresh subject, `when(...inputs)`
 * applies more and returns what those published, for the test's `expect`s (the "then"). `views` adds, to both, what a
 * test reads of the subject or the output, named in its own terms:
 *
 * ```ts
 * const given = givenWhenThen(() => new TokenRegistry(), (registry) => ({ device: (ref) => registry.device(ref) }));
 * const { events, device } = given(registered).when(changedUser);
 * ```
 */
export function givenWhenThen<Subject extends EventHandler<never, unknown>, Views extends object = object>(
  create: () => Subject,
  views: (subject: Subject, published: readonly OutputOf<Subject>[]) => Views = () => ({}) as Views,
): (...history: InputOf<Subject>[]) => Scenario<Subject, Views> {
  const apply = (subject: Subject, inputs: InputOf<Subject>[]) =>
    inputs.flatMap((input) => (subject as EventHandler<InputOf<Subject>, OutputOf<Subject>>).handle(input));
  return (...history) => {
    const subject = create();
    const published = apply(subject, history);
    return {
      subject,
      published,
      ...views(subject, published),
      when(...inputs: InputOf<Subject>[]) {
        const events = apply(subject, inputs);
        published.push(...events);
        return { subject, events, published, ...views(subject, published) };
      },
    };
  };
}
