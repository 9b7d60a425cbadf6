// Async class methods: an instance method that mutates `this` across checkpoints, a static
// method that uses `this` (the class), a method calling another method.
import { checkpoint } from 'ppp2p';

class Account {
  balance: number;
  log: string[] = [];

  constructor(readonly owner: string, opening: number) {
    this.balance = opening;
  }

  async deposit(amount: number): Promise<number> {
    this.log.push(`deposit ${amount}`);
    await checkpoint();
    this.balance += amount;
    return this.balance;
  }

  async transfer(to: Account, amount: number): Promise<void> {
    await checkpoint();
    this.balance -= amount;
    await to.deposit(amount);
    this.log.push(`sent ${amount} to ${to.owner}`);
  }

  static async open(owner: string, opening: number): Promise<Account> {
    const acct = new this(owner, opening);
    await checkpoint();
    return acct;
  }
}

export async function main(): Promise<unknown> {
  const alice = await Account.open('alice', 100);
  const bob = await Account.open('bob', 5);
  await alice.transfer(bob, 30);
  const after = await bob.deposit(1);
  return {
    alice: { balance: alice.balance, log: alice.log, isAccount: alice instanceof Account },
    bob: { balance: bob.balance, log: bob.log },
    after,
  };
}
