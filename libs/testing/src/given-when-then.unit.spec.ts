import { givenWhenThen } from './given-when-then';

/** A tiny pure model: deposits and withdrawals in, what happened out; a withdrawal beyond the balance is refused. */
type Command = { deposit: number } | { withdraw: number };
type Happened = { type: 'Deposited' | 'Withdrawn' | 'Refused'; amount: number };

class Account {
  balance = 0;

  handle(command: Command): Happened[] {
    if ('deposit' in command) {
      this.balance += command.deposit;
      return [{ type: 'Deposited', amount: command.deposit }];
    }
    if (command.withdraw > this.balance) return [{ type: 'Refused', amount: command.withdraw }];
    this.balance -= command.withdraw;
    return [{ type: 'Withdrawn', amount: command.withdraw }];
  }
}

const given = givenWhenThen(
  () => new Account(),
  (account, published) => ({
    balance: () => account.balance,
    refusals: () => published.filter((e) => e.type === 'Refused').length,
  }),
);

describe('givenWhenThen', () => {
  it('applies the history first, and returns only what the `when` inputs published', () => {
    const { events, published, balance } = given({ deposit: 10 }).when({ withdraw: 4 }, { withdraw: 7 });

    expect(events).toEqual([
      { type: 'Withdrawn', amount: 4 },
      { type: 'Refused', amount: 7 },
    ]);
    expect(published.map((e) => e.type)).toEqual(['Deposited', 'Withdrawn', 'Refused']);
    expect(balance()).toBe(6);
  });

  it('gives every scenario a fresh subject', () => {
    expect(given({ deposit: 5 }).when().balance()).toBe(5);
    expect(given().when().balance()).toBe(0);
  });

  it('goes on from where the last `when` left off, its views reading the whole output', () => {
    const scenario = given({ deposit: 3 });

    expect(scenario.published).toEqual([{ type: 'Deposited', amount: 3 }]);
    expect(scenario.when({ withdraw: 5 }).refusals()).toBe(1);
    const second = scenario.when({ withdraw: 5 });
    expect(second.events).toEqual([{ type: 'Refused', amount: 5 }]);
    expect(second.refusals()).toBe(2);
    expect(second.subject).toBe(scenario.subject);
  });

  it('offers the views after the history alone too', () => {
    expect(given({ deposit: 2 }, { withdraw: 9 }).refusals()).toBe(1);
  });

  it('needs no views', () => {
    const plain = givenWhenThen(() => new Account());

    expect(plain().when({ deposit: 1 }).events).toEqual([{ type: 'Deposited', amount: 1 }]);
  });
});
